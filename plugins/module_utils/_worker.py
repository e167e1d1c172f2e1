# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A module run in the controller's worker process instead of a module process (private).

The API modules (Heroku, Vercel, Atlas, Supabase) only talk HTTP from wherever they run, and
their tasks run on the controller (connection local). Their action plugin
(``plugins/action/api_worker.py``) imports the module and calls its ``main()`` inside
:func:`worker_run`; the module's :class:`~._module.ApiModule` then gets a :class:`WorkerModule`
from :func:`new_module` instead of an ``AnsibleModule``. It does for the module what
``AnsibleModule`` would: the arguments validated against the module's spec (its environment
fallbacks read from the task's ``environment:``), check mode and diff from the task, no_log values
masked in the result, and the result handed back by ``exit_json``/``fail_json``. Everywhere else
(another connection, or no worker run) :func:`new_module` is ``AnsibleModule``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.common.parameters import env_fallback, remove_values

# The rules AnsibleModule takes beside the spec, which the validator checks the same way.
RULES = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


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


@dataclasses.dataclass(frozen=True)
class WorkerRun:
    """What the task gives the module: its name, arguments, check mode, diff and no_log.

    The task's ``environment:`` is in the worker's own environment (the action puts it there), where
    the validator reads the options' env fallbacks as a module's process would."""
    module_name: str
    args: t.Mapping[str, t.Any]
    check_mode: bool = False
    diff: bool = False
    no_log: bool = False


class ModuleExit(SystemExit):
    """exit_json/fail_json of a module run in the worker: the run ends, as sys.exit ends a module."""

    def __init__(self, result: dict[str, t.Any]) -> None:
        super().__init__(1 if result.get("failed") else 0)
        self.result = result


class WorkerModule:
    """The part of AnsibleModule the collection's API modules use, for a run in the worker."""

    def __init__(self, run: WorkerRun, argument_spec: dict[str, dict[str, t.Any]],
                 supports_check_mode: bool = False, **rules: t.Any) -> None:
        self.check_mode = run.check_mode
        self._diff = run.diff
        self.no_log = run.no_log
        self._warnings: list[str] = []
        validator = ArgumentSpecValidator(argument_spec, **{name: rules[name] for name in RULES if rules.get(name)})
        validation = validator.validate(dict(run.args))
        self.no_log_values: set[str] = set(validation._no_log_values)
        self.params: dict[str, t.Any] = validation.validated_parameters
        if validation.error_messages:
            # AnsibleModule's message: the first error, an unknown option named as such.
            first = validation.errors[0]
            message = validation.errors.msg
            self.fail_json(msg=f"Unsupported parameters for ({run.module_name}) module: {message}"
                           if isinstance(first, UnsupportedError) else message)
        if run.check_mode and not supports_check_mode:
            raise ModuleExit({"skipped": True, "changed": False, "msg": "this module does not support check mode"})

    def warn(self, warning: str) -> None:
        self._warnings.append(warning)

    def exit_json(self, **result: t.Any) -> t.NoReturn:
        raise ModuleExit(self._finished(result))

    def fail_json(self, msg: str, **result: t.Any) -> t.NoReturn:
        raise ModuleExit(self._finished({**result, "failed": True, "msg": msg}))

    def _finished(self, result: dict[str, t.Any]) -> dict[str, t.Any]:
        result.setdefault("changed", False)
        # As AnsibleModule returns it (-vvv shows it); no_log values are masked below.
        result.setdefault("invocation", {"module_args": self.params})
        if self._warnings:
            result["warnings"] = [*result.get("warnings", []), *self._warnings]
        return remove_values(result, self.no_log_values) if self.no_log_values else result


_current_run: WorkerRun | None = None


@contextlib.contextmanager
def worker_run(run: WorkerRun) -> t.Iterator[None]:
    """Modules started inside get a WorkerModule for ``run``."""
    # One module run at a time in a worker process, which ends with its task.
    global _current_run  # pylint: disable=global-statement
    _current_run = run
    try:
        yield
    finally:
        _current_run = None


def new_module(argument_spec: dict[str, dict[str, t.Any]], **kwargs: t.Any) -> AnsibleModule | WorkerModule:
    """An AnsibleModule, or inside :func:`worker_run` the WorkerModule that stands for it."""
    if _current_run is None:
        return AnsibleModule(argument_spec=argument_spec, **kwargs)
    return WorkerModule(_current_run, argument_spec, **kwargs)
