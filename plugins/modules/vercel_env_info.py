#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_env_info
short_description: List a Vercel project's env var names, types and targets
version_added: 0.1.0
description:
  - The API equivalent of C(vercel env ls). Never changes anything and never returns a value.
options:
  project:
    description:
      - Name or id of the project.
    type: str
    required: true
  target:
    description:
      - List only the vars of this target.
    type: str
    choices: [production, preview, development]
extends_documentation_fragment:
  - appops.runbooks.vercel
  - appops.runbooks.api_retry
  - appops.runbooks.vercel.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.vercel_env
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Which feature flags production has (vercel env ls production)
  appops.runbooks.vercel_env_info:
    project: fixzit
    target: production
  register: env
"""

RETURN = r"""
env:
  description: The env vars without their values, oldest first.
  returned: success
  type: list
  elements: dict
  sample: [{id: env_0123, key: MAINTENANCE_MODE, type: plain, target: [production]}]
keys:
  description: Keys per target.
  returned: success
  type: dict
  sample: {production: [MAINTENANCE_MODE], preview: [], development: []}
"""

from ansible_collections.appops.runbooks.plugins.module_utils._vercel.env import describe_record, keys_by_target
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.module import VercelModule


def run(vm: VercelModule) -> None:
    vm.doing("reading env vars")
    records = vm.client.envs(vm.project_name)
    if vm.params["target"]:
        records = [r for r in records if vm.params["target"] in (r.get("target") or [])]
    vm.exit(False, env=[describe_record(r) for r in records], keys=keys_by_target(records))


def main() -> None:
    VercelModule(dict(
        project=dict(type="str", required=True),
        target=dict(type="str", choices=["production", "preview", "development"]),
    )).run(run)


if __name__ == "__main__":
    main()
