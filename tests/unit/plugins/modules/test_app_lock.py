# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

from ansible_collections.appops.runbooks.plugins.modules import app_lock
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module


def test_acquire_release_cycle(tmp_path):
    path = str(tmp_path / "state" / "lock.json")
    taken = run_module(app_lock, {"path": path, "app": "coffee-tracker", "procedure": "restore", "holder": "ops@h"})
    assert taken["changed"] is True and len(taken["token"]) == 32
    again = run_module(app_lock, {"path": path, "app": "coffee-tracker", "token": taken["token"]})
    assert again["changed"] is False and again["reentrant"] is True
    other = run_module(app_lock, {"path": path, "app": "coffee-tracker", "procedure": "deploy", "holder": "bob@h"})
    assert other["failed"] is True
    assert "ops@h" in other["msg"] and "since" in other["msg"] and "refusing to run deploy" in other["msg"]
    released = run_module(app_lock, {"path": path, "app": "coffee-tracker", "state": "absent", "token": taken["token"]})
    assert released["changed"] is True
    assert not (tmp_path / "state" / "lock.json").exists()


def test_stale_lock_warns_and_takes_over(tmp_path):
    path = tmp_path / "lock.json"
    path.write_text(json.dumps({"holder": "gone@h", "procedure": "restore", "since": "2000-01-01T00:00:00Z", "token": "x"}),
                    encoding="utf-8")
    result = run_module(app_lock, {"path": str(path), "app": "app", "procedure": "restore", "max_age": 60})
    assert result["changed"] is True
    assert result["stale_taken_over"]["holder"] == "gone@h"
    assert "Took over a stale lock" in json.dumps(result["warnings"])


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "lock.json"
    result = run_module(app_lock, {"path": str(path), "app": "app"}, check_mode=True)
    assert result["changed"] is True and not path.exists()
