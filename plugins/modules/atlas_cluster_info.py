#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: atlas_cluster_info
short_description: Read MongoDB Atlas clusters (tier, auto-scaling, state)
version_added: 0.1.0
description:
  - Returns one cluster of the project, or all of them, in the shape M(appops.runbooks.atlas_cluster) returns.
options:
  cluster:
    description:
      - Name of the cluster; when not set, every cluster of the project is returned.
    type: str
extends_documentation_fragment:
  - appops.runbooks.atlas
  - appops.runbooks.api_retry
  - appops.runbooks.atlas.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.atlas_cluster
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Read the tier of micmap's cluster
  appops.runbooks.atlas_cluster_info:
    project_id: "{{ atlas_project_id }}"
    cluster: micmap-cluster
  register: micmap_cluster
"""

RETURN = r"""
cluster:
  description: The cluster named by O(cluster) (see M(appops.runbooks.atlas_cluster)).
  returned: when O(cluster) is set
  type: dict
  sample: {name: micmap-cluster, state_name: IDLE, instance_size: M0, tenant: true}
clusters:
  description: Every cluster of the project, in the same shape.
  returned: when O(cluster) is not set
  type: list
  elements: dict
"""

from ansible_collections.appops.runbooks.plugins.module_utils._atlas.jobs import cluster_view
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.module import AtlasModule


def run(am: AtlasModule) -> None:
    if am.params["cluster"]:
        am.doing("reading the cluster")
        am.exit(False, cluster=cluster_view(am.client.cluster(am.params["cluster"])))
    am.doing("listing the project's clusters")
    am.exit(False, clusters=[cluster_view(c) for c in am.client.clusters()])


def main() -> None:
    AtlasModule(dict(cluster=dict(type="str"))).run(run)


if __name__ == "__main__":
    main()
