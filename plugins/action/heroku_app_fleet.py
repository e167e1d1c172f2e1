# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""heroku_app_fleet on the controller: the module's logic without starting the module (see FleetAction)."""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._fleet import FleetOutcome, FleetRunner
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.fleet import (
    ARGUMENT_SPEC,
    SUBJECT_LABEL,
    converge_maintenance,
    pooled_client,
)
from ansible_collections.appops.runbooks.plugins.plugin_utils._fleet_action import FleetAction


class ActionModule(FleetAction):
    module_name = "appops.runbooks.heroku_app_fleet"
    argument_spec = ARGUMENT_SPEC
    subject_label = SUBJECT_LABEL

    def make_client(self, params: t.Mapping[str, t.Any]) -> t.Any:
        return pooled_client(params)

    def converge(self, fleet: FleetRunner) -> FleetOutcome:
        return converge_maintenance(fleet)
