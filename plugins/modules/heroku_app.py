#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_app
short_description: Set a Heroku app's maintenance mode
version_added: 0.1.0
description:
  - Reads the app, compares O(maintenance) with its current value and changes it only when they differ
    (the API equivalent of C(heroku maintenance:on) and C(heroku maintenance:off)).
  - Returns the app as the API describes it after the change.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
    aliases: [name]
  maintenance:
    description:
      - Whether maintenance mode is on. Omit to leave it as it is.
    type: bool
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry.MAINTENANCE
  - appops.runbooks.api_retry
  - appops.runbooks.heroku.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.heroku_app_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Stop write traffic before a restore
  appops.runbooks.heroku_app:
    app: sc-mvp-production
    maintenance: true

- name: Resume service, with credentials set once for the whole group
  module_defaults:
    group/appops.runbooks.heroku:
      api_key: "{{ vault_heroku_api_key }}"
  appops.runbooks.heroku_app:
    app: micmap-api
    maintenance: false
"""

RETURN = r"""
app:
  description: The app after the change (in check mode, as it would be).
  returned: success
  type: dict
  sample:
    id: 01234567-89ab-cdef-0123-456789abcdef
    name: micmap-api
    maintenance: true
    released_at: "2025-11-03T10:00:00Z"
    web_url: https://micmap-api.herokuapp.com/
"""

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import (
    MAINTENANCE_RETRY_MAX_WAIT,
    HerokuModule,
)


def ensure_maintenance(hm: HerokuModule, app: dict) -> tuple[bool, dict]:
    """Return (changed, app after) for the wanted maintenance value."""
    wanted = hm.params["maintenance"]
    if wanted is None or bool(app.get("maintenance")) == wanted:
        return False, app
    return True, hm.write(
        f"turning maintenance {'on' if wanted else 'off'}",
        lambda: hm.client.update_app(hm.app, {"maintenance": wanted}),
        predicted=dict(app, maintenance=wanted),
    )


def run(hm: HerokuModule) -> None:
    hm.doing("reading the app")
    before = hm.client.app(hm.app)
    changed, after = ensure_maintenance(hm, before)
    hm.exit(
        changed,
        before={"maintenance": bool(before.get("maintenance"))},
        after={"maintenance": bool(after.get("maintenance"))},
        app=after,
    )


def main() -> None:
    hm = HerokuModule(dict(
        app=dict(type="str", required=True, aliases=["name"]),
        maintenance=dict(type="bool"),
        retry_max_wait=dict(type="float", default=MAINTENANCE_RETRY_MAX_WAIT),
    ))
    hm.run(run)


if __name__ == "__main__":
    main()
