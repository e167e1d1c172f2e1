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
from ansible_collections.appops.runbooks.plugins.module_utils._state import STATE_ARGUMENT_SPEC, StateBackend

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


def run_release(params: t.Mapping[str, t.Any], check_mode: bool, backend: StateBackend) -> dict[str, t.Any]:
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
            return run_acquire(params, check_mode, backend, warn)
        return run_release(params, check_mode, backend)
    except LockRefused as refused:
        return {"failed": True, "changed": False, "msg": str(refused), "lock": refused.lock}
