# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs a module's main() in-process with real arguments and returns its JSON result."""

from __future__ import annotations

import contextlib
import io
import json
import typing as t

import pytest
from ansible.module_utils import _internal as module_internals
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args


def run_module(module: t.Any, args: dict[str, t.Any], check_mode: bool = False) -> dict[str, t.Any]:
    arguments = dict(args)
    arguments["_ansible_check_mode"] = check_mode
    stdout = io.StringIO()
    # Warnings are kept process-wide and folded together by text: an earlier in-process run's
    # warning would hide this run's identical one.
    module_warnings._global_warnings.clear()
    module_warnings._global_deprecations.clear()
    with patch_module_args(arguments), contextlib.redirect_stdout(stdout), _as_a_module():
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(stdout.getvalue())


@contextlib.contextmanager
def _as_a_module() -> t.Iterator[None]:
    # Once a test imports controller code (a lookup plugin), Ansible flags the process as the
    # controller and sends module warnings to the display instead of the module's result.
    was_controller = module_internals.is_controller
    module_internals.is_controller = False
    try:
        yield
    finally:
        module_internals.is_controller = was_controller
