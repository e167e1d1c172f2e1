# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of the controller-side action plugins of the API-only *_fleet modules (private).

An API-only fleet module talks to an HTTP API and nothing on its host, so on a local connection
its logic can run in the controller's worker process: the collection's module_utils import as
ordinary, byte-compiled packages, with no AnsiballZ payload to build and no Python to start and
compile it in. The module stays the documented interface and runs as a module whenever the task
goes to a host that is not local (delegate_to a remote host, a non-local connection).

What a module gets from AnsibleModule is done here the same way: the arguments are validated
against the module's own spec (module_defaults are already merged into the task's arguments),
the task's ``environment:`` feeds the options' environment fallbacks as it would the module's
process, check mode and diff come from the task, and no_log values never leave the plugin.
"""

from __future__ import annotations

import os
import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import env_fallback, remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.appops.runbooks.plugins.module_utils._fleet import FleetOutcome, FleetRunner
from ansible_collections.appops.runbooks.plugins.module_utils._http import HAS_REQUESTS, ApiError

LOCAL_TRANSPORTS = frozenset({"local", "ansible.builtin.local"})


def with_environment_fallbacks(args: t.Mapping[str, t.Any], spec: t.Mapping[str, dict[str, t.Any]],
                               environment: t.Mapping[str, str]) -> dict[str, t.Any]:
    """``args`` plus the options the task's environment sets through an env_fallback.

    The validator reads the fallbacks from the controller's own environment; the task's
    ``environment:`` (which a module's process would have inherited) is applied first.
    """
    filled = dict(args)
    for name, option in spec.items():
        fallback = option.get("fallback")
        if filled.get(name) is not None or not fallback or fallback[0] is not env_fallback:
            continue
        for variable in fallback[1]:
            if variable in environment:
                filled[name] = environment[variable]
                break
    return filled


class FleetAction(ActionBase):
    """Runs a fleet module's logic on the controller; subclasses name the module and give its logic."""

    #: The module this action stands for (and runs on a non-local host).
    module_name: t.ClassVar[str]
    #: The module's whole argument spec, from the module_utils the module takes it from.
    argument_spec: t.ClassVar[dict[str, dict[str, t.Any]]]
    #: What a failure message calls the fleet, e.g. "Heroku apps".
    subject_label: t.ClassVar[str]

    TRANSFERS_FILES = False

    def make_client(self, params: t.Mapping[str, t.Any]) -> t.Any:
        raise NotImplementedError

    def converge(self, fleet: FleetRunner) -> FleetOutcome:
        raise NotImplementedError

    def runs_on_controller(self) -> bool:
        return getattr(self._connection, "transport", None) in LOCAL_TRANSPORTS and HAS_REQUESTS

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        if not self.runs_on_controller():
            return super().run(tmp, task_vars) | self._execute_module(
                module_name=self.module_name, module_args=self._task.args, task_vars=task_vars)
        result = super().run(tmp, task_vars)
        params, no_log_values, error = self.validated_params()
        if error:
            return self.scrubbed(result | {"failed": True, "msg": error}, no_log_values)
        return self.scrubbed(result | self.converged(params), no_log_values)

    def validated_params(self) -> tuple[dict[str, t.Any], set[str], str | None]:
        environment: dict[str, t.Any] = {}
        self._compute_environment_string(environment)
        args = with_environment_fallbacks(self._task.args, self.argument_spec, os.environ | environment)
        validation = ArgumentSpecValidator(self.argument_spec).validate(args)
        error = "; ".join(str(message) for message in validation.error_messages) or None
        return validation.validated_parameters, set(validation._no_log_values), error

    def converged(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        fleet = FleetRunner(params, None, check_mode=bool(self._task.check_mode))
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

    @staticmethod
    def scrubbed(result: dict[str, t.Any], no_log_values: set[str]) -> dict[str, t.Any]:
        """The result with every no_log value (the API key) masked, as AnsibleModule masks a module's."""
        return remove_values(result, no_log_values) if no_log_values else result
