#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: app_run_journal
short_description: Record what a procedure run has done, so a later run can finish or undo it
version_added: 0.1.0
description:
  - Keeps one record per run (its lock token) in the state backend (O(backend)) with the app, the procedure,
    the maintenance state before the run, the safety backup, the step reached, when it started, was last
    updated and finished, and its outcome.
  - A run that was killed leaves a record without C(finished_at); the next run finds it with
    O(action=read) (the newest unfinished run of the app, or the run of O(token), for example the
    C(taken_over_from.token) of M(appops.runbooks.app_lock)).
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - appops.runbooks.state_backend
  - ansible.builtin.action_common_attributes
options:
  app:
    description: App the run works on.
    type: str
    required: true
  token:
    description:
      - The run's token (the lock token). Required for O(action=start), O(action=step) and O(action=finish).
      - With O(action=read), the run to read; without it the newest unfinished run of O(app) other than
        O(exclude_token).
    type: str
  action:
    description:
      - V(start) records a new run (an existing record of the token is kept), V(step) records progress,
        V(finish) records the end and O(outcome), V(read) only reads.
    type: str
    choices: [start, step, finish, read]
    default: read
  procedure:
    description: The procedure of the run (restore, deploy ...), for O(action=start).
    type: str
  step:
    description: The step the run reached.
    type: str
  maintenance_before:
    description: The maintenance state before the run, as the platform reports it, to put back later.
    type: raw
  safety_backup:
    description: The id of the safety backup taken before a destructive step.
    type: str
  details:
    description: More facts of the run; merged into what is recorded.
    type: dict
  outcome:
    description: How the run ended, for O(action=finish) (for example V(ok), V(failed), V(undone)).
    type: str
  exclude_token:
    description: With O(action=read) and no O(token), a run to leave out (the current one).
    type: str
notes:
  - With O(backend=postgres) run the module on the controller (delegated to C(localhost)).
"""

EXAMPLES = r"""
- name: Record that the restore started
  appops.runbooks.app_run_journal:
    backend: postgres
    app: micmap-api
    token: "{{ common_lock_token }}"
    action: start
    procedure: restore
    maintenance_before: "{{ maintenance_before }}"
  delegate_to: localhost

- name: Find what a killed run of this app had done
  appops.runbooks.app_run_journal:
    backend: postgres
    app: micmap-api
    action: read
    token: "{{ lock.taken_over_from.token }}"
  delegate_to: localhost
  when: lock.taken_over_from
"""

RETURN = r"""
run:
  description: The run's record after the action; null when there is none.
  returned: always
  type: dict
  sample: {"token": "0f3c", "app": "micmap-api", "procedure": "restore", "step": "safety_backup",
           "maintenance_before": {"enabled": false}, "safety_backup": "b007", "details": {},
           "started_at": "2025-01-01T12:00:00Z", "updated_at": "2025-01-01T12:01:00Z",
           "finished_at": null, "outcome": null}
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._state import (JOURNAL_FIELDS, STATE_ARGUMENT_SPEC,
                                                                             StateBackend, exit_with_backend)


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


def record_run(module: AnsibleModule, backend: StateBackend) -> dict[str, t.Any]:
    params = module.params
    action, token = params["action"], params["token"]
    if action == "read":
        run = backend.journal_read(token) if token else backend.journal_latest_unfinished(params["app"],
                                                                                          params["exclude_token"])
        return {"changed": False, "run": run}
    before = backend.journal_read(token)
    if action != "start" and before is None:
        module.fail_json(msg=f"no journal record of run {token} of {params['app']} to {action}")
    after = predicted(before, params)
    changed = after != before if before is not None else True
    if changed and not module.check_mode:
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


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
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
        ),
        required_if=[("action", "start", ("token", "procedure")), ("action", "step", ("token",)),
                     ("action", "finish", ("token", "outcome")), ("backend", "local", ("state_dir",))],
        supports_check_mode=True,
    )
    exit_with_backend(module, f"run journal of {module.params['app']}", lambda backend: record_run(module, backend))


if __name__ == "__main__":
    main()
