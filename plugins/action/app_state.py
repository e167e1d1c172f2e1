# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""app_state on the controller: the module's logic without starting the module (see StateAction)."""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._state import StateBackend
from ansible_collections.appops.runbooks.plugins.module_utils._state._documents import (DOCUMENT_ARGUMENT_SPEC,
                                                                                        DOCUMENT_REQUIRED_IF,
                                                                                        document_subject, ensure)
from ansible_collections.appops.runbooks.plugins.plugin_utils._state_action import StateAction


class ActionModule(StateAction):
    module_name = "appops.runbooks.app_state"
    argument_spec = DOCUMENT_ARGUMENT_SPEC
    required_if = DOCUMENT_REQUIRED_IF

    def subject(self, params: t.Mapping[str, t.Any]) -> str:
        return document_subject(params)

    def on_backend(self, params: dict[str, t.Any], backend: StateBackend) -> dict[str, t.Any]:
        return ensure(params, self.check_mode, backend)
