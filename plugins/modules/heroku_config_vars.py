#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_config_vars
short_description: Set and unset a Heroku app's config vars
version_added: 0.1.0
description:
  - The API equivalent of C(heroku config:set) and C(heroku config:unset), as desired state.
  - Reads the current config vars, computes the keys to set and to remove, and sends one PATCH only
    when something differs. Heroku creates a new release (and restarts the dynos) on every change,
    so a needless write is avoided.
  - Values are never returned or shown in diffs; keys are.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
  config:
    description:
      - Keys and the values they must have. Values are compared as strings (V(true) becomes C("True")
        in YAML, so quote booleans). Keys not listed are left alone unless O(purge=true).
      - A value of null is not allowed; list keys to remove in O(absent_keys).
    type: dict
    default: {}
  absent_keys:
    description:
      - Keys that must not be set. Removing a key that is not set changes nothing.
    type: list
    elements: str
    default: []
  purge:
    description:
      - Remove every key that is not in O(config).
    type: bool
    default: false
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  - appops.runbooks.heroku.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  diff_mode:
    details: Keys are shown; every value is masked, with C((changed)) marking values that change.
seealso:
  - module: appops.runbooks.heroku_app
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Set a variable (heroku config:set SHEET_ID=...)
  appops.runbooks.heroku_config_vars:
    app: micmap-api
    config:
      SHEET_ID: "{{ new_sheet_id }}"

- name: Unset a variable (heroku config:unset OLD_VAR)
  appops.runbooks.heroku_config_vars:
    app: micmap-api
    absent_keys: [OLD_VAR]
"""

RETURN = r"""
keys:
  description: All config var keys after the change, sorted (values are never returned).
  returned: success
  type: list
  elements: str
  sample: [DATABASE_URL, SHEET_ID]
changed_keys:
  description: Keys that were (or in check mode would be) added or given a new value.
  returned: success
  type: list
  elements: str
  sample: [SHEET_ID]
removed_keys:
  description: Keys that were (or would be) removed.
  returned: success
  type: list
  elements: str
  sample: [OLD_VAR]
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule


def desired_values(hm: HerokuModule) -> dict[str, str]:
    config = hm.params["config"] or {}
    nulls = sorted(key for key, value in config.items() if value is None)
    if nulls:
        hm.fail(f"config values must not be null ({', '.join(nulls)}); list keys to remove in absent_keys")
    both = sorted(set(config) & set(hm.params["absent_keys"]))
    if both:
        hm.fail(f"keys both in config and absent_keys: {', '.join(both)}")
    return {str(key): str(value) for key, value in config.items()}


def plan_changes(current: dict[str, str], wanted: dict[str, str], absent: list[str], purge: bool) -> dict[str, t.Any]:
    """The PATCH body: new values, and null for each key to remove."""
    changes: dict[str, t.Any] = {key: value for key, value in wanted.items() if current.get(key) != value}
    removals = {key for key in absent if key in current}
    if purge:
        removals |= {key for key in current if key not in wanted}
    changes.update({key: None for key in removals})
    return changes


def applied(current: dict[str, str], changes: dict[str, t.Any]) -> dict[str, str]:
    """The config vars once ``changes`` (null removes a key) are applied."""
    after = {key: value for key, value in current.items() if changes.get(key, value) is not None}
    after.update({key: value for key, value in changes.items() if value is not None})
    return after


def run(hm: HerokuModule) -> None:
    wanted = desired_values(hm)
    hm.doing("reading config vars")
    current = hm.client.config_vars(hm.app)
    changes = plan_changes(current, wanted, hm.params["absent_keys"], hm.params["purge"])
    after = applied(current, changes)
    if changes:
        after = hm.write(f"updating config vars ({', '.join(sorted(changes))})",
                         lambda: hm.client.update_config_vars(hm.app, changes), predicted=after)
    hm.exit(
        bool(changes),
        before=current,
        after=after,
        mask_values=True,  # config values are secrets more often than not: the diff shows keys only
        keys=sorted(after),
        changed_keys=sorted(key for key, value in changes.items() if value is not None),
        removed_keys=sorted(key for key, value in changes.items() if value is None),
    )


def main() -> None:
    HerokuModule(dict(
        app=dict(type="str", required=True),
        # Values are secrets more often than not: keep them out of logs and invocation output.
        config=dict(type="dict", default={}, no_log=True),
        absent_keys=dict(type="list", elements="str", default=[], no_log=False),
        purge=dict(type="bool", default=False),
    )).run(run)


if __name__ == "__main__":
    main()
