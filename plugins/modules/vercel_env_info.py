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
  - The API equivalent of C(vercel env ls). Never changes anything and returns no value, except those of the
    keys in O(reveal) (C(vercel env pull) of single keys).
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
  reveal:
    description:
      - Also return the values of these keys (of O(target), which is then required) in RV(values), read decrypted.
      - C(sensitive) values are never returned by Vercel; such a key is left out of RV(values), and so is a key
        the target does not have.
      - Register the result under C(no_log) when it holds secrets.
    type: list
    elements: str
    default: []
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
values:
  description: The values of the keys in O(reveal) that O(target) has and Vercel returns.
  returned: when O(reveal) is set
  type: dict
  sample: {MAINTENANCE_MESSAGE: Back at 10:00}
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._vercel.env import (
    UNREADABLE_TYPES, describe_record, keys_by_target)
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.module import VercelModule


def run(vm: VercelModule) -> None:
    vm.doing("reading env vars")
    reveal = vm.params["reveal"]
    records = vm.client.envs(vm.project_name, decrypt=bool(reveal))
    if vm.params["target"]:
        records = [r for r in records if vm.params["target"] in (r.get("target") or [])]
    extra = {"values": revealed_values(records, reveal)} if reveal else {}
    vm.exit(False, env=[describe_record(r) for r in records], keys=keys_by_target(records), **extra)


def revealed_values(records: list[dict[str, t.Any]], keys: list[str]) -> dict[str, str]:
    """The values of ``keys``, where the API returned one (never for sensitive vars)."""
    return {record["key"]: str(record["value"]) for record in records
            if record.get("key") in keys and record.get("type") not in UNREADABLE_TYPES
            and record.get("value") not in (None, "") and not record.get("gitBranch")}


def main() -> None:
    VercelModule(dict(
        project=dict(type="str", required=True),
        target=dict(type="str", choices=["production", "preview", "development"]),
        reveal=dict(type="list", elements="str", default=[], no_log=False),
    ), required_by={"reveal": "target"}).run(run)


if __name__ == "__main__":
    main()
