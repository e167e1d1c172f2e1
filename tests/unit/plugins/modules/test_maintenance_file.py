# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json
import os
import stat

from ansible_collections.appops.runbooks.plugins.modules import maintenance_file
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module


def test_on_then_on_again_keeps_the_first_message(tmp_path):
    path = tmp_path / "maintenance.json"
    first = run_module(maintenance_file, {"path": str(path), "enabled": True, "notice": "back at 4", "by": "restore"})
    assert first["changed"] is True and first["before"] is False and first["enabled"] is True
    content = json.loads(path.read_text(encoding="utf-8"))
    assert content["enabled"] is True and content["message"] == "back at 4" and content["by"] == "restore"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    again = run_module(maintenance_file, {"path": str(path), "enabled": True, "notice": "other"})
    assert again["changed"] is False and again["before"] is True
    assert json.loads(path.read_text(encoding="utf-8"))["message"] == "back at 4"
    assert [p.name for p in tmp_path.iterdir()] == ["maintenance.json"]


def test_off_removes_the_file_and_reports_it_was_on(tmp_path):
    path = tmp_path / "maintenance.json"
    path.write_text('{"enabled": true}\n', encoding="utf-8")
    off = run_module(maintenance_file, {"path": str(path), "enabled": False})
    assert off["changed"] is True and off["before"] is True and not path.exists()
    again = run_module(maintenance_file, {"path": str(path), "enabled": False})
    assert again["changed"] is False and again["before"] is False


def test_check_mode_and_diff_touch_nothing(tmp_path):
    path = tmp_path / "maintenance.json"
    arguments = {"path": str(path), "enabled": True, "_ansible_diff": True}
    result = run_module(maintenance_file, arguments, check_mode=True)
    assert result["changed"] is True and not path.exists()
    assert result["diff"] == {"before": {"maintenance": False}, "after": {"maintenance": True}}


def test_an_unwritable_place_fails_clearly(tmp_path):
    result = run_module(maintenance_file, {"path": str(tmp_path / "missing-dir" / "m.json"), "enabled": True})
    assert result["failed"] is True and "switching maintenance on" in result["msg"]
