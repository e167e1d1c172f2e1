#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: app_lock
short_description: Take or release the per-app lock that serialises destructive procedures
version_added: 0.1.0
description:
  - Takes the app's lock in the state backend (O(backend)), holding the holder (user@host), the
    controller process of the run (O(controller)), the procedure, since when, a lease and a token.
  - With O(backend=local) the lock is a file (O(path), or C(lock.json) in O(state_dir)) written whole
    and linked into place atomically; with O(backend=postgres) it is a row of the O(dsn) database,
    taken with one atomic statement, so runs on different controllers see each other's lock.
  - A second run on the same app fails with a message naming the holder, the procedure and since
    when, unless the holder is provably gone (its controller process, on the same host, has ended)
    or its lease expired (no heartbeat for O(max_age) seconds); that lock is taken over without
    further options and returned as RV(taken_over_from), so the run can read the journal of the run
    that held it (M(appops.runbooks.app_run_journal)).
  - The run that holds the lock may acquire it again with the same O(token) (re-entrant).
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - appops.runbooks.state_backend
  - ansible.builtin.action_common_attributes
options:
  path:
    description:
      - Lock file path, for O(backend=local). Defaults to C(lock.json) in O(state_dir). Its directory is
        created when missing.
    type: path
  app:
    description: App name, used in messages and stored in the lock.
    type: str
    required: true
  state:
    description: V(present) acquires the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  procedure:
    description: Name of the procedure taking the lock (restore, deploy, rollback ...).
    type: str
    default: unknown
  holder:
    description: Who holds the lock. Defaults to the remote user and host name.
    type: str
  controller:
    description:
      - The long-lived controller process of the run (C(host), C(boot_id), C(pid), C(start)), as the
        P(appops.runbooks.controller_process#lookup) lookup returns it. Stored in the lock, so that the
        next run on the same host can tell that this run is gone.
    type: dict
  token:
    description:
      - Identifies the run. Acquiring with the token of the current lock succeeds without change;
        releasing only removes a lock carrying this token (unless O(force=true)).
      - When omitted on acquire a new token is generated and returned.
    type: str
  max_age:
    description:
      - The lease in seconds stored with the lock; a lock nobody marked alive for longer than its
        lease is taken over, counted from when it was taken or, if later, from its last heartbeat
        (written by the O(appops.runbooks.compose_postgres_db#module:lock_path) and
        O(appops.runbooks.heroku_pg_backup#module:lock_path) heartbeats during long steps).
      - When taking a lock, a lock older than this is taken over too, whatever its own lease; V(0) takes
        over any lock of another run.
    type: int
    default: 7200
  force:
    description: With O(state=absent), remove the lock whoever holds it.
    type: bool
    default: false
  journal:
    description:
      - Also keep the run's record in the run journal (M(appops.runbooks.app_run_journal)) in this run of
        the module, next to the lock.
      - With O(state=present), once the lock is taken the run's record is started (procedure, O(journal.step),
        O(journal.details)) and the newest unfinished run of O(app) before it is read (RV(journal.unfinished)).
        A lock whose record cannot be written is released again, and the task fails.
      - With O(state=absent) and O(journal.outcome), the run's record is finished before the lock is released;
        the lock is released even when that fails.
      - In check mode nothing is recorded; on acquire the unfinished run is still read.
    type: dict
    suboptions:
      step:
        description: The step recorded at the start.
        type: str
        default: locked
      details:
        description: Facts recorded with the start, or with the end (merged into the record).
        type: dict
      outcome:
        description: How the run ended (V(ok), V(failed) ...), for O(state=absent).
        type: str
      best_effort:
        description: With O(state=absent), a journal that cannot record the end only says so in RV(journal.error)
          instead of failing (the end of a failed run must not hide its failure).
        type: bool
        default: false
      recovered_token:
        description: With O(state=absent), the token of a killed run this run finished; its record is
          finished with outcome V(recovered).
        type: str
notes:
  - Supports check mode; nothing is written then.
attributes:
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Take the lock for a restore
  appops.runbooks.app_lock:
    path: /srv/coffee-tracker/.appops/lock.json
    app: coffee-tracker
    procedure: restore
    controller: "{{ lookup('appops.runbooks.controller_process') }}"
  register: lock

- name: Release it
  appops.runbooks.app_lock:
    path: /srv/coffee-tracker/.appops/lock.json
    app: coffee-tracker
    state: absent
    token: "{{ lock.token }}"

- name: Take the lock of a Heroku app in the shared state database (from the controller)
  appops.runbooks.app_lock:
    backend: postgres
    dsn: "{{ lookup('ansible.builtin.env', 'APPOPS_STATE_DSN') }}"
    app: micmap-api
    procedure: restore
  delegate_to: localhost

- name: Take the lock and start the run's journal record in the same module run
  appops.runbooks.app_lock:
    path: /srv/coffee-tracker/.appops/lock.json
    app: coffee-tracker
    procedure: restore
    journal:
      details: {backup_id: latest}
  register: lock

- name: Say what a killed run before this one had done
  ansible.builtin.debug:
    msg: "run {{ lock.journal.unfinished.token }} stopped at {{ lock.journal.unfinished.step }}"
  when: lock.journal.unfinished is not none

- name: Finish the run's record and release the lock
  appops.runbooks.app_lock:
    path: /srv/coffee-tracker/.appops/lock.json
    app: coffee-tracker
    state: absent
    token: "{{ lock.token }}"
    journal:
      outcome: ok
"""

RETURN = r"""
token:
  description: Token of the run holding the lock (to release it later).
  returned: state=present
  type: str
lock:
  description: The lock now in place (acquire) or the one removed (release).
  returned: always
  type: dict
  sample: {"app": "coffee-tracker", "holder": "ops@host", "procedure": "restore", "since": "2025-01-01T00:00:00Z",
           "lease": 7200, "token": "0f3c", "controller": {"host": "awx-1", "pid": 41, "start": 8812, "boot_id": "9a1"}}
reentrant:
  description: Whether the lock was already held with this token.
  returned: state=present
  type: bool
taken_over_from:
  description: The lock of a gone or expired holder that was replaced, with its token; null otherwise.
  returned: state=present
  type: dict
taken_over_reason:
  description: Why that lock could be taken over (its controller process is gone, its lease expired).
  returned: state=present
  type: str
stale_taken_over:
  description: The same as RV(taken_over_from) (the name of earlier versions).
  returned: state=present
  type: dict
held_by_other:
  description: On release, a lock held by another run that was left in place.
  returned: state=absent
  type: dict
journal:
  description: With O(journal), the run's journal records this module run wrote or read.
  returned: when O(journal) is given
  type: dict
  contains:
    run:
      description: The run's journal record after its start (acquire) or end (release); null in check mode.
      type: dict
      returned: success
    unfinished:
      description: On acquire, the newest unfinished run of the app before this one (a killed run); null when none.
      type: dict
      returned: state=present
    recovered:
      description: On release, the record of the killed run finished as recovered (O(journal.recovered_token)).
      type: dict
      returned: state=absent
    error:
      description: On release with O(journal.best_effort), why the end could not be recorded.
      type: str
      returned: state=absent and the end could not be recorded
  sample: {"run": {"token": "0f3c", "app": "coffee-tracker", "procedure": "restore", "step": "locked"},
           "unfinished": null}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._state import exit_with_backend
from ansible_collections.appops.runbooks.plugins.module_utils._state._lock_run import (LOCK_ARGUMENT_SPEC,
                                                                                       LOCK_REQUIRED_IF,
                                                                                       lock_subject, run_lock)


def main() -> None:
    module = AnsibleModule(argument_spec=LOCK_ARGUMENT_SPEC, required_if=LOCK_REQUIRED_IF, supports_check_mode=True)
    exit_with_backend(module, lock_subject(module.params),
                      lambda backend: run_lock(module.params, module.check_mode, backend, module.warn),
                      lock_path=module.params["path"])


if __name__ == "__main__":
    main()
