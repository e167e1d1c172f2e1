#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_env
short_description: Set and remove a Vercel project's env vars per target
version_added: 0.1.0
description:
  - The API equivalent of C(vercel env add) and C(vercel env rm), as desired state per target
    (V(production), V(preview), V(development)).
  - Reads the project's env vars (values decrypted where the API returns them), compares them with O(env) for
    each target in O(targets), and edits, creates or deletes only what differs. A var that also covers targets
    outside O(targets) is narrowed to those and the managed targets get a record of their own.
  - Values are compared as the API returns them. C(sensitive) values are never returned, so they cannot be
    compared; they are left as they are unless O(force_update) is set, and the diff says so.
  - Env vars reach a site only through a new deployment; the result's C(redeploy_needed) says when one is due
    (M(appops.runbooks.vercel_deployment) with O(appops.runbooks.vercel_deployment#module:state=redeployed)).
  - Values are never returned and every value in the diff is masked.
options:
  project:
    description:
      - Name or id of the project.
    type: str
    required: true
  env:
    description:
      - Keys and the values they must have in each of O(targets). A null value removes the key from those
        targets. Booleans become V(true)/V(false); other values are compared as strings.
      - Keys not listed are left alone unless O(purge=true).
    type: dict
    default: {}
  types:
    description:
      - Type of single keys of O(env) (V(plain), V(encrypted) or V(sensitive)), over O(type).
      - Kept apart from O(env) because everything inside O(env) is treated as secret and masked in all output.
    type: dict
    default: {}
  targets:
    description:
      - The targets this task manages; use one task per set of targets when keys differ by target.
    type: list
    elements: str
    choices: [production, preview, development]
    default: [production, preview, development]
  type:
    description:
      - Type of every listed var. When set, a var of another type is changed to it.
      - When not set, existing vars keep their type and new ones are V(encrypted) (as C(vercel env add) does).
      - Vercel does not allow V(sensitive) vars in V(development).
    type: str
    choices: [plain, encrypted, sensitive]
  purge:
    description:
      - Remove from O(targets) every key that is not in O(env) (system and branch-specific vars are left alone).
    type: bool
    default: false
  force_update:
    description:
      - Write the listed C(sensitive) values again, since they cannot be compared.
    type: bool
    default: false
extends_documentation_fragment:
  - appops.runbooks.vercel
  - appops.runbooks.api_retry
  - appops.runbooks.vercel.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  diff_mode:
    details: >-
      Shows C(KEY@target) entries with masked values and their type; changed, added and removed entries are
      marked, and a sensitive value that cannot be compared is marked C(cannot compare).
seealso:
  - module: appops.runbooks.vercel_env_info
  - module: appops.runbooks.vercel_deployment
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Maintenance mode on (takes effect with the next deployment)
  appops.runbooks.vercel_env:
    project: fixzit
    targets: [production]
    type: plain
    env:
      MAINTENANCE_MODE: true
      MAINTENANCE_MESSAGE: Back at 10:00 UTC
  register: maintenance

- name: Redeploy when an env var changed
  appops.runbooks.vercel_deployment:
    project: fixzit
    redeploy: production
    state: redeployed
  when: maintenance.redeploy_needed

- name: A secret for production and preview, and an old key removed everywhere
  appops.runbooks.vercel_env:
    project: mysetlist-sonnet
    targets: [production, preview]
    env:
      CRON_SECRET: "{{ cron_secret }}"
      LEGACY_FLAG: null
    types:
      CRON_SECRET: sensitive
"""

RETURN = r"""
changed_keys:
  description: Keys that were (or in check mode would be) added or given a new value in some target.
  returned: success
  type: list
  elements: str
  sample: [MAINTENANCE_MODE]
removed_keys:
  description: Keys that were (or would be) removed from some target.
  returned: success
  type: list
  elements: str
uncompared_keys:
  description: Listed keys whose sensitive value could not be compared (left as is unless O(force_update)).
  returned: success
  type: list
  elements: str
keys:
  description: Keys per target after the task (values are never returned).
  returned: success
  type: dict
  sample: {production: [MAINTENANCE_MODE, REDIS_URL], preview: [REDIS_URL], development: []}
redeploy_needed:
  description: True when something changed; env vars reach the site only through a new deployment.
  returned: success
  type: bool
"""

from ansible_collections.appops.runbooks.plugins.module_utils._vercel.env import (
    DEFAULT_TYPE, Plan, Wanted, env_value, env_view, keys_by_target, make_plan, planned_view,
)
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.module import VercelModule

TYPES = ("plain", "encrypted", "sensitive")


def wanted_vars(vm: VercelModule) -> list[Wanted]:
    p = vm.params
    wanted = []
    unknown = sorted(set(p["types"]) - set(p["env"]))
    if unknown:
        vm.fail(f"types names keys that are not in env: {', '.join(unknown)}")
    for key, raw in sorted((p["env"] or {}).items()):
        if isinstance(raw, (dict, list)):
            vm.fail(f"env {key}: the value must be a string, a number, a boolean or null")
        kind = p["types"].get(key) or p["type"]
        if kind not in (None, *TYPES):
            vm.fail(f"types {key}: must be one of {', '.join(TYPES)}")
        if kind == "sensitive" and "development" in p["targets"] and raw is not None:
            vm.fail(f"env {key}: Vercel does not allow sensitive vars in development; set targets without it")
        wanted.append(Wanted(str(key), env_value(raw), list(p["targets"]), kind))
    return wanted


def apply(vm: VercelModule, plan: Plan) -> None:
    # Narrow and edit first, so that the records created afterwards do not overlap old ones.
    for record_id, changes in plan.edits:
        vm.doing(f"editing env var {record_id}")
        vm.client.edit_env(vm.project_name, record_id, changes)
    for record_id in plan.deletes:
        vm.doing(f"deleting env var {record_id}")
        vm.client.delete_env(vm.project_name, record_id)
    for item in plan.creates:
        vm.doing(f"adding env var {item['key']}")
        vm.client.create_env(vm.project_name, item)


def run(vm: VercelModule) -> None:
    p = vm.params
    wanted = wanted_vars(vm)
    vm.doing("reading env vars")
    records = vm.client.envs(vm.project_name, decrypt=True)
    plan = make_plan(wanted, records, purge_targets=p["targets"] if p["purge"] else None,
                     default_type=DEFAULT_TYPE, force_update=p["force_update"])
    managed = list(p["targets"])
    before = env_view(records, managed)
    after = planned_view(before, plan, wanted, DEFAULT_TYPE)
    keys = keys_by_target(records)
    if not plan.empty and not vm.check_mode:
        apply(vm, plan)
        vm.doing("reading env vars after the change")
        keys = keys_by_target(vm.client.envs(vm.project_name))
    elif not plan.empty:
        keys = predicted_keys(keys, after, managed)
    vm.exit(not plan.empty, before=before, after=after, changed_keys=sorted(plan.changed_keys),
            removed_keys=sorted(plan.removed_keys - plan.changed_keys), uncompared_keys=sorted(plan.uncompared_keys),
            keys=keys, redeploy_needed=not plan.empty)


def predicted_keys(keys: dict[str, list[str]], after: dict[str, str], managed: list[str]) -> dict[str, list[str]]:
    """Keys per target as the plan would leave them (check mode)."""
    predicted = {target: list(names) for target, names in keys.items() if target not in managed}
    for target in managed:
        predicted[target] = sorted(name.rsplit("@", 1)[0] for name in after if name.endswith(f"@{target}"))
    return predicted


def main() -> None:
    VercelModule(dict(
        project=dict(type="str", required=True),
        # Values are secrets more often than not: keep them out of logs and invocation output.
        env=dict(type="dict", default={}, no_log=True),
        targets=dict(type="list", elements="str", choices=["production", "preview", "development"],
                     default=["production", "preview", "development"]),
        type=dict(type="str", choices=list(TYPES)),
        types=dict(type="dict", default={}),
        purge=dict(type="bool", default=False),
        force_update=dict(type="bool", default=False),
    )).run(run)


if __name__ == "__main__":
    main()
