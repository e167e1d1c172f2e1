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
      - The app's lock file (M(appops.runbooks.app_lock)) held by this run. With O(lock_token) the
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
"""
