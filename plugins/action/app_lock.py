# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""app_lock on the controller: the module's logic without starting the module (see StateAction)."""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._state import StateBackend
from ansible_collections.appops.runbooks.plugins.module_utils._state import _lock_run as module_logic
from ansible_collections.appops.runbooks.plugins.plugin_utils._state_action import StateAction


class ActionModule(StateAction):
    module_name = "appops.runbooks.app_lock"
    argument_spec = module_logic.LOCK_ARGUMENT_SPEC
    required_if = module_logic.LOCK_REQUIRED_IF
    subject = staticmethod(module_logic.lock_subject)

    def lock_path(self, params: t.Mapping[str, t.Any]) -> str | None:
        return params["path"]

    def on_backend(self, params: dict[str, t.Any], backend: StateBackend) -> dict[str, t.Any]:
        # The module's warning (a stale lock taken over) is the action's.
        return self.with_warnings(lambda warn: module_logic.run_lock(params, self.check_mode, backend, warn))
