#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_pg_backup_info
short_description: List Heroku Postgres backups, restores and schedules, or read one backup
version_added: 0.1.0
description:
  - The API equivalent of C(heroku pg:backups), C(pg:backups:info), C(pg:backups:schedules) and
    C(pg:backups:url). Never changes anything.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
  database:
    description:
      - Attachment name of the heroku-postgresql database whose schedules are read.
    type: str
    default: DATABASE
  backup:
    description:
      - Read this backup in detail (with its logs), by name (V(b003)) or V(latest).
    type: str
  public_url:
    description:
      - With O(backup), also return a signed, expiring download URL of it (C(heroku pg:backups:url)).
      - The URL grants access to the data; handle the result with care.
    type: bool
    default: false
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  # Before the builtin attributes: the first fragment to set an attribute wins.
  - appops.runbooks.heroku.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.heroku_pg_backup
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Backups and schedule (heroku pg:backups; pg:backups:schedules)
  appops.runbooks.heroku_pg_backup_info:
    app: sc-mvp-production
  register: pg

- name: The newest backup must be less than a day old
  ansible.builtin.assert:
    that: pg.backups | selectattr('status', 'equalto', 'succeeded') | list | length > 0

- name: One backup with its logs (heroku pg:backups:info b003)
  appops.runbooks.heroku_pg_backup_info:
    app: sc-mvp-production
    backup: b003
"""

RETURN = r"""
backups:
  description: Backups, newest first, each with C(name), C(kind) and C(status); signed URLs left out.
  returned: success
  type: list
  elements: dict
  sample: [{name: b003, num: 3, status: succeeded, source_bytes: 5242880, finished_at: "2025-11-03T02:01:10Z"}]
restores:
  description: Restores, newest first.
  returned: success
  type: list
  elements: dict
in_flight:
  description: Names of transfers (backups, restores, copies) that have not finished.
  returned: success
  type: list
  elements: str
schedules:
  description: Backup schedules of O(database).
  returned: success
  type: list
  elements: dict
  sample: [{name: DATABASE_URL, hour: 2, timezone: America/Los_Angeles}]
backup:
  description: The backup asked for with O(backup), with its C(logs).
  returned: when O(backup) is set
  type: dict
url:
  description: Signed download URL of O(backup).
  returned: when O(public_url=true)
  type: str
"""

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.backups import (
    backup_number,
    describe_transfer,
    transfer_in_flight,
    transfer_kind,
    transfer_status,
)
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule


def run(hm: HerokuModule) -> None:
    hm.doing("listing transfers")
    transfers = sorted(hm.client.transfers(hm.app), key=lambda tr: tr.get("num") or 0, reverse=True)
    backups = [tr for tr in transfers if transfer_kind(tr) == "backup"]
    result = {
        "backups": [describe_transfer(tr) for tr in backups],
        "restores": [describe_transfer(tr) for tr in transfers if transfer_kind(tr) == "restore"],
        "in_flight": [describe_transfer(tr)["name"] for tr in transfers if transfer_in_flight(tr)],
    }
    hm.doing(f"resolving the database {hm.params['database']}")
    addon = hm.client.postgres_addon(hm.app, hm.params["database"])
    hm.doing("reading backup schedules")
    result["schedules"] = hm.client.schedules(addon["id"])

    wanted = hm.params["backup"]
    if wanted:
        if wanted.strip().lower() == "latest":
            chosen = next((b for b in backups if transfer_status(b) == "succeeded"), None)
        else:
            num = backup_number(wanted)
            if num is None:
                hm.fail(f"backup must be a name like b003 or latest, got {wanted!r}")
            chosen = next((b for b in backups if b.get("num") == num), None)
        if chosen is None:
            hm.fail(f"Heroku app {hm.app!r} has no backup {wanted}")
        hm.doing(f"reading backup {wanted}")
        result["backup"] = describe_transfer(hm.client.transfer(hm.app, chosen["num"], verbose=True))
        if hm.params["public_url"]:
            hm.doing(f"requesting a download URL for {wanted}")
            result["url"] = hm.client.backup_public_url(hm.app, chosen["num"])
    elif hm.params["public_url"]:
        hm.fail("public_url needs backup")
    hm.exit(False, **result)


def main() -> None:
    HerokuModule(dict(
        app=dict(type="str", required=True),
        database=dict(type="str", default="DATABASE"),
        backup=dict(type="str"),
        public_url=dict(type="bool", default=False),
    )).run(run)


if __name__ == "__main__":
    main()
