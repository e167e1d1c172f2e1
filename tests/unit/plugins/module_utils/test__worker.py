# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An API module's main() run in the worker (module_utils/_worker.py): what AnsibleModule would do."""
from __future__ import annotations

import typing as t

import pytest
from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.testing import patch_module_args

from ansible_collections.appops.runbooks.plugins.module_utils._worker import (ModuleExit, WorkerRun, new_module,
                                                                              worker_run)

SPEC: dict[str, dict[str, t.Any]] = {
    "app": {"type": "str", "required": True, "aliases": ["name"]},
    "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["TEST_API_KEY"])},
    "replicas": {"type": "int"},
    "tier": {"type": "str"},
}


def ended(run: WorkerRun, body: t.Callable[[t.Any], None] | None = None, **kwargs: t.Any) -> dict[str, t.Any]:
    with worker_run(run), pytest.raises(ModuleExit) as exit_info:
        module = new_module(SPEC, supports_check_mode=True, **kwargs)
        (body or (lambda m: m.exit_json(changed=True, params=m.params, key=m.params["api_key"])))(module)
    return exit_info.value.result


def test_outside_a_worker_run_it_is_ansible_module():
    with patch_module_args({"app": "a"}):
        module = new_module(SPEC)
    assert isinstance(module, AnsibleModule) and module.params["app"] == "a"


def test_arguments_are_validated_and_converted_and_the_task_environment_feeds_the_fallbacks(monkeypatch):
    # The action puts the task's environment into the worker's before the module runs.
    monkeypatch.setenv("TEST_API_KEY", "k-123456")
    result = ended(WorkerRun("appops.runbooks.x", {"name": "micmap", "replicas": "3"}))
    assert result["changed"] is True
    assert result["params"]["app"] == "micmap" and result["params"]["replicas"] == 3
    # The key came from the environment and is masked wherever it appears in the result.
    assert result["key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" and "k-123456" not in repr(result)
    assert result["invocation"]["module_args"]["api_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_the_first_error_is_reported_as_ansible_module_reports_it():
    missing = ended(WorkerRun("appops.runbooks.x", {"replicas": "many"}))
    assert missing["failed"] is True and missing["msg"] == "missing required arguments: app"
    unknown = ended(WorkerRun("appops.runbooks.x", {"app": "a", "bogus": 1}))
    assert unknown["msg"].startswith("Unsupported parameters for (appops.runbooks.x) module: bogus.")
    rules = ended(WorkerRun("appops.runbooks.x", {"app": "a", "replicas": 1, "tier": "M10"}),
                  mutually_exclusive=[["replicas", "tier"]])
    assert rules["failed"] is True and "mutually exclusive" in rules["msg"]


def test_check_mode_diff_no_log_and_warnings_come_from_the_task():
    def body(module: t.Any) -> None:
        module.warn("careful")
        module.fail_json(msg="stopped", check=module.check_mode, diff=module._diff, no_log=module.no_log)

    result = ended(WorkerRun("appops.runbooks.x", {"app": "a"}, check_mode=True, diff=True, no_log=True), body)
    assert result == {"failed": True, "msg": "stopped", "check": True, "diff": True, "no_log": True,
                      "changed": False, "warnings": ["careful"],
                      "invocation": {"module_args": {"app": "a", "api_key": None, "replicas": None, "tier": None}}}


def test_a_module_without_check_mode_is_skipped_in_check_mode():
    with worker_run(WorkerRun("appops.runbooks.x", {"app": "a"}, check_mode=True)), \
            pytest.raises(ModuleExit) as exit_info:
        new_module(SPEC, supports_check_mode=False)
    assert exit_info.value.result["skipped"] is True and exit_info.value.code == 0
