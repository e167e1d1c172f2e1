# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""app_health against a real HTTP server on loopback whose answers the test scripts."""
from __future__ import annotations

import http.server
import json
import socket
import threading
import typing as t

import pytest

from ansible_collections.appops.runbooks.plugins.modules import app_health
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module

HEALTHY = (200, {"status": "alive", "database": {"status": "healthy"}, "redis": {"status": "healthy"}})
REDIS_DOWN = (200, {"status": "alive", "database": {"status": "healthy"}, "redis": {"status": "unhealthy"}})
DATABASE_DOWN = (503, {"status": "alive", "database": {"status": "unhealthy"}, "redis": {"status": "healthy"}})


class ScriptedHealth:
    """Answers /health with the next scripted (status, body); the last one repeats."""

    def __init__(self, answers: list[tuple[int, t.Any]]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, str]] = []
        script = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                script.requests.append(dict(self.headers))
                status, body = script.answers.pop(0) if len(script.answers) > 1 else script.answers[0]
                payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: t.Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "ScriptedHealth":
        self.thread.start()
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_healthy_at_once_is_one_request():
    with ScriptedHealth([HEALTHY]) as server:
        result = run_module(app_health, {"url": server.url, "name": "coffee-tracker"})
    assert result["changed"] is False and "failed" not in result
    assert result["status"] == "healthy" and result["reasons"] == [] and result["http_status"] == 200
    assert result["body"]["database"] == {"status": "healthy"} and result["attempts"] == 1
    assert server.requests[0]["Accept"] == "application/json"


def test_polls_until_the_app_is_back():
    with ScriptedHealth([DATABASE_DOWN, DATABASE_DOWN, HEALTHY]) as server:
        result = run_module(app_health, {"url": server.url, "timeout": 10, "delay": 0.05})
    assert result["status"] == "healthy" and result["attempts"] == 3 and len(server.requests) == 3


def test_degraded_passes_by_default_and_fails_when_only_healthy_is_accepted():
    with ScriptedHealth([REDIS_DOWN]) as server:
        passed = run_module(app_health, {"url": server.url, "timeout": 0})
        failed = run_module(app_health, {"url": server.url, "name": "micmap-api", "accept": ["healthy"],
                                         "timeout": 1.5, "delay": 0.05})
    assert passed["status"] == "degraded" and passed["reasons"] == ["redis is unhealthy"] and "failed" not in passed
    assert failed["failed"] is True and failed["status"] == "degraded" and failed["attempts"] >= 2
    assert failed["msg"].startswith("micmap-api is degraded after 1.5 s (redis is unhealthy); last answer: HTTP 200")


def test_an_unhealthy_app_fails_with_the_last_answer():
    with ScriptedHealth([DATABASE_DOWN]) as server:
        result = run_module(app_health, {"url": server.url, "name": "coffee-tracker", "timeout": 0})
    assert result["failed"] is True and result["status"] == "unhealthy" and result["http_status"] == 503
    assert "coffee-tracker is unhealthy" in result["msg"] and "database is unhealthy" in result["msg"]
    assert '"database": {"status": "unhealthy"}' in result["msg"]


def test_nothing_listening_is_unhealthy_with_the_error():
    with ScriptedHealth([HEALTHY]) as server:
        url = server.url
    result = run_module(app_health, {"url": url, "timeout": 0})
    assert result["failed"] is True and result["http_status"] == -1 and result["status"] == "unhealthy"
    assert "refused" in str(result["body"]).lower()


def test_a_server_that_hangs_up_is_unhealthy():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def hang_up() -> None:
        connection, _address = listener.accept()
        connection.recv(1024)
        connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        result = run_module(app_health, {"url": f"http://127.0.0.1:{listener.getsockname()[1]}/health", "timeout": 0})
    finally:
        listener.close()
    assert result["failed"] is True and result["http_status"] == -1 and result["status"] == "unhealthy"
    assert result["body"]


def test_a_text_body_is_kept_as_text():
    with ScriptedHealth([(200, "OK")]) as server:
        result = run_module(app_health, {"url": server.url, "timeout": 0})
    assert result["status"] == "healthy" and result["body"] == "OK"


def test_check_mode_still_asks():
    with ScriptedHealth([HEALTHY]) as server:
        result = run_module(app_health, {"url": server.url}, check_mode=True)
    assert result["status"] == "healthy" and len(server.requests) == 1


@pytest.mark.parametrize("args", [{"delay": 0}, {"delay": -1}])
def test_a_delay_that_would_spin_is_refused(args):
    result = run_module(app_health, {"url": "http://127.0.0.1:9/health", **args})
    assert result["failed"] is True and "delay" in result["msg"]


def test_also_urls_are_asked_once_each_in_the_same_run():
    with ScriptedHealth([HEALTHY]) as first, ScriptedHealth([DATABASE_DOWN]) as second:
        result = run_module(app_health, {"url": first.url, "also_urls": [second.url], "timeout": 10, "delay": 0.05})
        asked = (len(first.requests), len(second.requests))
    # Only the first URL decides whether the module fails; the answers are judged together later.
    assert "failed" not in result and result["status"] == "healthy"
    assert asked == (1, 1)
    assert [(answer["url"], answer["status"], answer["http_status"]) for answer in result["answers"]] == [
        (first.url, "healthy", 200), (second.url, "unhealthy", 503)]
