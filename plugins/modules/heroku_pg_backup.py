#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_pg_backup
short_description: Capture, restore and schedule Heroku Postgres backups
version_added: 0.1.0
description:
  - The API equivalent of C(heroku pg:backups:capture), C(pg:backups:restore), C(pg:backups:schedule) and
    C(pg:backups:unschedule).
  - O(state=captured) takes a backup and waits for it. When a backup of the app is already running, the
    module attaches to it (waits for it and returns it) instead of starting another.
  - O(state=restored) overwrites the database with a backup. It needs O(confirm) set to the app name.
    The database counts as already holding the backup when the newest restore of the app succeeded from
    that same backup; then nothing is done. Writes made after that restore are not detected. A running
    restore of the same backup is attached to; a running restore of another backup is an error.
  - When the answer to the request that starts a capture or a restore is lost (a broken connection, a
    timeout, a server error), the module looks for the transfer that request started and waits for it; it
    sends the request again only when it finds none, so one request never becomes two backups or restores.
  - O(state=scheduled) and O(state=unscheduled) manage the daily backup schedule of the database.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
  state:
    description:
      - What must be true afterwards.
    type: str
    required: true
    choices: [captured, restored, scheduled, unscheduled]
  database:
    description:
      - Attachment name of the heroku-postgresql database, as in C(heroku pg:backups:capture DATABASE).
    type: str
    default: DATABASE
  backup:
    description:
      - With O(state=restored), the backup to restore, by name (V(b003), V(a012)) or V(latest), the newest
        backup that succeeded.
    type: str
  confirm:
    description:
      - With O(state=restored), must be the app name; a guard against restoring into the wrong app.
    type: str
  after:
    description:
      - Number of a transfer (3 for V(b003), 4 for V(r004)) after which the work counts as done. Read the
        newest transfer number first and pass it, so that a retried task finds what an earlier attempt did
        instead of doing it twice.
      - With O(state=captured), a backup numbered higher (running or succeeded) is the capture; it is waited
        for and returned, and no other is taken.
      - With O(state=restored), only a restore numbered higher counts as having restored O(backup). So the
        backup is restored again even when the newest earlier restore came from it, for example because rows
        were written or deleted since (which the module cannot see).
    type: int
  hour:
    description:
      - With O(state=scheduled), the hour of the day (0-23) at which the daily backup runs.
    type: int
  timezone:
    description:
      - With O(state=scheduled), the time zone of O(hour), for example V(UTC) or V(America/Los_Angeles).
    type: str
    default: UTC
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  - appops.runbooks.heroku.WAIT
  - appops.runbooks.lock_heartbeat
  - appops.runbooks.heroku.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.heroku_pg_backup_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Manual backup (heroku pg:backups:capture)
  appops.runbooks.heroku_pg_backup:
    app: sc-mvp-production
    state: captured
  register: backup

- name: Restore a named backup (heroku pg:backups:restore b003 DATABASE_URL --confirm sc-mvp-production)
  appops.runbooks.heroku_pg_backup:
    app: sc-mvp-production
    state: restored
    backup: b003
    confirm: sc-mvp-production
    wait_timeout: 1800

- name: Daily backup at 02:00 Pacific
  appops.runbooks.heroku_pg_backup:
    app: sc-mvp-production
    state: scheduled
    hour: 2
    timezone: America/Los_Angeles
"""

RETURN = r"""
backup:
  description:
    - The backup transfer (captured or attached to, or the one restored), with C(name) (V(b003)), C(kind),
      and C(status) (V(pending), V(running), V(succeeded), V(failed)). Signed URLs are left out.
  returned: with O(state=captured) or O(state=restored), except in check mode when a capture would start
  type: dict
  sample: {name: b004, num: 4, status: succeeded, processed_bytes: 5242880, finished_at: "2025-11-03T02:01:10Z"}
restore:
  description: The restore transfer (the new one, the attached one, or the one that restored this backup).
  returned: with O(state=restored), except in check mode when a restore would start
  type: dict
  sample: {name: r005, kind: restore, status: succeeded}
schedule:
  description: The database's backup schedule (null when unscheduled).
  returned: with O(state=scheduled) or O(state=unscheduled)
  type: dict
  sample: {name: DATABASE_URL, hour: 2, timezone: America/Los_Angeles}
attached:
  description: True when a running transfer was waited for instead of starting one.
  returned: with O(state=captured) or O(state=restored)
  type: bool
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.backups import (
    backup_number,
    describe_transfer,
    transfer_in_flight,
    transfer_kind,
    transfer_status,
    wait_for_transfer,
)
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.client import WAIT_ARGUMENT_SPEC
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule


def newest_first(transfers: t.Iterable[dict]) -> list[dict]:
    return sorted(transfers, key=lambda tr: tr.get("num") or 0, reverse=True)


