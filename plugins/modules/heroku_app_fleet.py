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
notes:
  - On a local connection (the usual case for an API-only task) an action plugin of the same name runs this
    logic in the controller's own process, with no module to build and start; the options, check mode, diff,
    C(module_defaults) and the task's C(environment) (for E(HEROKU_API_KEY) and the other fallbacks) behave as
    they do for the module. On any other connection (a task delegated to a remote host) the module runs there.
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
state:
  description: The maintenance state asked for, C(on) or C(off); empty when O(maintenance) is not given.
  returned: always
  type: str
  sample: "on"
requests:
  description: Number of API requests made (retries included).
  returned: always
  type: int
elapsed:
  description: Seconds spent on the API requests of the whole fleet (wall time).
  returned: always
  type: float
"""

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.fleet import (
    ARGUMENT_SPEC,
    SUBJECT_LABEL,
    converge_maintenance,
    pooled_client,
)
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule


class FleetModule(HerokuModule):
    subject_label = SUBJECT_LABEL


def run(fleet: FleetModule) -> None:
    outcome = converge_maintenance(fleet)
    if outcome.failure:
        fleet.fail(outcome.failure, changed=outcome.changed, **outcome.result)
    fleet.exit(outcome.changed, before=outcome.before, after=outcome.after, **outcome.result)


# On the controller, plugins/action/heroku_app_fleet.py runs the same logic without starting this module.
def main() -> None:
    FleetModule(ARGUMENT_SPEC, client_factory=pooled_client).run(run)


if __name__ == "__main__":
    main()
