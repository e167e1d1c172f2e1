# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backup_catalog_info on the controller: the module's logic without starting the module.

The apps whose tasks run on the controller (the API platforms', connection local) keep their
backups there; a restore resolves and verifies its backup in the worker (see ControllerAction).
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._backup_info import (CATALOG_INFO_ARGUMENT_SPEC,
                                                                                   catalog_info)
from ansible_collections.appops.runbooks.plugins.plugin_utils._controller_action import ControllerAction


class ActionModule(ControllerAction):
    module_name = "appops.runbooks.backup_catalog_info"
    argument_spec = CATALOG_INFO_ARGUMENT_SPEC
    touches_files = True

    def work(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        return catalog_info(params)
