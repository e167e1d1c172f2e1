# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of the controller-side action plugins of the API-only *_fleet modules (private).

An API-only fleet module talks to an HTTP API and nothing on its host, so on a local connection
its logic runs in the controller's worker process (ControllerAction, _controller_action.py).
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._fleet import FleetOutcome, FleetRunner
from ansible_collections.appops.runbooks.plugins.module_utils._http import HAS_REQUESTS, ApiError
from ansible_collections.appops.runbooks.plugins.plugin_utils._controller_action import ControllerAction


class FleetAction(ControllerAction):
    """Runs a fleet module's logic on the controller; subclasses name the module and give its logic."""

    #: What a failure message calls the fleet, e.g. "Heroku apps".
    subject_label: t.ClassVar[str]

    def make_client(self, params: t.Mapping[str, t.Any]) -> t.Any:
        raise NotImplementedError

    def converge(self, fleet: FleetRunner) -> FleetOutcome:
        raise NotImplementedError

    def can_run_here(self) -> bool:
        return HAS_REQUESTS

    def work(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        fleet = FleetRunner(params, None, check_mode=self.check_mode)
        try:
            fleet.client = self.make_client(params)
            outcome = self.converge(fleet)
        except ApiError as error:
            return {"failed": True, "changed": False, "api_error": error.to_dict(),
                    "msg": f"{self.subject_label}: {fleet.operation} failed: {error}"}
        finally:
            close = getattr(fleet.client, "close", None)
            if close is not None:
                close()
        converged: dict[str, t.Any] = dict(outcome.result, changed=outcome.changed)
        if self._task.diff and outcome.changed:
            converged["diff"] = {"before": outcome.before, "after": outcome.after}
        if outcome.failure:
            converged.update(failed=True, msg=outcome.failure)
        return converged
