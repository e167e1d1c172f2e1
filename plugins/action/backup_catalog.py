# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backup_catalog on the controller: the module's logic without starting the module.

The apps whose tasks run on the controller (the API platforms', connection local) keep their
backups there: opening a backup and writing its manifest run in the worker (see ControllerAction).
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._backup_catalog import CATALOG_ARGUMENT_SPEC, run_catalog
from ansible_collections.appops.runbooks.plugins.plugin_utils._controller_action import ControllerAction


class ActionModule(ControllerAction):
    module_name = "appops.runbooks.backup_catalog"
    argument_spec = CATALOG_ARGUMENT_SPEC
    touches_files = True

    def work(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        # The module's warnings (a retention that failed) are the action's.
        return self.with_warnings(lambda warn: run_catalog(params, self.check_mode, warn))
