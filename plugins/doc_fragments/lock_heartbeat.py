# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of HEARTBEAT_ARGUMENT_SPEC in plugins/module_utils/_lock.py: keep them in step.
    DOCUMENTATION = r"""
options:
  lock_path:
    description:
      - The app's lock file (M(appops.runbooks.app_lock)) held by this run, for O(lock_backend=local). With O(lock_token) the
        module marks the lock alive when its long step (a dump, a restore, a wait) starts and every
        O(lock_heartbeat) seconds while it runs, so a step longer than the lock's C(max_age) does
        not leave a lock that another run would take over as stale. Nothing is written in check mode.
    type: path
  lock_token:
    description: Token of the lock this run holds; another run's lock is never touched.
    type: str
  lock_heartbeat:
    description: Seconds between two marks of the lock alive.
    type: int
    default: 60
  lock_backend:
    description:
      - The state backend holding the lock (see M(appops.runbooks.app_lock)). With V(postgres) the
        heartbeat marks the lock row in the O(lock_dsn) database alive and O(lock_path) is not used.
    type: str
    choices: [local, postgres]
    default: local
  lock_dsn:
    description:
      - Connection string of the state database, for O(lock_backend=postgres).
      - If not set, the value of the E(APPOPS_STATE_DSN) environment variable is used. Never shown.
    type: str
"""
