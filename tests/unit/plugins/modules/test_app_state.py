# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.appops.runbooks.plugins.modules import app_lock, app_run_journal, app_state
from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module


@pytest.fixture(params=["local", "postgres"])
def where(request, tmp_path):
    if request.param == "local":
        return {"backend": "local", "state_dir": str(tmp_path / "state")}
    return {"backend": "postgres", "dsn": request.getfixturevalue("state_dsn")}


def test_app_state_check_then_apply_then_idempotent(where):
    args = dict(where, app="micmap-api", key="deploy_history", state="present", value=[{"release": "v3"}])
    checked = run_module(app_state, args, check_mode=True)
    assert checked["changed"] is True and checked["diff"]["after"] == {"deploy_history": [{"release": "v3"}]}
    assert run_module(app_state, dict(where, app="micmap-api", key="deploy_history"))["existed"] is False
    applied = run_module(app_state, args)
    assert applied["changed"] is True and applied["diff"]["before"] == {"deploy_history": None}
    assert run_module(app_state, args)["changed"] is False
    read = run_module(app_state, dict(where, app="micmap-api", key="deploy_history"))
    assert read == dict(read, changed=False, existed=True, value=[{"release": "v3"}])
    assert run_module(app_state, dict(where, app="micmap-api", key="deploy_history", state="absent"),
                      check_mode=True)["changed"] is True
    assert run_module(app_state, dict(where, app="micmap-api", key="deploy_history", state="absent"))["changed"] is True
    assert run_module(app_state, dict(where, app="micmap-api", key="deploy_history", state="absent"))["changed"] is False


def test_app_run_journal_start_step_finish_read(where):
    base = dict(where, app="micmap-api", token="run1")
    started = run_module(app_run_journal, dict(base, action="start", procedure="restore",
                                               maintenance_before={"enabled": False}))
    assert started["changed"] is True and started["run"]["procedure"] == "restore"
    assert run_module(app_run_journal, dict(base, action="start", procedure="restore"))["changed"] is False
    checked = run_module(app_run_journal, dict(base, action="step", step="safety_backup", safety_backup="b007"),
                         check_mode=True)
    assert checked["changed"] is True and checked["run"]["safety_backup"] == "b007"
    assert run_module(app_run_journal, dict(base, action="read"))["run"]["safety_backup"] is None
    run_module(app_run_journal, dict(base, action="step", step="safety_backup", safety_backup="b007"))
    assert run_module(app_run_journal, dict(base, action="step", step="safety_backup"))["changed"] is False
    latest = run_module(app_run_journal, dict(where, app="micmap-api", action="read"))["run"]
    assert (latest["token"], latest["step"], latest["maintenance_before"]) == ("run1", "safety_backup", {"enabled": False})
    finished = run_module(app_run_journal, dict(base, action="finish", outcome="ok"))
    assert finished["changed"] is True and finished["run"]["finished_at"]
    assert run_module(app_run_journal, dict(where, app="micmap-api", action="read"))["run"] is None
    missing = run_module(app_run_journal, dict(where, app="micmap-api", token="nope", action="step", step="x"))
    assert missing["failed"] is True and "no journal record" in missing["msg"]


def test_app_lock_refuses_a_live_holder_and_takes_over_a_killed_one(where, killed_controller):
    me = _lock.process_identity(os.getpid())
    taken = run_module(app_lock, dict(where, app="micmap-api", procedure="restore", holder="alice@a", controller=me))
    assert taken["changed"] is True and taken["lock"]["controller"] == me
    refused = run_module(app_lock, dict(where, app="micmap-api", procedure="backup", holder="bob@b"))
    assert refused["failed"] is True and "alice@a" in refused["msg"] and "procedure restore" in refused["msg"]
    assert "refusing to run backup" in refused["msg"]
    run_module(app_lock, dict(where, app="micmap-api", state="absent", token=taken["token"]))
    gone = run_module(app_lock, dict(where, app="micmap-api", procedure="restore", holder="alice@a",
                                     controller=killed_controller()))
    again = run_module(app_lock, dict(where, app="micmap-api", procedure="restore", holder="bob@b"))
    assert again["changed"] is True and again["taken_over_from"]["token"] == gone["token"]
    assert "is gone" in again["taken_over_reason"] and "stale lock" in json.dumps(again["warnings"])


def test_the_dsn_never_shows(state_dsn):
    result = run_module(app_state, {"backend": "postgres", "dsn": state_dsn, "app": "a", "key": "k",
                                    "state": "present", "value": {"x": 1}})
    assert result["changed"] is True and state_dsn not in json.dumps(result)
    failed = run_module(app_state, {"backend": "postgres", "dsn": "postgresql://u:pw-x@127.0.0.1:1/d", "app": "a",
                                    "key": "k"})
    assert failed["failed"] is True and "pw-x" not in json.dumps(failed)
