# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: fleet_outcomes
short_description: The published outcome of every app of a fleet run
version_added: 0.1.0
description:
  - Builds the C(appops) outcome (the shape README.md gives under "Results - what a run reports") of each app
    of a fleet run from the result of the fleet primitive (a platform's C(maintenance_fleet), a store's
    C(backup_fleet)), in one step for the whole fleet.
  - An app counts as changed when the fleet result names it in C(changed_apps). A backup fleet result names
    each app's backup in C(backup_ids) and its stores in C(stores) (both by app); the app's C(details) come from
    C(details) (by app), else they are the fleet's C(state).
  - In a failed run whose fleet result has each app's own result (C(apps) as a mapping of name to result, as
    C(heroku_app_fleet) returns it), only the apps whose result holds an C(error), or that have no result,
    are failed, each with its own error; the others keep what they did. Without per-app results, or when no
    app has an error of its own (a later step failed), every app is failed with O(message).
options:
  _input:
    description: The app names to publish.
    type: list
    elements: str
    required: true
  fleet:
    description: The fleet result (C(appops_maintenance_fleet)) with C(state) and C(changed_apps); empty when
      the run failed before the fleet task answered.
    type: dict
    default: {}
  procedure:
    description: The procedure the outcomes are of.
    type: str
    default: maintenance
  failed:
    description: Whether the run failed.
    type: bool
    default: false
  failed_step:
    description: The task that failed.
    type: str
    default: ''
  message:
    description: What failed.
    type: str
    default: ''
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Publish the outcome of every app
  ansible.builtin.set_stats:
    data:
      appops: "{{ appops_maintenance_fleet.apps | appops.runbooks.fleet_outcomes(appops_maintenance_fleet) }}"
    per_host: false
    aggregate: true
"""

RETURN = r"""
_value:
  description: The outcome of each app, by app name.
  type: dict
"""

import typing as t


def fleet_outcomes(
    apps: t.Iterable[str],
    fleet: t.Mapping[str, t.Any] | None = None,
    procedure: str = "maintenance",
    failed: bool = False,
    failed_step: str = "",
    message: str = "",
) -> dict[str, dict[str, t.Any]]:
    fleet = fleet or {}
    changed = set(fleet.get("changed_apps") or [])
    state = fleet.get("state", "")
    backup_ids = fleet.get("backup_ids") or {}
    stores = fleet.get("stores") or {}
    details = fleet.get("details") or {}
    own = app_errors(apps, fleet, message.strip()) if failed else {}
    return {
        app: {
            "app": app, "procedure": procedure, "changed": app in changed,
            "backup_id": backup_ids.get(app) or "", "stores": list(stores.get(app) or []), "safety_backup": "",
            "rto_seconds": None, "rpo_seconds": None, "rto_met": None, "rpo_met": None,
            "health": "", "release": {}, "details": details.get(app, {"state": state}),
            "failed": app in own, "failed_step": failed_step if app in own else "",
            "message": own.get(app, ""),
        }
        for app in apps
    }


def app_errors(apps: t.Iterable[str], fleet: t.Mapping[str, t.Any], message: str) -> dict[str, str]:
    """What failed, by app, in a failed run: each app's own error when the fleet result has per-app
    results (an app it has no result for was not reached, and gets the run's message), else the
    run's message for every app, as when no app had an error of its own."""
    per_app = fleet.get("apps")
    if not isinstance(per_app, t.Mapping):
        return {app: message for app in apps}
    errors = {}
    for app in apps:
        result = per_app.get(app)
        if not isinstance(result, t.Mapping):
            errors[app] = message
        elif result.get("error"):
            errors[app] = str(result["error"])
    # The apps all did their part, so a later step failed the run: it failed for every app.
    return errors or {app: message for app in apps}


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"fleet_outcomes": fleet_outcomes}
