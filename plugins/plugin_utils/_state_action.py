# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of the action plugins of the shared-state modules (app_lock, app_run_journal, app_state).

With the postgres backend their tasks are delegated to localhost, and every procedure runs a
dozen of them (lock, journal steps, documents): in the controller's worker each is one statement
on a new connection instead of a module to build and start (see ControllerAction).
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._state import StateBackend, result_with_backend
from ansible_collections.appops.runbooks.plugins.module_utils._state._postgres import psycopg2
from ansible_collections.appops.runbooks.plugins.plugin_utils._controller_action import ControllerAction


class StateAction(ControllerAction):
    """A state module's logic on the controller; subclasses name the module, its subject and its logic."""

    #: What a failure message names, e.g. "lock of micmap-api", from the params.
    subject: t.ClassVar[t.Callable[[t.Mapping[str, t.Any]], str]]
    #: The module's logic: (params, check_mode, backend) -> its result.
    logic: t.ClassVar[t.Callable[[dict[str, t.Any], bool, StateBackend], dict[str, t.Any]]]

    # The local backend's state directory and lock file.
    touches_files = True

    def can_run_here(self) -> bool:
        # Without psycopg2 in the controller's Python the module runs (and says what is missing).
        return psycopg2 is not None

    def on_backend(self, params: dict[str, t.Any], backend: StateBackend) -> dict[str, t.Any]:
        return type(self).logic(params, self.check_mode, backend)

    def lock_path(self, params: t.Mapping[str, t.Any]) -> str | None:
        return None

    def work(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        return result_with_backend(params, type(self).subject(params),
                                   lambda backend: self.on_backend(params, backend), lock_path=self.lock_path(params))
