# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.modules import heroku_app, heroku_app_info
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import TOKEN, run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests


def test_maintenance_check_apply_then_idempotent(heroku):
    app = heroku.add_app("micmap-api")

    checked = run_module(heroku_app, {"app": "micmap-api", "maintenance": True}, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert checked["app"]["maintenance"] is True
    assert checked["diff"] == {"before": {"maintenance": False}, "after": {"maintenance": True}}
    assert app.maintenance is False and heroku.writes() == []

    applied = run_module(heroku_app, {"app": "micmap-api", "maintenance": True})
    assert applied["changed"] is True and applied["app"]["maintenance"] is True
    assert app.maintenance is True
    patch = heroku.requests("PATCH", "/apps/micmap-api")
    assert [r["body"] for r in patch] == [{"maintenance": True}]
    assert patch[0]["headers"]["accept"] == "application/vnd.heroku+json; version=3"
    assert patch[0]["headers"]["authorization"] == f"Bearer {TOKEN}"

    again_check = run_module(heroku_app, {"app": "micmap-api", "maintenance": True}, check_mode=True)
    again = run_module(heroku_app, {"name": "micmap-api", "maintenance": True})
    assert again_check["changed"] is False and again["changed"] is False
    assert len(heroku.requests("PATCH")) == 1


def test_maintenance_omitted_leaves_app_alone(heroku):
    heroku.add_app("micmap-api").maintenance = True
    result = run_module(heroku_app, {"app": "micmap-api"})
    assert result["changed"] is False and result["app"]["maintenance"] is True
    assert heroku.writes() == []


def test_unknown_app_fails_naming_app_operation_and_request_id(heroku):
    result = run_module(heroku_app, {"app": "nope", "maintenance": False})
    assert result["failed"] is True
    assert result["msg"].startswith("Heroku app 'nope': reading the app failed: GET /apps/nope returned HTTP 404")
    assert "Couldn't find that app." in result["msg"]
    assert "(request id req-" in result["msg"]
    assert result["api_error"]["error_id"] == "not_found"


def test_bad_token_is_an_auth_error_without_the_token(heroku, monkeypatch):
    heroku.add_app("micmap-api")
    result = run_module(heroku_app, {"app": "micmap-api", "api_key": "wrong-token-123"})
    assert result["failed"] is True and result["api_error"]["status"] == 401
    assert "wrong-token-123" not in str(result)


def test_missing_token_fails_before_any_request(heroku, monkeypatch):
    monkeypatch.delenv("HEROKU_API_KEY")
    result = run_module(heroku_app, {"app": "micmap-api"})
    assert result["failed"] is True and "api_key" in result["msg"]
    assert heroku.log == []


def test_info_reads_app_and_requested_extras(heroku):
    heroku.add_app("micmap-api", releases=4)
    result = run_module(heroku_app_info, {"app": "micmap-api",
                                          "include": ["formation", "dynos", "current_release", "rate_limit"]},
                        check_mode=True)
    assert result["changed"] is False
    assert result["app"]["name"] == "micmap-api"
    assert {e["type"] for e in result["formation"]} == {"web", "worker"}
    assert [d["name"] for d in result["dynos"]] == ["web.1"]
    assert result["current_release"]["version"] == 4
    assert result["rate_limit_remaining"] == 4321
    assert heroku.writes() == []


def test_info_plain_reads_only_the_app(heroku):
    heroku.add_app("micmap-api")
    result = run_module(heroku_app_info, {"app": "micmap-api"})
    assert set(result) >= {"app"} and "formation" not in result
    assert [r["path"] for r in heroku.log] == ["/apps/micmap-api"]
