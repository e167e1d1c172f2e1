# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Taking and releasing the per-app lock on a state backend (the app_lock module's logic).

Shared by the app_lock module and its controller-side action plugin, so the lock of an app whose
state is in the state PostgreSQL is taken in the controller's worker, without a module to start.
"""

from __future__ import annotations

import getpass
import os
import socket
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._state import STATE_ARGUMENT_SPEC, StateBackend, StateError
from ansible_collections.appops.runbooks.plugins.module_utils._state._journal import journal_action, record_run

# The run journal's records at the two ends of a locked run, written by the run of the module that
# takes or releases the lock: on a host reached over SSH each module run costs a Python start.
JOURNAL_OPTIONS: dict[str, dict[str, t.Any]] = dict(
    step=dict(type="str", default="locked"),
    details=dict(type="dict"),
    outcome=dict(type="str"),
    best_effort=dict(type="bool", default=False),
    recovered_token=dict(type="str", no_log=False),
)

LOCK_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = dict(
    STATE_ARGUMENT_SPEC,
    path=dict(type="path"),
    app=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    procedure=dict(type="str", default="unknown"),
    holder=dict(type="str"),
    controller=dict(type="dict"),
    token=dict(type="str", no_log=False),
    max_age=dict(type="int", default=7200),
    force=dict(type="bool", default=False),
    journal=dict(type="dict", options=JOURNAL_OPTIONS),
)
LOCK_REQUIRED_IF: list[tuple[t.Any, ...]] = [("backend", "local", ("path", "state_dir"), True)]


class LockRefused(Exception):
    """Another live run holds the lock; carries that lock for the failure's result."""

    def __init__(self, message: str, lock: t.Mapping[str, t.Any]) -> None:
        super().__init__(message)
        self.lock = dict(lock)


def lock_subject(params: t.Mapping[str, t.Any]) -> str:
    return f"lock of {params['app']}"


def default_holder() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def check_acquire(params: t.Mapping[str, t.Any], backend: StateBackend, token: str) -> dict[str, t.Any]:
    """What acquiring would do, judged the same way, with nothing written."""
    current = backend.read_lock(params["app"])
    mine = bool(current) and current.get("token") == token
    reason = None
    if current and not mine:
        reason = _lock.takeover_reason(current, _lock.utc_now(), params["max_age"])
        if reason is None:
            raise LockRefused(_lock.describe(params["app"], current), current)
    return {"changed": not mine, "token": token, "lock": current or {}, "reentrant": mine,
            "taken_over_from": current if reason else None, "stale_taken_over": current if reason else None,
            "taken_over_reason": reason}


def run_acquire(params: t.Mapping[str, t.Any], check_mode: bool, backend: StateBackend,
                warn: t.Callable[[str], None]) -> dict[str, t.Any]:
    token = params["token"] or _lock.new_token()
    if check_mode:
        return check_acquire(params, backend, token)
    holder = params["holder"] or default_holder()
    try:
        result = backend.acquire(params["app"], params["procedure"], holder, token, params["max_age"],
                                 controller=params["controller"])
    except _lock.LockHeld as held:
        raise LockRefused(f"{held}; refusing to run {params['procedure']} while it is held (the lock is "
                          f"taken over by itself once that run's controller process is gone or its lease "
                          f"ends; to take it over now, max_age=0, in the playbooks -e common_lock_max_age=0)",
                          held.holder) from held
    result["token"] = token
    previous = result["taken_over_from"]
    if previous:
        warn(f"Took over a stale lock on {params['app']} because {result['taken_over_reason']}: "
             f"{_lock.describe(params['app'], previous)}, run token {previous.get('token')}")
    return result


