#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_app_fleet
short_description: Set the maintenance mode of many Heroku apps at once
version_added: 0.1.0
description:
  - The fleet twin of M(appops.runbooks.heroku_app). For every app of O(apps) it compares O(maintenance) with
    the app's current value and changes it only when they differ, exactly like M(appops.runbooks.heroku_app) does
    for one app.
  - The current values come from one listing of the account's apps (C(GET /apps), 1,000 a page), so a fleet
    already in the wanted state costs one request rather than one per app. An app the listing does not show
    (an id or name it does not match) is read on its own, and fails as a single read would.
  - The apps are handled concurrently, O(concurrency) at a time, in one process over one keep-alive
    HTTP session whose connection pool holds O(concurrency) connections. A per-host task costs a few
    tenths of a CPU-second in Ansible; one task for the whole fleet makes a fleet run bound by the API's
    latency instead.
  - Every app keeps its own result (C(changed), before and after) in RV(apps). When some apps fail, the
    others are still handled and the module fails naming the failed apps.
options:
  apps:
    description:
      - Names or ids of the apps.
    type: list
    elements: str
    required: true
  maintenance:
    description:
      - Whether maintenance mode is on. Omit to only read the apps.
    type: bool
  concurrency:
    description:
      - How many apps are handled at the same time (threads, and connections in the pool).
    type: int
    default: 16
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry.MAINTENANCE
  - appops.runbooks.api_retry
  - appops.runbooks.heroku.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.heroku_app
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Maintenance on for every Heroku app of the play, in one task
  appops.runbooks.heroku_app_fleet:
    apps: "{{ ansible_play_hosts }}"
    maintenance: true
    concurrency: 32
  run_once: true
  register: fleet

- name: Apps that changed
  ansible.builtin.debug:
    msg: "{{ fleet.apps | dict2items | selectattr('value.changed') | map(attribute='key') | list }}"
  run_once: true
"""

RETURN = r"""
apps:
  description: Per app (by the name given), C(changed), C(before) and C(maintenance) (after), or C(error).
  returned: always
  type: dict
  sample: {micmap-api: {changed: true, before: false, maintenance: true}}
changed_apps:
  description: Names of the apps that changed (or would change in check mode).
  returned: always
  type: list
  elements: str
failed_apps:
  description: Names of the apps whose requests failed.
  returned: always
  type: list
  elements: str
requests:
  description: Number of API requests made (retries included).
  returned: always
  type: int
elapsed:
  description: Seconds spent on the API requests of the whole fleet (wall time).
  returned: always
  type: float
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._fleet import (
    CONCURRENCY_OPTION,
    FleetRun,
    guarded,
    handle_all,
    pooled_client_factory,
    unique,
    workers_for,
)
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.client import client_from_params
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import (
    MAINTENANCE_RETRY_MAX_WAIT,
    HerokuModule,
)


class FleetModule(HerokuModule):
    subject_label = "Heroku apps"


def listed_maintenance(fleet: FleetModule) -> dict[str, bool]:
    """Maintenance of every app the account lists, by name and by id."""
    known: dict[str, bool] = {}
    for app in fleet.client.apps():
        for key in (app.get("name"), app.get("id")):
            if key:
                known[key] = bool(app.get("maintenance"))
    return known


def converge_app(fleet: FleetModule, app: str, wanted: bool | None, listed: t.Mapping[str, bool]) -> dict[str, t.Any]:
    """Change one app's maintenance only when it differs from what was read."""
    before = listed[app] if app in listed else bool(fleet.client.app(app).get("maintenance"))
    if wanted is None or before == wanted:
        return {"changed": False, "before": before, "maintenance": before}
    after = fleet.write(f"setting maintenance of {app}",
                        lambda: fleet.client.update_app(app, {"maintenance": wanted}) or {}, predicted={})
    return {"changed": True, "before": before, "maintenance": bool(after.get("maintenance", wanted))}


def run(fleet: FleetModule) -> None:
    apps = unique(fleet.params["apps"])
    wanted = fleet.params["maintenance"]
    progress = FleetRun("Heroku apps", lambda: fleet.client.history)
    listed = listed_maintenance(fleet)
    action = guarded("Heroku app", lambda app: converge_app(fleet, app, wanted, listed))
    result = progress.result(handle_all(apps, action, workers_for(fleet.params["concurrency"], apps)), "apps")
    failure = progress.failure(result, "apps")
    if failure:
        fleet.fail(failure, changed=bool(result["changed_apps"]), **result)
    changed_apps = result["changed_apps"]
    fleet.exit(
        bool(changed_apps),
        before={app: {"maintenance": result["apps"][app]["before"]} for app in changed_apps},
        after={app: {"maintenance": result["apps"][app]["maintenance"]} for app in changed_apps},
        **result,
    )


def main() -> None:
    FleetModule(dict(
        apps=dict(type="list", elements="str", required=True),
        maintenance=dict(type="bool"),
        concurrency=dict(CONCURRENCY_OPTION),
        retry_max_wait=dict(type="float", default=MAINTENANCE_RETRY_MAX_WAIT),
    ), client_factory=pooled_client_factory(client_from_params, "apps")).run(run)


if __name__ == "__main__":
    main()
