# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""app_state on the controller: the module's logic without starting the module (see StateAction)."""

from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.module_utils._state import _documents as module_logic
from ansible_collections.appops.runbooks.plugins.plugin_utils._state_action import StateAction


class ActionModule(StateAction):
    module_name = "appops.runbooks.app_state"
    argument_spec = module_logic.DOCUMENT_ARGUMENT_SPEC
    required_if = module_logic.DOCUMENT_REQUIRED_IF
    subject = staticmethod(module_logic.document_subject)
    logic = staticmethod(module_logic.ensure)
