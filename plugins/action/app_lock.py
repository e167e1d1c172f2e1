# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""app_lock on the controller: the module's logic without starting the module (see StateAction)."""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._state import StateBackend
from ansible_collections.appops.runbooks.plugins.module_utils._state._lock_run import (LOCK_ARGUMENT_SPEC,
                                                                                       LOCK_REQUIRED_IF,
                                                                                       lock_subject, run_lock)
from ansible_collections.appops.runbooks.plugins.plugin_utils._state_action import StateAction


class ActionModule(StateAction):
    module_name = "appops.runbooks.app_lock"
    argument_spec = LOCK_ARGUMENT_SPEC
    required_if = LOCK_REQUIRED_IF

    def subject(self, params: t.Mapping[str, t.Any]) -> str:
        return lock_subject(params)

    def lock_path(self, params: t.Mapping[str, t.Any]) -> str | None:
        return params["path"]

    def on_backend(self, params: dict[str, t.Any], backend: StateBackend) -> dict[str, t.Any]:
        warnings: list[str] = []
        result = run_lock(params, self.check_mode, backend, warnings.append)
        return result | {"warnings": warnings} if warnings else result