def of_kind(transfers: list[dict], kind: str) -> list[dict]:
    return newest_first(tr for tr in transfers if transfer_kind(tr) == kind)


def settle(hm: HerokuModule, transfer: dict) -> dict:
    """Wait for a transfer to finish; fail with its last log lines when it failed."""
    if not hm.params["wait"]:
        return transfer
    if transfer_in_flight(transfer):
        hm.doing(f"waiting for transfer {transfer['uuid']}")
        transfer = wait_for_transfer(hm.client, hm.app, transfer["uuid"],
                                     timeout=hm.params["wait_timeout"], interval=hm.params["poll_interval"])
    if transfer_status(transfer) == "failed":
        hm.doing(f"reading the logs of transfer {transfer['uuid']}")
        verbose = hm.client.transfer(hm.app, transfer["uuid"], verbose=True)
        logs = [entry.get("message", "") for entry in (verbose.get("logs") or [])][-5:]
        hm.fail(f"Heroku app {hm.app!r}: transfer {describe_transfer(transfer)['name']} failed: "
                + (" | ".join(logs) or "no log lines"), transfer=describe_transfer(verbose))
    return transfer


def newest_num(transfers: list[dict]) -> int:
    return max((tr.get("num") or 0 for tr in transfers), default=0)


def started_since(hm: HerokuModule, kind: str, known_num: int, of_backup: dict | None = None) -> dict | None:
    """The newest transfer of ``kind`` numbered above ``known_num`` (running or finished): what a
    request whose answer was lost started. A restore must also come from ``of_backup``."""
    hm.doing(f"looking for the {kind} a request whose answer was lost may have started")
    for transfer in of_kind(hm.client.transfers(hm.app), kind):
        if (transfer.get("num") or 0) <= known_num:
            break
        if of_backup is None or restored_from(transfer, of_backup):
            return transfer
    return None


def capture(hm: HerokuModule, addon: dict) -> None:
    hm.doing("listing transfers")
    transfers = hm.client.transfers(hm.app)
    backups = of_kind(transfers, "backup")
    running = next((tr for tr in backups if transfer_in_flight(tr)), None)
    after = hm.params["after"]
    taken = [tr for tr in backups if after is not None and (tr.get("num") or 0) > after
             and transfer_status(tr) == "succeeded"]
    if running is None and taken:
        hm.exit(False, backup=describe_transfer(taken[-1]), attached=True)
    known_num = newest_num(transfers)
    started = hm.start(
        f"capturing a backup of {hm.params['database']}",
        find_running=lambda: running,
        create=lambda: hm.client.capture_backup(addon["id"]),
        find_started=lambda: started_since(hm, "backup", known_num),
    )
    if started is None:
        hm.exit(True, before=None, after={"backup": "new"}, attached=False)
    described = describe_transfer(settle(hm, started.job))
    if not started.started_here:
        hm.exit(False, backup=described, attached=True)
    hm.exit(True, before=None, after={"backup": described["name"]}, backup=described, attached=False)


def pick_backup(hm: HerokuModule, backups: list[dict]) -> dict:
    wanted = (hm.params["backup"] or "").strip()
    done = [b for b in backups if transfer_status(b) == "succeeded"]
    if wanted.lower() == "latest":
        if not done:
            hm.fail(f"Heroku app {hm.app!r} has no succeeded backup to restore")
        return done[0]
    num = backup_number(wanted)
    if num is None:
        hm.fail(f"backup must be a name like b003 or latest, got {wanted!r}")
    match = next((b for b in backups if b.get("num") == num), None)
    if match is None:
        hm.fail(f"Heroku app {hm.app!r} has no backup {wanted}")
    if transfer_status(match) != "succeeded":
        hm.fail(f"Heroku app {hm.app!r}: backup {wanted} cannot be restored, its status is {transfer_status(match)}")
    return match


def restored_from(restore: dict, backup: dict) -> bool:
    if backup.get("to_url") and restore.get("from_url") == backup.get("to_url"):
        return True
    return restore.get("from_name") == describe_transfer(backup)["name"]


def last_restored_backup(last_restore: dict | None, backups: list[dict]) -> str | None:
    """Name of the backup the newest restore came from (what the database holds, for the diff)."""
    if last_restore is None:
        return None
    source = next((b for b in backups if restored_from(last_restore, b)), None)
    return describe_transfer(source)["name"] if source else last_restore.get("from_name")


