# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module base (ApiModule, through HerokuModule) as modules use it, against real HTTP servers."""

from __future__ import annotations

import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._module import RETRY_ARGUMENT_SPEC, masked_values, merged_spec
from ansible_collections.appops.runbooks.plugins.modules import heroku_app, heroku_config_vars, heroku_formation
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests


def test_merged_spec_lets_a_module_tune_a_shared_option():
    spec = merged_spec({"api_key": {"type": "str", "no_log": True}}, RETRY_ARGUMENT_SPEC,
                       {"retry_max_wait": {"default": 30.0}, "app": {"type": "str"}})
    assert (spec["retry_max_wait"]["type"], spec["retry_max_wait"]["default"]) == ("float", 30.0)
    assert spec["retry_max_wait"]["fallback"][1] == ["APPOPS_API_RETRY_MAX_WAIT"]
    assert (spec["retries"]["type"], spec["retries"]["default"]) == ("int", 6)
    assert list(spec) == ["api_key", "retries", "retry_max_wait", "app"]


def test_masked_values_show_keys_and_which_changed_never_values():
    before = {"A": "1", "B": "secret"}
    after = {"A": "1", "B": "other", "C": "new"}
    assert masked_values(before) == {"A": "********", "B": "********"}
    assert masked_values(after, before) == {"A": "********", "B": "******** (changed)", "C": "******** (changed)"}
    assert masked_values(None) is None


def test_check_mode_sends_no_write_and_predicts_the_state(heroku):
    app = heroku.add_app("a")
    result = run_module(heroku_app, {"app": "a", "maintenance": True}, check_mode=True, diff=True)
    assert result["changed"] is True and result["app"]["maintenance"] is True
    assert result["diff"] == {"before": {"maintenance": False}, "after": {"maintenance": True}}
    assert app.maintenance is False and heroku.writes() == []


def test_diff_of_secret_values_shows_keys_only(heroku):
    heroku.add_app("a")
    result = run_module(heroku_config_vars, {"app": "a", "config": {"SECRET_KEY_BASE": "n3w-s3cr3t"}}, diff=True)
    assert result["diff"]["after"]["SECRET_KEY_BASE"] == "******** (changed)"
    assert "n3w-s3cr3t" not in str(result) and "s3cr3t-value" not in str(result)


def test_api_error_is_one_failure_naming_app_operation_and_request_id(heroku):
    heroku.add_app("a")
    result = run_module(heroku_formation, {"app": "a", "formation": [{"type": "web", "quantity": 2}]},
                        check_mode=False)
    assert result["changed"] is True  # the happy path first: the same call works
    missing = run_module(heroku_app, {"app": "nope", "maintenance": True})
    assert missing["failed"] is True
    assert missing["msg"].startswith("Heroku app 'nope': reading the app failed: GET /apps/nope returned HTTP 404")
    assert missing["api_error"]["request_id"].startswith("req-")
    assert f"(request id {missing['api_error']['request_id']})" in missing["msg"]


def test_plain_http_api_url_is_refused_before_any_request(heroku, monkeypatch):
    monkeypatch.setenv("HEROKU_API_URL", "http://api.heroku.example")
    result = run_module(heroku_app, {"app": "a", "maintenance": True})
    assert result["failed"] is True and "use https://" in result["msg"]
    assert result["msg"].startswith("Heroku app 'a': setting up the API client failed")
    assert heroku.log == []


class HtmlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: t.Any) -> None:
        pass

    def do_GET(self) -> None:
        payload = b"<html><body>Sign in to the proxy</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def html_server() -> t.Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HtmlHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_2xx_page_that_is_not_json_is_a_clear_failure(heroku, html_server, monkeypatch):
    monkeypatch.setenv("HEROKU_API_URL", html_server)
    result = run_module(heroku_app, {"app": "a"})
    assert result["failed"] is True
    assert result["msg"].startswith("Heroku app 'a': reading the app failed: GET /apps/a returned HTTP 200:"
                                    " the answer is not JSON (content type text/html; charset=utf-8")
    assert "Traceback" not in result["msg"]


def unavailable_for(heroku, method: str, path: str, seconds: float) -> None:
    """Matching requests answer 503 for ``seconds`` from now, as an API outage does."""
    original = heroku.handle
    until = time.monotonic() + seconds

    def handle(verb, where, query, headers, body):
        if verb == method and where == path and time.monotonic() < until:
            with heroku.lock:
                heroku.log.append({"method": verb, "path": where, "query": query, "headers": headers, "body": body})
            raise heroku_fake.ApiFailure(503, "unavailable", "The API is down for maintenance.")
        return original(verb, where, query, headers, body)

    heroku.handle = handle


def test_an_outage_shorter_than_retry_max_wait_is_outlasted(heroku):
    app = heroku.add_app("a")
    unavailable_for(heroku, "PATCH", "/apps/a", 1.5)
    result = run_module(heroku_app, {"app": "a", "maintenance": True, "retries": 1, "retry_max_wait": 3})
    assert result.get("failed") is not True, result
    assert result["changed"] is True and app.maintenance is True
    # More attempts than retries: the window kept them going until the outage was over.
    assert len(heroku.requests("PATCH", "/apps/a")) > 2


def test_an_outage_longer_than_the_retries_fails_with_the_server_error(heroku):
    app = heroku.add_app("a")
    unavailable_for(heroku, "PATCH", "/apps/a", 10)
    result = run_module(heroku_app, {"app": "a", "maintenance": True, "retries": 1, "retry_max_wait": 0})
    assert result["failed"] is True and result["api_error"]["status"] == 503
    assert "turning maintenance on failed" in result["msg"]
    assert len(heroku.requests("PATCH", "/apps/a")) == 2 and app.maintenance is False


def test_retry_options_come_from_the_environment_when_not_set(heroku, monkeypatch):
    app = heroku.add_app("a")
    unavailable_for(heroku, "PATCH", "/apps/a", 10)
    monkeypatch.setenv("APPOPS_API_RETRIES", "2")
    monkeypatch.setenv("APPOPS_API_RETRY_MAX_WAIT", "0")
    result = run_module(heroku_app, {"app": "a", "maintenance": True})
    assert result["failed"] is True and len(heroku.requests("PATCH", "/apps/a")) == 3 and app.maintenance is False
