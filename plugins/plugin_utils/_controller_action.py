# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of the action plugins that run a module's logic in the controller's worker (private).

A module whose work is an API call or a query of a database the controller reaches (the fleet
modules, the shared state's lock and run journal) needs nothing of its host when the task runs on
a local connection, so its logic can run in the worker process: the collection's module_utils
import as ordinary, byte-compiled packages, with no AnsiballZ payload to build and no Python to
start and compile it in (0.5-1 s a task on a loaded controller). The module stays the documented
interface and runs as a module whenever the task goes to a host that is not local.

What a module gets from AnsibleModule is done here the same way: the arguments are validated
against the module's own spec (module_defaults are already merged into the task's arguments),
the task's ``environment:`` feeds the options' environment fallbacks as it would the module's
process, check mode and diff come from the task, and no_log values never leave the plugin.
"""

from __future__ import annotations

import os
import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.appops.runbooks.plugins.module_utils._worker import with_environment_fallbacks

LOCAL_TRANSPORTS = frozenset({"local", "ansible.builtin.local"})


class ControllerAction(ActionBase):
    """Runs a module's logic on the controller; subclasses name the module and give its logic (work)."""

    #: The module this action stands for (and runs on a non-local host).
    module_name: t.ClassVar[str]
    #: The module's whole argument spec, from the module_utils the module takes it from.
    argument_spec: t.ClassVar[dict[str, dict[str, t.Any]]]
    #: The module's required_if rules, as AnsibleModule takes them.
    required_if: t.ClassVar[t.Sequence[t.Sequence[t.Any]]] = ()
    #: Whether the logic reads or writes files of the host: with become they are another user's,
    #: so the module runs (as that user) instead.
    touches_files: t.ClassVar[bool] = False

    TRANSFERS_FILES = False

    def work(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        """The module's result for validated params (failed and msg set on a failure)."""
        raise NotImplementedError

    def can_run_here(self) -> bool:
        """Whether the controller's Python has what the logic needs (else the module runs)."""
        return True

    def runs_on_controller(self) -> bool:
        if getattr(self._connection, "transport", None) not in LOCAL_TRANSPORTS:
            return False
        return not (self.touches_files and self._play_context.become) and self.can_run_here()

    @property
    def check_mode(self) -> bool:
        return bool(self._task.check_mode)

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        if not self.runs_on_controller():
            return super().run(tmp, task_vars) | self._execute_module(
                module_name=self.module_name, module_args=self._task.args, task_vars=task_vars)
        result = super().run(tmp, task_vars)
        params, no_log_values, error = self.validated_params()
        if error:
            return self.scrubbed(result | {"failed": True, "msg": error}, no_log_values)
        return self.scrubbed(result | self.work(params), no_log_values)

    def validated_params(self) -> tuple[dict[str, t.Any], set[str], str | None]:
        environment: dict[str, t.Any] = {}
        self._compute_environment_string(environment)
        args = with_environment_fallbacks(self._task.args, self.argument_spec, os.environ | environment)
        validator = ArgumentSpecValidator(self.argument_spec, required_if=list(self.required_if) or None)
        validation = validator.validate(args)
        error = "; ".join(str(message) for message in validation.error_messages) or None
        return validation.validated_parameters, set(validation._no_log_values), error

    @staticmethod
    def with_warnings(run: t.Callable[[t.Callable[[str], None]], dict[str, t.Any]]) -> dict[str, t.Any]:
        """The result of ``run(warn)``, with what it warned shown as a module's warnings would be."""
        warnings: list[str] = []
        result = run(warnings.append)
        return result | {"warnings": warnings} if warnings else result

    @staticmethod
    def scrubbed(result: dict[str, t.Any], no_log_values: set[str]) -> dict[str, t.Any]:
        """The result with every no_log value (an API key, a DSN) masked, as AnsibleModule masks a module's."""
        return remove_values(result, no_log_values) if no_log_values else result
