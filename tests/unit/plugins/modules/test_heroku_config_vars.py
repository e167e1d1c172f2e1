# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

from ansible_collections.appops.runbooks.plugins.modules import heroku_config_vars
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests


def test_set_check_apply_idempotent_and_values_never_shown(heroku):
    app = heroku.add_app("micmap-api")
    args = {"app": "micmap-api", "config": {"SHEET_ID": "sheet-value-991", "NODE_ENV": "production"}}

    checked = run_module(heroku_config_vars, args, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert checked["changed_keys"] == ["SHEET_ID"] and checked["removed_keys"] == []
    assert checked["diff"]["after"]["SHEET_ID"] == "******** (changed)"
    assert checked["diff"]["after"]["NODE_ENV"] == "********"
    assert "SHEET_ID" not in checked["diff"]["before"]
    assert "SHEET_ID" not in app.config and heroku.writes() == []

    applied = run_module(heroku_config_vars, args, diff=True)
    assert applied["changed"] is True
    assert app.config["SHEET_ID"] == "sheet-value-991"
    assert [r["body"] for r in heroku.requests("PATCH")] == [{"SHEET_ID": "sheet-value-991"}]
    assert "SHEET_ID" in applied["keys"]
    for result in (checked, applied):
        text = json.dumps(result)
        assert "sheet-value-991" not in text and "s3cr3t-value" not in text

    assert run_module(heroku_config_vars, args, check_mode=True)["changed"] is False
    assert run_module(heroku_config_vars, args)["changed"] is False
    assert len(heroku.requests("PATCH")) == 1


def test_absent_keys_and_purge(heroku):
    app = heroku.add_app("micmap-api")
    removed = run_module(heroku_config_vars, {"app": "micmap-api", "absent_keys": ["NODE_ENV", "NOT_THERE"]})
    assert removed["changed"] is True and removed["removed_keys"] == ["NODE_ENV"]
    assert "NODE_ENV" not in app.config
    assert heroku.requests("PATCH")[-1]["body"] == {"NODE_ENV": None}
    assert run_module(heroku_config_vars, {"app": "micmap-api", "absent_keys": ["NODE_ENV"]})["changed"] is False

    purged = run_module(heroku_config_vars, {"app": "micmap-api", "config": {"ONLY": "1"}, "purge": True})
    assert purged["removed_keys"] == ["DATABASE_URL", "SECRET_KEY_BASE"] and purged["changed_keys"] == ["ONLY"]
    assert app.config == {"ONLY": "1"}


def test_values_are_compared_as_strings(heroku):
    app = heroku.add_app("micmap-api")
    app.config["CACHE_TTL_SECONDS"] = "300"
    result = run_module(heroku_config_vars, {"app": "micmap-api", "config": {"CACHE_TTL_SECONDS": 300}})
    assert result["changed"] is False


def test_null_values_and_overlaps_are_rejected(heroku):
    heroku.add_app("micmap-api")
    nulls = run_module(heroku_config_vars, {"app": "micmap-api", "config": {"A": None}})
    assert nulls["failed"] and "absent_keys" in nulls["msg"]
    both = run_module(heroku_config_vars, {"app": "micmap-api", "config": {"A": "1"}, "absent_keys": ["A"]})
    assert both["failed"] and "both in config and absent_keys: A" in both["msg"]
    assert heroku.log == []
