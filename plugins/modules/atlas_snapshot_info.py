#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: atlas_snapshot_info
short_description: List the cloud backup snapshots of a MongoDB Atlas cluster
version_added: 0.1.0
description:
  - Returns the cluster's snapshots (scheduled and on-demand), newest first, and the newest completed one.
options:
  cluster:
    description:
      - Name of the cluster.
    type: str
    required: true
  snapshot_id:
    description:
      - Return only this snapshot.
    type: str
  description:
    description:
      - Return only the snapshots with this description.
    type: str
extends_documentation_fragment:
  - appops.runbooks.atlas
  - appops.runbooks.api_retry
  - appops.runbooks.atlas.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.atlas_snapshot
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: The newest completed snapshot of fixzit's cluster
  appops.runbooks.atlas_snapshot_info:
    project_id: "{{ atlas_project_id }}"
    cluster: fixzit-cluster
  register: fixzit_snapshots
"""

RETURN = r"""
snapshots:
  description: The snapshots (newest first), as Atlas describes them, without links.
  returned: always
  type: list
  elements: dict
latest:
  description: The newest completed snapshot among RV(snapshots), or null.
  returned: always
  type: dict
snapshot:
  description: The snapshot named by O(snapshot_id).
  returned: when O(snapshot_id) is set
  type: dict
"""

from ansible_collections.appops.runbooks.plugins.module_utils._atlas.jobs import without_links
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.module import AtlasModule


def run(am: AtlasModule) -> None:
    cluster = am.params["cluster"]
    if am.params["snapshot_id"]:
        am.doing(f"reading snapshot {am.params['snapshot_id']}")
        snapshot = without_links(am.client.snapshot(cluster, am.params["snapshot_id"]))
        am.exit(False, snapshot=snapshot, snapshots=[snapshot],
                latest=snapshot if snapshot.get("status") == "completed" else None)
    am.doing("listing snapshots")
    snapshots = [without_links(s) for s in am.client.snapshots(cluster)]
    if am.params["description"] is not None:
        snapshots = [s for s in snapshots if s.get("description") == am.params["description"]]
    latest = next((s for s in snapshots if s.get("status") == "completed"), None)
    am.exit(False, snapshots=snapshots, latest=latest)


def main() -> None:
    AtlasModule(dict(cluster=dict(type="str", required=True), snapshot_id=dict(type="str"),
                     description=dict(type="str"))).run(run)


if __name__ == "__main__":
    main()