def start_journal(params: t.Mapping[str, t.Any], check_mode: bool, backend: StateBackend, token: str) -> dict[str, t.Any]:
    """Find the newest unfinished run of the app before this one (a killed one), then record the start
    of this run, which now holds the lock. The read comes first: a failure leaves no record of this
    run that a later run would take for the killed one. A check run records nothing and only reads."""
    journal = params["journal"]
    unfinished = backend.journal_latest_unfinished(params["app"], token)
    run = None
    if not check_mode:
        start = journal_action(token, "start", app=params["app"], procedure=params["procedure"],
                               step=journal["step"], details=journal["details"])
        run = record_run(start, False, backend)["run"]
    return {"run": run, "unfinished": unfinished}


def acquire_with_journal(params: t.Mapping[str, t.Any], check_mode: bool, backend: StateBackend,
                         warn: t.Callable[[str], None]) -> dict[str, t.Any]:
    """Acquire, then start the run's journal record; a lock whose record cannot be written is given back."""
    result = run_acquire(params, check_mode, backend, warn)
    if params["journal"] is None:
        return result
    try:
        result["journal"] = start_journal(params, check_mode, backend, result["token"])
    except (StateError, OSError) as error:
        if not check_mode and not result["reentrant"]:
            backend.release(params["app"], result["token"])
        return {"failed": True, "changed": False, "lock": {},
                "msg": f"cannot record the run of {params['app']} in its journal, so the lock was given back: {error}"}
    return result


def finish_journal(params: t.Mapping[str, t.Any], backend: StateBackend) -> tuple[dict[str, t.Any], str | None]:
    """Record how the run ended (and that a killed run it took over is recovered); with best_effort an
    error is only reported, so that it cannot hide the run's own failure."""
    journal, token = params["journal"], params["token"] or ""
    done: dict[str, t.Any] = {"run": None, "recovered": None}
    try:
        done["run"] = record_run(journal_action(token, "finish", app=params["app"], outcome=journal["outcome"],
                                                details=journal["details"]), False, backend)["run"]
        if journal["recovered_token"]:
            done["recovered"] = record_run(journal_action(journal["recovered_token"], "finish", app=params["app"],
                                                          outcome="recovered", details={"recovered_by": token}),
                                           False, backend)["run"]
    except (StateError, OSError) as error:
        # A full disk or an unwritable state folder must not keep the lock held: the caller releases it.
        done["error"] = str(error)
        return done, None if journal["best_effort"] else str(error)
    return done, None


def run_release(params: t.Mapping[str, t.Any], check_mode: bool, backend: StateBackend) -> dict[str, t.Any]:
    """Release the lock; with journal (and not in check mode) the run's record is finished first, and
    the lock is released even when that fails (the failure is the result's)."""
    error = None
    journal = None
    if params["journal"] is not None and params["journal"]["outcome"] and not check_mode:
        journal, error = finish_journal(params, backend)
    result = release_lock(params, check_mode, backend)
    if journal is not None:
        result["journal"] = journal
    if error:
        result.update(failed=True, msg=f"the lock of {params['app']} was released, but the end of the run was not "
                                       f"recorded in its journal: {error}")
    return result


def release_lock(params: t.Mapping[str, t.Any], check_mode: bool, backend: StateBackend) -> dict[str, t.Any]:
    if check_mode:
        current = backend.read_lock(params["app"])
        mine = bool(current) and (params["force"] or current.get("token") == params["token"])
        return {"changed": mine, "lock": current or {}, "held_by_other": None if mine else current}
    result = backend.release(params["app"], params["token"] or "", params["force"])
    return {"changed": result["changed"], "lock": result["released"] or {}, "held_by_other": result["held_by_other"]}


def run_lock(params: t.Mapping[str, t.Any], check_mode: bool, backend: StateBackend,
             warn: t.Callable[[str], None]) -> dict[str, t.Any]:
    """Acquire or release as params say; a refused lock is a failed result naming the holder."""
    try:
        if params["state"] == "present":
            return acquire_with_journal(params, check_mode, backend, warn)
        return run_release(params, check_mode, backend)
    except LockRefused as refused:
        return {"failed": True, "changed": False, "msg": str(refused), "lock": refused.lock}
