# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run journal's actions (start, step, finish, read) on a state backend.

Shared by the app_run_journal module and its controller-side action plugin, so a journal write
from the controller (the postgres backend) runs in the worker, without a module to start.
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._state import (JOURNAL_FIELDS, STATE_ARGUMENT_SPEC,
                                                                             StateBackend, StateError)

JOURNAL_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = dict(
    STATE_ARGUMENT_SPEC,
    app=dict(type="str", required=True),
    token=dict(type="str", no_log=False),
    action=dict(type="str", choices=["start", "step", "finish", "read"], default="read"),
    procedure=dict(type="str"),
    step=dict(type="str"),
    maintenance_before=dict(type="raw"),
    safety_backup=dict(type="str"),
    details=dict(type="dict"),
    outcome=dict(type="str"),
    exclude_token=dict(type="str", no_log=False),
)
JOURNAL_REQUIRED_IF: list[tuple[str, str, tuple[str, ...]]] = [
    ("action", "start", ("token", "procedure")), ("action", "step", ("token",)),
    ("action", "finish", ("token", "outcome")), ("backend", "local", ("state_dir",))]


def journal_subject(params: t.Mapping[str, t.Any]) -> str:
    return f"run journal of {params['app']}"


def predicted(before: dict[str, t.Any] | None, params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The record as the action would leave it, without the times the backend sets."""
    record = dict(before or {"token": params["token"], "app": params["app"], "step": "started", "details": {},
                             "finished_at": None, "outcome": None})
    if before is not None and params["action"] == "start":
        return record
    for key in JOURNAL_FIELDS:
        if params.get(key) is not None:
            record[key] = dict(record.get("details") or {}, **params[key]) if key == "details" else params[key]
    if params["action"] == "finish":
        record["outcome"] = params["outcome"]
    return record


def record_run(params: t.Mapping[str, t.Any], check_mode: bool, backend: StateBackend) -> dict[str, t.Any]:
    """Do the action of params on the journal; the result (changed, run, diff). Raises StateError."""
    action, token = params["action"], params["token"]
    if action == "read":
        run = backend.journal_read(token) if token else backend.journal_latest_unfinished(params["app"],
                                                                                          params["exclude_token"])
        return {"changed": False, "run": run}
    before = backend.journal_read(token)
    if action != "start" and before is None:
        raise StateError(f"no journal record of run {token} of {params['app']} to {action}")
    after = predicted(before, params)
    changed = after != before if before is not None else True
    if changed and not check_mode:
        fields = {key: params[key] for key in JOURNAL_FIELDS if params.get(key) is not None}
        if action == "start":
            after = backend.journal_start(params["app"], token, fields)
        elif action == "step":
            after = backend.journal_update(token, fields)
        else:
            after = backend.journal_finish(token, params["outcome"], fields)
    result: dict[str, t.Any] = {"changed": changed, "run": after}
    if changed:
        result["diff"] = {"before": before or {}, "after": after}
    return result
