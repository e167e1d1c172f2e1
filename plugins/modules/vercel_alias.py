#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_alias
short_description: Point a Vercel alias (domain) at a deployment
version_added: 0.1.0
description:
  - The API equivalent of C(vercel alias set <deployment> <alias>), as desired state; the alias is moved only
    when it does not already serve the deployment.
  - Pointing a project's production domain at a deployment by hand is how runbooks "roll back" with
    C(vercel alias set); Vercel's own way is an instant rollback (M(appops.runbooks.vercel_production)), which
    also moves every production domain at once.
  - Returns the deployment's aliases after the change (C(vercel alias ls) for one deployment); the project's
    aliases are listed by M(appops.runbooks.vercel_project_info).
options:
  alias:
    description:
      - The alias, a domain such as V(www.example.com) or a V(*.vercel.app) name.
    type: str
    required: true
  deployment:
    description:
      - The deployment the alias must serve, by id or URL. It must be READY.
    type: str
    required: true
extends_documentation_fragment:
  - appops.runbooks.vercel
  - appops.runbooks.api_retry
  - appops.runbooks.vercel.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    details: Reports whether the alias would move; nothing is sent.
seealso:
  - module: appops.runbooks.vercel_production
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Serve the known good deployment on the production domain (vercel alias set)
  appops.runbooks.vercel_alias:
    deployment: mysetlist-sonnet-abc123def-swbams-projects.vercel.app
    alias: mysetlist-sonnet.vercel.app
"""

RETURN = r"""
alias:
  description: The alias.
  returned: success
  type: str
  sample: mysetlist-sonnet.vercel.app
deployment:
  description: The deployment the alias serves after the task.
  returned: success
  type: dict
previous_deployment:
  description: Id of the deployment the alias served before (null when it served none).
  returned: success
  type: str
aliases:
  description: All aliases of the deployment after the task (in check mode, as they would be).
  returned: success
  type: list
  elements: str
"""

from ansible_collections.appops.runbooks.plugins.module_utils._vercel.client import strip_scheme
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.deployments import describe, deployment_id
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.module import VercelModule


class VercelAliasModule(VercelModule):
    subject_label = "Vercel alias"
    subject_option = "alias"


def alias_names(vm: VercelModule, ident: str) -> list[str]:
    return sorted(str(a.get("alias")) for a in vm.client.deployment_aliases(ident))


def run(vm: VercelModule) -> None:
    alias = strip_scheme(vm.params["alias"]).lower()
    vm.doing(f"reading deployment {vm.params['deployment']}")
    target = vm.client.deployment(vm.params["deployment"])
    target_id = deployment_id(target)
    vm.doing("reading the deployment the alias serves")
    serving = vm.client.find_deployment(alias)
    serving_id = deployment_id(serving) if serving else None
    before = {"alias": alias, "deployment": serving_id}
    after = {"alias": alias, "deployment": target_id}
    if serving_id == target_id:
        vm.exit(False, before=before, after=after, alias=alias, deployment=describe(target),
                previous_deployment=serving_id, aliases=alias_names(vm, target_id))
    vm.write(f"pointing {alias} at {target_id}", lambda: vm.client.assign_alias(target_id, alias), predicted=None)
    names = sorted(set(alias_names(vm, target_id)) | {alias}) if vm.check_mode else alias_names(vm, target_id)
    vm.exit(True, before=before, after=after, alias=alias, deployment=describe(target),
            previous_deployment=serving_id, aliases=names)


def main() -> None:
    VercelAliasModule(dict(
        alias=dict(type="str", required=True),
        deployment=dict(type="str", required=True),
    )).run(run)


if __name__ == "__main__":
    main()
