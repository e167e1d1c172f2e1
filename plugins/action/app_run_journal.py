# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""app_run_journal on the controller: the module's logic without starting the module.

A restore writes the journal nine times; with the postgres backend each write is delegated to
localhost, where starting the module cost more than the write itself (see ControllerAction).
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._state import result_with_backend
from ansible_collections.appops.runbooks.plugins.module_utils._state._postgres import psycopg2
from ansible_collections.appops.runbooks.plugins.module_utils._state._journal import (JOURNAL_ARGUMENT_SPEC,
                                                                                      JOURNAL_REQUIRED_IF,
                                                                                      journal_subject, record_run)
from ansible_collections.appops.runbooks.plugins.plugin_utils._controller_action import ControllerAction


class ActionModule(ControllerAction):
    module_name = "appops.runbooks.app_run_journal"
    argument_spec = JOURNAL_ARGUMENT_SPEC
    required_if = JOURNAL_REQUIRED_IF

    def can_run_here(self) -> bool:
        # Without psycopg2 in the controller's Python the module runs (and says what is missing).
        return psycopg2 is not None

    def work(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        return result_with_backend(params, journal_subject(params),
                                   lambda backend: record_run(params, self.check_mode, backend))
