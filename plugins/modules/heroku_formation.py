#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_formation
short_description: Scale a Heroku app's process types (quantity and dyno size)
version_added: 0.1.0
description:
  - The API equivalent of C(heroku ps:scale web=2:standard-1x) and C(heroku ps:type), as desired state.
  - Reads the formation, compares each listed process type and sends one batch update holding only the
    entries that differ. Process types that are not listed are left alone.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
  formation:
    description:
      - The wanted state of some process types.
    type: list
    elements: dict
    required: true
    suboptions:
      type:
        description:
          - Process type, for example V(web) or V(worker). It must exist in the app's Procfile.
        type: str
        required: true
      quantity:
        description:
          - Number of dynos. Omit to leave it alone.
        type: int
      size:
        description:
          - Dyno size, for example V(basic) or V(standard-1X) (compared case-insensitively). Omit to leave it alone.
        type: str
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  - appops.runbooks.heroku.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.heroku_formation_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Two standard-1X web dynos (heroku ps:scale web=2:standard-1x)
  appops.runbooks.heroku_formation:
    app: sc-mvp-production
    formation:
      - type: web
        quantity: 2
        size: standard-1X

- name: Scale back down after the peak
  appops.runbooks.heroku_formation:
    app: sc-mvp-production
    formation:
      - {type: web, quantity: 1, size: basic}
      - {type: worker, quantity: 0}
"""

RETURN = r"""
formation:
  description: Every process type after the change, sorted by type (in check mode, as it would be).
  returned: success
  type: list
  elements: dict
  contains:
    type:
      description: Process type.
      type: str
    quantity:
      description: Number of dynos.
      type: int
    size:
      description: Dyno size name.
      type: str
    command:
      description: Command the process type runs.
      type: str
  sample: [{type: web, quantity: 2, size: Standard-1X, command: bundle exec puma}]
updates:
  description: The batch update that was (or in check mode would be) sent; empty when nothing differed.
  returned: success
  type: list
  elements: dict
  sample: [{type: web, quantity: 2, dyno_size: {name: standard-1X}}]
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.client import formation_entry
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule


def plan_updates(current: dict[str, dict], wanted: list[dict]) -> list[dict[str, t.Any]]:
    updates = []
    for item in wanted:
        have = current[item["type"]]
        update: dict[str, t.Any] = {}
        if item.get("quantity") is not None and item["quantity"] != have["quantity"]:
            update["quantity"] = item["quantity"]
        if item.get("size") and (item["size"].lower() != (have["size"] or "").lower()):
            update["dyno_size"] = {"name": item["size"]}
        if update:
            updates.append({"type": item["type"], **update})
    return updates


def predicted(current: dict[str, dict], updates: list[dict]) -> dict[str, dict]:
    after = {name: dict(entry) for name, entry in current.items()}
    for update in updates:
        if "quantity" in update:
            after[update["type"]]["quantity"] = update["quantity"]
        if "dyno_size" in update:
            after[update["type"]]["size"] = update["dyno_size"]["name"]
    return after


def validate(hm: HerokuModule, current: dict[str, dict]) -> None:
    seen: set[str] = set()
    for item in hm.params["formation"]:
        if item["type"] in seen:
            hm.fail(f"process type {item['type']!r} is listed twice")
        seen.add(item["type"])
        if item["type"] not in current:
            known = ", ".join(sorted(current)) or "none"
            hm.fail(f"Heroku app {hm.app!r} has no process type {item['type']!r} (it has: {known})")
        if item.get("quantity") is not None and item["quantity"] < 0:
            hm.fail(f"quantity of {item['type']!r} must not be negative")


def diff_view(formation: dict[str, dict]) -> dict[str, dict]:
    return {name: {"quantity": e["quantity"], "size": e["size"]} for name, e in sorted(formation.items())}


def run(hm: HerokuModule) -> None:
    hm.doing("reading the formation")
    current = {entry["type"]: formation_entry(entry) for entry in hm.client.formation(hm.app)}
    validate(hm, current)
    updates = plan_updates(current, hm.params["formation"])
    after = predicted(current, updates)
    if updates:
        answer = hm.write(f"scaling {', '.join(u['type'] for u in updates)}",
                          lambda: hm.client.update_formation(hm.app, updates), predicted=[])
        after.update({entry["type"]: formation_entry(entry) for entry in answer})
    hm.exit(
        bool(updates), before=diff_view(current), after=diff_view(after),
        formation=[after[name] for name in sorted(after)], updates=updates,
    )


def main() -> None:
    HerokuModule(dict(
        app=dict(type="str", required=True),
        formation=dict(type="list", elements="dict", required=True, options=dict(
            type=dict(type="str", required=True),
            quantity=dict(type="int"),
            size=dict(type="str"),
        )),
    )).run(run)


if __name__ == "__main__":
    main()
