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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._state import exit_with_backend
from ansible_collections.appops.runbooks.plugins.module_utils._state._journal import (JOURNAL_ARGUMENT_SPEC,
                                                                                      JOURNAL_REQUIRED_IF,
                                                                                      journal_subject, record_run)


def main() -> None:
    module = AnsibleModule(argument_spec=JOURNAL_ARGUMENT_SPEC, required_if=JOURNAL_REQUIRED_IF,
                           supports_check_mode=True)
    exit_with_backend(module, journal_subject(module.params),
                      lambda backend: record_run(module.params, module.check_mode, backend))


if __name__ == "__main__":
    main()
