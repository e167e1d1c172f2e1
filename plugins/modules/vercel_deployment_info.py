#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_deployment_info
short_description: Read a Vercel deployment and its build log, or list a project's deployments
version_added: 0.1.0
description:
  - The API equivalent of C(vercel inspect [--logs]) and C(vercel ls). Never changes anything.
options:
  project:
    description:
      - Name or id of the project whose deployments to list. Needed unless O(deployment) is given.
    type: str
  deployment:
    description:
      - Read this deployment (id, URL or an alias such as the production domain).
    type: str
  build_log_lines:
    description:
      - With O(deployment), also return the last lines of its build log (deployment events). V(0) reads none.
    type: int
    default: 0
  target:
    description:
      - List only deployments of this target.
    type: str
    choices: [production, preview]
  state:
    description:
      - List only deployments in these states.
    type: list
    elements: str
    choices: [QUEUED, BUILDING, INITIALIZING, READY, ERROR, CANCELED]
  limit:
    description:
      - How many deployments to list, newest first (pages of the API are followed).
    type: int
    default: 20
extends_documentation_fragment:
  - appops.runbooks.vercel
  - appops.runbooks.api_retry
  - appops.runbooks.vercel.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.vercel_deployment
  - module: appops.runbooks.vercel_project_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: What the production domain serves, with the end of its build log (vercel inspect --logs)
  appops.runbooks.vercel_deployment_info:
    deployment: fixzit.com
    build_log_lines: 30

- name: The last READY production deployments (vercel ls --prod)
  appops.runbooks.vercel_deployment_info:
    project: fixzit
    target: production
    state: [READY]
    limit: 5
"""

RETURN = r"""
deployments:
  description: The deployment asked for, or the listed ones newest first.
  returned: success
  type: list
  elements: dict
  sample: [{id: dpl_0123, url: fixzit-abc-team.vercel.app, readyState: READY, target: production}]
build_log:
  description: The last lines of the build log of O(deployment).
  returned: when O(deployment) and O(build_log_lines) are set
  type: list
  elements: str
"""

from ansible_collections.appops.runbooks.plugins.module_utils._vercel.deployments import build_log_excerpt, describe
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.module import VercelModule


def run(vm: VercelModule) -> None:
    p = vm.params
    if p["deployment"]:
        vm.doing(f"reading deployment {p['deployment']}")
        found = vm.client.deployment(p["deployment"])
        result = {"deployments": [describe(found)]}
        if p["build_log_lines"] > 0:
            vm.doing("reading the build log")
            result["build_log"] = build_log_excerpt(vm.client.deployment_events(found["id"]), p["build_log_lines"])
        vm.exit(False, **result)
    vm.doing("reading the project")
    project = vm.client.project(p["project"])
    vm.doing("listing deployments")
    listed = vm.client.deployments(project["id"], limit=p["limit"], target=p["target"],
                                   state=",".join(p["state"]) if p["state"] else None)
    vm.exit(False, deployments=[describe(d) for d in listed])


def main() -> None:
    VercelModule(
        dict(
            project=dict(type="str"),
            deployment=dict(type="str"),
            build_log_lines=dict(type="int", default=0),
            target=dict(type="str", choices=["production", "preview"]),
            state=dict(type="list", elements="str",
                       choices=["QUEUED", "BUILDING", "INITIALIZING", "READY", "ERROR", "CANCELED"]),
            limit=dict(type="int", default=20),
        ),
        required_one_of=[("project", "deployment")],
    ).run(run)


if __name__ == "__main__":
    main()
