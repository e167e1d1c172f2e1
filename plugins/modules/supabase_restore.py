#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: supabase_restore
short_description: Restore a Supabase project's database from a physical backup or to a point in time, and wait
version_added: 0.3.0
description:
  - Restores the whole database of a Supabase project through the Management API, from one of its physical
    backups (C(POST /v1/projects/{ref}/database/backups/restore)) or to a point in time
    (C(POST /v1/projects/{ref}/database/backups/restore-pitr)), then waits until the project is
    C(ACTIVE_HEALTHY) again.
  - The backup or the time is checked against what the API lists before anything is sent (a backup that is not
    C(COMPLETED), a time outside the recovery window or a project without PITR fail without a request).
  - A restore is an action, not a state the API can report afterwards (it does not say which backup a
    database holds), so every run that finds the project C(ACTIVE_HEALTHY) starts one. A run that finds the
    project C(RESTORING) starts nothing and waits for that restore instead (O(wait)), reporting
    RV(attached); a restore whose answer was lost is looked for the same way before it is sent again.
  - This is not C(supabase db reset --linked), which drops the remote database and replays the migrations.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - appops.runbooks.supabase
  - appops.runbooks.api_retry
  - appops.runbooks.supabase.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
options:
  backup_id:
    description:
      - Id of the physical backup to restore (see M(appops.runbooks.supabase_backup_info)).
      - Exactly one of O(backup_id) and O(point_in_time).
    type: int
  point_in_time:
    description:
      - The time to restore to, as unix seconds or ISO 8601 with a zone (V(2026-12-06T10:15:00Z)); the project
        needs point-in-time recovery.
    type: str
  wait:
    description: Whether to wait until the project is C(ACTIVE_HEALTHY) again.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the restore.
    type: float
    default: 1800
  poll_interval:
    description: Seconds between two reads of the project's status.
    type: float
    default: 5
attributes:
  check_mode:
    support: full
    details: Checks the backup or the time against the API's list and reports the restore it would start.
  diff_mode:
    support: none
seealso:
  - module: appops.runbooks.supabase_backup_info
"""

EXAMPLES = r"""
- name: Put the database back as it was at 10:15 UTC
  appops.runbooks.supabase_restore:
    project_ref: abcdefghijklmnopqrst
    point_in_time: "2026-12-06T10:15:00Z"

- name: Restore the physical backup 12
  appops.runbooks.supabase_restore:
    project_ref: abcdefghijklmnopqrst
    backup_id: 12
"""

RETURN = r"""
restore:
  description: What was (or in check mode would be) restored.
  returned: success
  type: dict
  sample: {"method": "pitr", "recovery_time_target_unix": 1765016100, "backup_id": null}
attached:
  description: True when the project was already being restored and this run waited for that restore instead.
  returned: success
  type: bool
status:
  description: The project's status at the end (V(ACTIVE_HEALTHY) after a restore that was waited for).
  returned: success
  type: str
waited_seconds:
  description: Seconds spent waiting for the project to be healthy again.
  returned: success
  type: float
"""

import time
from datetime import datetime

from ansible_collections.appops.runbooks.plugins.module_utils._http import wait_for
from ansible_collections.appops.runbooks.plugins.module_utils._supabase.client import (
    HEALTHY,
    RESTORING,
    WAIT_ARGUMENT_SPEC,
    recovery_window,
)
from ansible_collections.appops.runbooks.plugins.module_utils._supabase.module import SupabaseModule

ARGUMENT_SPEC = {
    "project_ref": {"type": "str", "required": True},
    "backup_id": {"type": "int"},
    "point_in_time": {"type": "str"},
    **WAIT_ARGUMENT_SPEC,
}


def unix_time(value: str) -> int:
    """Unix seconds from digits or from ISO 8601 with a zone (a time without one is ambiguous)."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"point_in_time {value!r} has no time zone (add Z or +00:00)")
    return int(moment.timestamp())


def target(api: SupabaseModule) -> dict:
    """The restore to start, checked against the backups the API lists; fails before any write."""
    api.doing("listing the backups")
    answer = api.client.backups(api.ref)
    if api.params["backup_id"] is not None:
        backup_id = api.params["backup_id"]
        backup = next((b for b in answer.get("backups") or [] if b.get("id") == backup_id), None)
        if backup is None or backup.get("status") != "COMPLETED":
            api.fail(f"{api.subject}: backup {backup_id} is "
                     f"{'not listed' if backup is None else backup.get('status')}; nothing was restored",
                     backups=answer.get("backups") or [])
        return {"method": "backup", "backup_id": backup_id, "recovery_time_target_unix": None,
                "backup_inserted_at": backup.get("inserted_at")}
    try:
        when = unix_time(api.params["point_in_time"])
    except ValueError as error:
        api.fail(str(error))
    window = recovery_window(answer)
    if window is None:
        api.fail(f"{api.subject} has no point-in-time recovery (pitr_enabled is false); restore a backup_id instead")
    if not window["earliest"] <= when <= time.time():
        api.fail(f"{api.subject}: {when} is outside the recovery window ({window['earliest']} to now); "
                 "nothing was restored", recovery_window=window)
    return {"method": "pitr", "backup_id": None, "recovery_time_target_unix": when}


def wait_healthy(api: SupabaseModule) -> tuple[str, float]:
    started = time.monotonic()
    api.doing("waiting for the restore to finish")
    project = wait_for(lambda: api.client.project(api.ref), lambda p: p.get("status") != RESTORING,
                       timeout=api.params["wait_timeout"], interval=api.params["poll_interval"],
                       what="the project to leave RESTORING")
    status = project.get("status")
    if status != HEALTHY:
        api.fail(f"{api.subject}: the restore ended with status {status}", status=status)
    return status, round(time.monotonic() - started, 1)


def run(api: SupabaseModule) -> None:
    if (api.params["backup_id"] is None) == (api.params["point_in_time"] is None):
        api.fail("give exactly one of backup_id and point_in_time")
    api.doing("reading the project")
    project = api.client.project(api.ref)
    status = project.get("status")
    if status == RESTORING:
        # Another run's restore (or ours, whose answer was lost): wait for it, start nothing.
        status, waited = wait_healthy(api) if api.params["wait"] and not api.check_mode else (status, 0.0)
        api.exit(False, restore={}, attached=True, status=status, waited_seconds=waited)
    if status != HEALTHY:
        api.fail(f"{api.subject} is {status}: a restore needs it ACTIVE_HEALTHY", status=status)
    restore = target(api)

    def send() -> str:
        if restore["method"] == "backup":
            api.client.restore_backup(api.ref, restore["backup_id"])
        else:
            api.client.restore_pitr(api.ref, restore["recovery_time_target_unix"])
        return RESTORING

    def restoring() -> str | None:
        return RESTORING if api.client.project(api.ref).get("status") == RESTORING else None

    started = api.start("starting the restore", find_running=lambda: None, create=send, find_started=restoring)
    if started is None:  # check mode
        api.exit(True, restore=restore, attached=False, status=status, waited_seconds=0.0)
    status, waited = wait_healthy(api) if api.params["wait"] else (RESTORING, 0.0)
    api.exit(True, restore=restore, attached=False, status=status, waited_seconds=waited)


def main() -> None:
    SupabaseModule(ARGUMENT_SPEC, mutually_exclusive=[("backup_id", "point_in_time")]).run(run)


if __name__ == "__main__":
    main()
