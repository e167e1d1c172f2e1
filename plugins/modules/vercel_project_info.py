#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_project_info
short_description: Read a Vercel project, its production deployment, domains, aliases and deployments
version_added: 0.1.0
description:
  - The API equivalent of C(vercel project inspect), C(vercel ls), C(vercel alias ls) and C(vercel domains ls)
    for one project. Never changes anything.
options:
  project:
    description:
      - Name or id of the project.
    type: str
    required: true
  deployments_limit:
    description:
      - How many deployments to list, newest first (pages of the API are followed). V(0) lists none.
    type: int
    default: 20
  deployments_target:
    description:
      - List only deployments of this target.
    type: str
    choices: [production, preview]
extends_documentation_fragment:
  - appops.runbooks.vercel
  - appops.runbooks.api_retry
  - appops.runbooks.vercel.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.vercel_deployment_info
  - module: appops.runbooks.vercel_production
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Where production stands
  appops.runbooks.vercel_project_info:
    project: fixzit
    deployments_limit: 5
  register: fixzit

- name: Show the production URL and the last promote or rollback
  ansible.builtin.debug:
    msg: "{{ fixzit.production_deployment.url }} {{ fixzit.last_alias_request }}"
"""

RETURN = r"""
project:
  description: The project as the API returns it (C(GET /v9/projects/{idOrName})).
  returned: success
  type: dict
production_deployment:
  description: The deployment the production domains serve (null when there is none).
  returned: success
  type: dict
last_alias_request:
  description: The project's last promote or rollback job (C(lastAliasRequest)), with its C(jobStatus).
  returned: success
  type: dict
rollback_info:
  description: >-
    What an instant rollback would do: C(previous_deployment) (the deployment C(previous) names), C(rolled_back)
    (whether the current production deployment is there because of a rollback, which stops new production
    deployments from taking the domains until a promote) and the API's C(lastRollbackTarget).
  returned: success
  type: dict
domains:
  description: The project's domains (C(GET /v9/projects/{idOrName}/domains)).
  returned: success
  type: list
  elements: dict
aliases:
  description: The project's aliases and the deployment each serves.
  returned: success
  type: list
  elements: dict
deployments:
  description: The newest deployments (at most O(deployments_limit)).
  returned: success
  type: list
  elements: dict
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._vercel.deployments import describe, deployment_id
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.module import VercelModule
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.production import (
    alias_job, previous_production, production_id, rolled_back_to,
)


def alias_entry(alias: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"alias": alias.get("alias"), "deploymentId": alias.get("deploymentId"), "uid": alias.get("uid"),
            "createdAt": alias.get("createdAt"), "updatedAt": alias.get("updatedAt")}


def run(vm: VercelModule) -> None:
    p = vm.params
    vm.doing("reading the project")
    project = vm.client.project(vm.project_name)
    current_id = production_id(project)
    vm.doing("reading the production deployment")
    production = vm.client.deployment(current_id) if current_id else None
    vm.doing("finding the previous production deployment")
    previous = previous_production(vm.client, project) if current_id else None
    vm.doing("listing domains")
    domains = vm.client.project_domains(project["id"])
    vm.doing("listing aliases")
    aliases = [alias_entry(a) for a in vm.client.aliases(project["id"])]
    deployments: list[dict[str, t.Any]] = []
    if p["deployments_limit"] > 0:
        vm.doing("listing deployments")
        deployments = [describe(d) for d in vm.client.deployments(
            project["id"], limit=p["deployments_limit"], target=p["deployments_target"])]
    vm.exit(
        False, project=project, production_deployment=describe(production) if production else None,
        last_alias_request=alias_job(project),
        rollback_info={"previous_deployment": deployment_id(previous) if previous else None,
                       "rolled_back": rolled_back_to(project, current_id),
                       "lastRollbackTarget": project.get("lastRollbackTarget")},
        domains=domains, aliases=aliases, deployments=deployments,
    )


def main() -> None:
    VercelModule(dict(
        project=dict(type="str", required=True),
        deployments_limit=dict(type="int", default=20),
        deployments_target=dict(type="str", choices=["production", "preview"]),
    )).run(run)


if __name__ == "__main__":
    main()
