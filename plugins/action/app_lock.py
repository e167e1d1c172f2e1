# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""app_lock on the controller: the module's logic without starting the module.

Every procedure takes and releases the lock; with the postgres backend both are delegated to
localhost, where starting the module cost more than the statement itself (see ControllerAction).
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._state import result_with_backend
from ansible_collections.appops.runbooks.plugins.module_utils._state._lock_run import (LOCK_ARGUMENT_SPEC,
                                                                                       LOCK_REQUIRED_IF,
                                                                                       lock_subject, run_lock)
from ansible_collections.appops.runbooks.plugins.module_utils._state._postgres import psycopg2
from ansible_collections.appops.runbooks.plugins.plugin_utils._controller_action import ControllerAction


class ActionModule(ControllerAction):
    module_name = "appops.runbooks.app_lock"
    argument_spec = LOCK_ARGUMENT_SPEC
    required_if = LOCK_REQUIRED_IF

    def can_run_here(self) -> bool:
        # Without psycopg2 in the controller's Python the module runs (and says what is missing).
        return psycopg2 is not None

    def work(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        warnings: list[str] = []
        result = result_with_backend(params, lock_subject(params),
                                     lambda backend: run_lock(params, self.check_mode, backend, warnings.append),
                                     lock_path=params["path"])
        return result | {"warnings": warnings} if warnings else result
