# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""app_health on the controller: the module's logic without starting the module.

The API platforms' apps (Heroku, Vercel) run their tasks on the controller (connection local)
and their health URLs are public, so a health gate polls from the worker (see ControllerAction).
A compose app's gate goes to its host, where the URL (often localhost) is reached: the module runs.
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._app_health import APP_HEALTH_ARGUMENT_SPEC, check_health
from ansible_collections.appops.runbooks.plugins.plugin_utils._controller_action import ControllerAction


class ActionModule(ControllerAction):
    module_name = "appops.runbooks.app_health"
    argument_spec = APP_HEALTH_ARGUMENT_SPEC
    # A journal step of the local state backend writes the state folder.
    touches_files = True

    def work(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        return check_health(params, self.check_mode)
