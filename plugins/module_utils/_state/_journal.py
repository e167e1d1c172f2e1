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
                                                                             StateBackend, StateError,
                                                                             result_with_backend)

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


def journal_action(token: str, action: str, **fields: t.Any) -> dict[str, t.Any]:
    """app_run_journal's parameters for one action of run `token`: the fields given, every other
    journal option unset (the backend's options only when given)."""
    params: dict[str, t.Any] = {key: None for key in JOURNAL_ARGUMENT_SPEC if key not in STATE_ARGUMENT_SPEC}
    params.update(fields, token=token, action=action)
    return params


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


# A step of the run journal that a module records itself, in the same run as its own work (the
# journal_step option, documented by the appops.runbooks.journal_step doc fragment): on a host
# reached over SSH, a journal write of its own costs a module run (a Python start) per step.
JOURNAL_STEP_OPTIONS: dict[str, dict[str, t.Any]] = dict(
    STATE_ARGUMENT_SPEC,
    app=dict(type="str", required=True),
    token=dict(type="str", required=True, no_log=False),
    step=dict(type="str", required=True),
    at=dict(type="str", choices=["before", "after"], default="after"),
    then=dict(type="str"),
    maintenance_before=dict(type="raw"),
    safety_backup=dict(type="str"),
    details=dict(type="dict"),
)
JOURNAL_STEP_OPTION: dict[str, t.Any] = dict(type="dict", options=JOURNAL_STEP_OPTIONS)


class JournalStepFailed(Exception):
    """The step a module was asked to record could not be recorded."""


def due_step(journal_step: t.Mapping[str, t.Any] | None, at: str, check_mode: bool) -> str | None:
    """The step of journal_step due at this point of a module's work: its step at its own `at`, and
    its `then` step once the work is done; None when nothing is due (and always in check mode)."""
    if not journal_step or check_mode:
        return None
    if journal_step["at"] == at:
        return journal_step["step"]
    if at == "after" and journal_step.get("then"):
        return journal_step["then"]
    return None


def record_step(journal_step: t.Mapping[str, t.Any] | None, at: str, check_mode: bool,
                **known: t.Any) -> dict[str, t.Any] | None:
    """Record the step of journal_step due `at` this point of the module's work ("before" it changes
    anything, or "after" it); `known` are fields only the module knows (the maintenance state it found,
    the backup it wrote), used where journal_step leaves them unset. The run's record, or None when
    nothing was due. Raises JournalStepFailed naming the step and the reason (never the DSN)."""
    step_name = due_step(journal_step, at, check_mode)
    if step_name is None:
        return None
    step = {key: value for key, value in t.cast(t.Mapping[str, t.Any], journal_step).items() if key not in ("at", "then")}
    step["step"] = step_name
    for key, value in known.items():
        if step.get(key) is None:
            step[key] = value
    params = journal_action(step.pop("token"), "step", **step)
    result = result_with_backend(params, journal_subject(params), lambda backend: record_run(params, False, backend))
    if result.get("failed"):
        raise JournalStepFailed(f"could not record step {step_name}: {result['msg']}")
    return result["run"]
