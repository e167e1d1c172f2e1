# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The logic of heroku_app_fleet (private), shared by the module and its controller-side action plugin."""

from __future__ import annotations

import typing as t

from .._fleet import (
    FleetOutcome,
    FleetRun,
    guarded,
    handle_all,
    pooled_client_factory,
    unique,
    workers_for,
)
from .._module import RETRY_ARGUMENT_SPEC, merged_spec
from .client import HEROKU_ARGUMENT_SPEC, HerokuClient, client_from_params
from .module import MAINTENANCE_RETRY_MAX_WAIT

SUBJECT_LABEL = "Heroku apps"

# The whole spec (auth, retries and the fleet's own options), in one place for the module and the action.
ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = merged_spec(HEROKU_ARGUMENT_SPEC, RETRY_ARGUMENT_SPEC, {
    "apps": {"type": "list", "elements": "str", "required": True},
    "maintenance": {"type": "bool"},
    "concurrency": {"type": "int", "default": 16},
    "retry_max_wait": {"type": "float", "default": MAINTENANCE_RETRY_MAX_WAIT},
})


class Fleet(t.Protocol):
    params: t.Mapping[str, t.Any]
    client: HerokuClient

    def write(self, operation: str, action: t.Callable[[], t.Any], predicted: t.Any) -> t.Any: ...


# One client and one session whose pool has a connection per worker thread (the fleet package's factory).
pooled_client: t.Callable[[t.Mapping[str, t.Any]], HerokuClient] = pooled_client_factory(client_from_params, "apps")


def listed_maintenance(fleet: Fleet) -> dict[str, bool]:
    """Maintenance of every app the account lists, by name and by id."""
    known: dict[str, bool] = {}
    for app in fleet.client.apps():
        for key in (app.get("name"), app.get("id")):
            if key:
                known[key] = bool(app.get("maintenance"))
    return known


def converge_app(fleet: Fleet, app: str, wanted: bool | None, listed: t.Mapping[str, bool]) -> dict[str, t.Any]:
    """Change one app's maintenance only when it differs from what was read."""
    before = listed[app] if app in listed else bool(fleet.client.app(app).get("maintenance"))
    if wanted is None or before == wanted:
        return {"changed": False, "before": before, "maintenance": before}
    after = fleet.write(f"setting maintenance of {app}",
                        lambda: fleet.client.update_app(app, {"maintenance": wanted}) or {}, predicted={})
    return {"changed": True, "before": before, "maintenance": bool(after.get("maintenance", wanted))}


def maintenance_label(wanted: bool | None) -> str:
    """The state as the maintenance playbook and its published outcomes name it ('' when only read)."""
    return "" if wanted is None else ("on" if wanted else "off")


def converge_maintenance(fleet: Fleet) -> FleetOutcome:
    """Every app of ``apps`` to ``maintenance``; a failed app does not stop the others."""
    apps = unique(fleet.params["apps"])
    wanted = fleet.params["maintenance"]
    progress = FleetRun(SUBJECT_LABEL, lambda: fleet.client.history)
    listed = listed_maintenance(fleet)
    action = guarded("Heroku app", lambda app: converge_app(fleet, app, wanted, listed))
    result = progress.result(handle_all(apps, action, workers_for(fleet.params["concurrency"], apps)), "apps")
    result["state"] = maintenance_label(wanted)
    changed_apps = result["changed_apps"]
    return FleetOutcome(
        result=result,
        changed=bool(changed_apps),
        failure=progress.failure(result, "apps"),
        before={app: {"maintenance": result["apps"][app]["before"]} for app in changed_apps},
        after={app: {"maintenance": result["apps"][app]["maintenance"]} for app in changed_apps},
    )
