#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: atlas_restore_info
short_description: List the cloud backup restore jobs of a MongoDB Atlas cluster
version_added: 0.1.0
description:
  - Returns the restore jobs whose source is O(cluster), each with a C(status), or the one with O(restore_job_id).
options:
  cluster:
    description:
      - Name of the source cluster.
    type: str
    required: true
  restore_job_id:
    description:
      - Return only this restore job.
    type: str
extends_documentation_fragment:
  - appops.runbooks.atlas
  - appops.runbooks.api_retry
  - appops.runbooks.atlas.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.atlas_restore
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Restore jobs of micmap's cluster
  appops.runbooks.atlas_restore_info:
    project_id: "{{ atlas_project_id }}"
    cluster: micmap-cluster
  register: micmap_restores
"""

RETURN = r"""
restore_jobs:
  description:
    - The restore jobs, as Atlas describes them without links and download URLs, plus C(status) (V(running),
      V(finished), V(failed), V(cancelled), V(expired)).
  returned: always
  type: list
  elements: dict
restore:
  description: The job named by O(restore_job_id).
  returned: when O(restore_job_id) is set
  type: dict
"""

from ansible_collections.appops.runbooks.plugins.module_utils._atlas.jobs import describe_restore
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.module import AtlasModule


def run(am: AtlasModule) -> None:
    cluster = am.params["cluster"]
    if am.params["restore_job_id"]:
        am.doing(f"reading restore job {am.params['restore_job_id']}")
        job = describe_restore(am.client.restore_job(cluster, am.params["restore_job_id"]))
        am.exit(False, restore=job, restore_jobs=[job])
    am.doing("listing restore jobs")
    am.exit(False, restore_jobs=[describe_restore(job) for job in am.client.restore_jobs(cluster)])


def main() -> None:
    AtlasModule(dict(cluster=dict(type="str", required=True), restore_job_id=dict(type="str"))).run(run)


if __name__ == "__main__":
    main()
