# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.modules import heroku_config_vars_info
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests


def test_keys_always_values_only_when_asked_under_no_log(heroku):
    heroku.add_app("micmap-api").config = {"REDIS_URL": "redis://h:pw@cache.invalid:6379", "NODE_ENV": "production"}

    listed = run_module(heroku_config_vars_info, {"app": "micmap-api"})
    assert listed["changed"] is False and listed["keys"] == ["NODE_ENV", "REDIS_URL"] and listed["values"] == {}

    refused = run_module(heroku_config_vars_info, {"app": "micmap-api", "reveal": ["REDIS_URL"]})
    assert refused["failed"] and "no_log" in refused["msg"] and "redis://" not in str(refused)

    revealed = run_module(heroku_config_vars_info, {"app": "micmap-api", "reveal": ["REDIS_URL"],
                                                    "_ansible_no_log": True})
    assert revealed["values"] == {"REDIS_URL": "redis://h:pw@cache.invalid:6379"}

    missing = run_module(heroku_config_vars_info, {"app": "micmap-api", "reveal": ["DATABASE_URL"],
                                                   "_ansible_no_log": True})
    assert missing["failed"] and "has no config var DATABASE_URL" in missing["msg"]
    assert heroku.writes() == []