def restore(hm: HerokuModule, addon: dict) -> None:
    if hm.params["confirm"] != hm.app:
        hm.fail(f"restoring overwrites the database of {hm.app!r}: set confirm to {hm.app!r} to go on")
    if not hm.params["backup"]:
        hm.fail("state=restored needs backup (a name like b003, or latest)")
    hm.doing("listing transfers")
    transfers = hm.client.transfers(hm.app)
    backups = of_kind(transfers, "backup")
    backup = pick_backup(hm, backups)
    name = describe_transfer(backup)["name"]
    restores = of_kind(transfers, "restore")
    running = next((r for r in restores if transfer_in_flight(r)), None)
    if running is not None and not restored_from(running, backup):
        hm.fail(f"Heroku app {hm.app!r}: another restore ({describe_transfer(running)['name']}) is running")
    before = {"restored_from": last_restored_backup(restores[0] if restores else None, backups)}
    after = hm.params["after"]
    last = next((r for r in restores if after is None or (r.get("num") or 0) > after), None)
    if running is None and last and transfer_status(last) == "succeeded" and restored_from(last, backup):
        hm.exit(False, before=before, after=before, backup=describe_transfer(backup),
                restore=describe_transfer(last), attached=False)
    known_num = newest_num(transfers)
    started = hm.start(
        f"restoring {name} into {hm.params['database']}",
        find_running=lambda: running,
        create=lambda: hm.client.restore_backup(addon["id"], backup["to_url"]),
        find_started=lambda: started_since(hm, "restore", known_num, of_backup=backup),
    )
    if started is None:
        hm.exit(True, before=before, after={"restored_from": name}, backup=describe_transfer(backup), attached=False)
    finished = settle(hm, hm.client.transfer(hm.app, started.job["uuid"]))
    hm.exit(started.started_here, before=before, after={"restored_from": name}, backup=describe_transfer(backup),
            restore=describe_transfer(finished), attached=not started.started_here)


def schedule_view(schedule: dict | None) -> dict | None:
    if not schedule:
        return None
    return {"name": schedule.get("name"), "hour": int(schedule.get("hour")), "timezone": schedule.get("timezone"),
            "uuid": schedule.get("uuid")}


def find_schedule(hm: HerokuModule, addon: dict) -> dict | None:
    database = hm.params["database"]
    hm.doing("reading backup schedules")
    for schedule in hm.client.schedules(addon["id"]):
        if schedule.get("name") in (database, f"{database}_URL"):
            return schedule
    return None


def ensure_schedule(hm: HerokuModule, addon: dict) -> None:
    hour, timezone = hm.params["hour"], hm.params["timezone"]
    if hour is None or not 0 <= hour <= 23:
        hm.fail("state=scheduled needs hour between 0 and 23")
    current = schedule_view(find_schedule(hm, addon))
    wanted = {"name": f"{hm.params['database']}_URL", "hour": hour, "timezone": timezone}
    if current and current["hour"] == hour and current["timezone"] == timezone:
        hm.exit(False, before=current, after=current, schedule=current)
    after = hm.write(
        f"scheduling daily backups at {hour:02d}:00 {timezone}",
        lambda: scheduled_now(hm, addon, hour, timezone, wanted["name"]) or wanted,
        predicted=wanted,
    )
    hm.exit(True, before=current, after=after, schedule=after)


def scheduled_now(hm: HerokuModule, addon: dict, hour: int, timezone: str, name: str) -> dict | None:
    hm.client.schedule(addon["id"], hour, timezone, name)
    return schedule_view(find_schedule(hm, addon))


def remove_schedule(hm: HerokuModule, addon: dict) -> None:
    current = find_schedule(hm, addon)
    if current is None:
        hm.exit(False, schedule=None)
    hm.write("removing the backup schedule", lambda: hm.client.unschedule(addon["id"], current["uuid"]), None)
    hm.exit(True, before=schedule_view(current), after=None, schedule=None)


def run(hm: HerokuModule) -> None:
    state = hm.params["state"]
    if state == "restored" and hm.params["confirm"] != hm.app:
        hm.fail(f"restoring overwrites the database of {hm.app!r}: set confirm to {hm.app!r} to go on")
    hm.doing(f"resolving the database {hm.params['database']}")
    addon = hm.client.postgres_addon(hm.app, hm.params["database"])
    {"captured": capture, "restored": restore, "scheduled": ensure_schedule,
     "unscheduled": remove_schedule}[state](hm, addon)


def main() -> None:
    spec = dict(
        app=dict(type="str", required=True),
        state=dict(type="str", required=True, choices=["captured", "restored", "scheduled", "unscheduled"]),
        database=dict(type="str", default="DATABASE"),
        backup=dict(type="str"),
        confirm=dict(type="str"),
        after=dict(type="int"),
        hour=dict(type="int"),
        timezone=dict(type="str", default="UTC"),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    spec.update(_lock.HEARTBEAT_ARGUMENT_SPEC)
    heroku = HerokuModule(spec, required_if=[("state", "restored", ["backup", "confirm"]),
                                             ("state", "scheduled", ["hour"])])
    with _lock.module_heartbeat(heroku.module.params, heroku.module.check_mode):
        heroku.run(run)


if __name__ == "__main__":
    main()
