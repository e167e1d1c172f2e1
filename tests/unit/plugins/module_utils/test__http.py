# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP core against a real HTTP server on 127.0.0.1 (no mocked requests).

Each test scripts the server's answers per (method, path); the server records what it
received, so the tests assert on real requests: headers, bodies, retries, connections.
"""

from __future__ import annotations

import email.utils
import json
import socket
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _http
from ansible_collections.appops.runbooks.plugins.module_utils._http import (
    ApiClient,
    ApiConnectionError,
    ApiError,
    AuthError,
    Conflict,
    NotFound,
    RangePagination,
    RateLimited,
    RetryPolicy,
    ServerError,
    InsecureUrl,
    UnexpectedResponse,
    WaitTimeout,
    create_or_attach,
    parse_error_body,
    wait_for,
)

TOKEN = "hrku-SECRET-token-0123456789"


class Scripted(t.NamedTuple):
    status: int = 200
    body: t.Any = None
    headers: dict[str, str] = {}
    delay: float = 0.0


class ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse can be observed

    def log_message(self, format: str, *args: t.Any) -> None:  # keep test output quiet
        pass

    def _handle(self) -> None:
        server: ScriptedServer = self.server  # type: ignore[assignment]
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        server.log.append({
            "method": self.command,
            "path": split.path,
            "query": parse_qs(split.query),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": _body(raw_body),
            "client_port": self.client_address[1],
        })
        answers = server.routes.get((self.command, split.path))
        if not answers:
            answer = Scripted(404, {"id": "not_found", "message": "no route in test server"})
        else:
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer.delay:
            time.sleep(answer.delay)
        body = answer.body
        if callable(body):
            body = body(self)
        if isinstance(body, (bytes, str)):
            payload = body.encode() if isinstance(body, str) else body
            content_type = "text/plain"
        elif body is None:
            payload, content_type = b"", "application/json"
        else:
            payload, content_type = json.dumps(body).encode(), "application/json"
        self.send_response(answer.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


def _body(raw: bytes) -> t.Any:
    """A JSON body decoded; any other (a form) as text."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode()


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.routes: dict[tuple[str, str], list[Scripted]] = {}
        self.log: list[dict[str, t.Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def script(self, method: str, path: str, *answers: Scripted) -> None:
        self.routes[(method, path)] = list(answers)

    def requests_to(self, method: str, path: str) -> list[dict[str, t.Any]]:
        return [r for r in self.log if r["method"] == method and r["path"] == path]


@pytest.fixture
def server() -> t.Iterator[ScriptedServer]:
    srv = ScriptedServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


class SleepRecorder:
    """A sleep that only records, and the clock it moves: the policy's time budget sees the sleeps."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.now = 1000.0

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


def make_client(server: ScriptedServer, sleeps: SleepRecorder, **policy: t.Any) -> ApiClient:
    retry = RetryPolicy(sleep=sleeps, clock=sleeps.clock, random=lambda: 0.5, **policy)
    return ApiClient(
        server.url,
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.heroku+json; version=3"},
        secrets=[TOKEN],
        read_timeout=2.0,
        retry=retry,
    )


# --------------------------------------------------------------------------- success path

def test_get_returns_json_and_sends_headers_over_one_kept_alive_connection(server, sleeps):
    server.script("GET", "/apps/demo", Scripted(200, {"name": "demo"}, {"Request-Id": "req-1"}))
    client = make_client(server, sleeps)

    first = client.request("GET", "/apps/demo")
    second = client.get("apps/demo")

    assert first.data == {"name": "demo"} and first.status == 200 and first.request_id == "req-1"
    assert second == {"name": "demo"}
    sent = server.requests_to("GET", "/apps/demo")
    assert sent[0]["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert sent[0]["headers"]["accept"] == "application/vnd.heroku+json; version=3"
    assert sent[0]["headers"]["user-agent"] == _http.USER_AGENT
    assert sent[0]["client_port"] == sent[1]["client_port"], "the session must reuse its connection"
    assert sleeps.calls == []


def test_json_body_params_and_empty_response(server, sleeps):
    server.script("PATCH", "/apps/demo", Scripted(202, None))
    client = make_client(server, sleeps)

    assert client.patch("/apps/demo", json_body={"maintenance": True}, params={"a": "1"}) is None
    sent = server.requests_to("PATCH", "/apps/demo")[0]
    assert sent["body"] == {"maintenance": True}
    assert sent["query"] == {"a": ["1"]}


def test_put_and_delete_verbs(server, sleeps):
    server.script("PUT", "/x", Scripted(200, {"put": True}))
    server.script("DELETE", "/x", Scripted(200, {"deleted": True}))
    client = make_client(server, sleeps)
    assert client.put("/x", json_body={}) == {"put": True}
    assert client.delete("/x") == {"deleted": True}


def test_absolute_url_is_used_as_is(server, sleeps):
    server.script("GET", "/elsewhere", Scripted(200, [1, 2]))
    client = ApiClient("http://127.0.0.1:9/unused", retry=RetryPolicy(sleep=sleeps))
    assert client.get(f"{server.url}/elsewhere") == [1, 2]


# --------------------------------------------------------------------------- typed errors

@pytest.mark.parametrize("status, cls", [
    (404, NotFound), (409, Conflict), (401, AuthError), (403, AuthError), (422, ApiError),
])
def test_client_errors_are_typed_and_carry_details(server, sleeps, status, cls):
    server.script("GET", "/apps/demo", Scripted(
        status, {"id": "some_error", "message": "It went wrong."}, {"Request-Id": "rid-42"},
    ))
    client = make_client(server, sleeps)

    with pytest.raises(cls) as caught:
        client.get("/apps/demo", params={"sig": "signed-secret"})

    err = caught.value
    assert err.__class__ is cls
    assert (err.status, err.error_id, err.request_id) == (status, "some_error", "rid-42")
    assert (err.method, err.path) == ("GET", "/apps/demo")
    assert str(err) == f"GET /apps/demo returned HTTP {status} [some_error]: It went wrong. (request id rid-42)"
    assert "signed-secret" not in str(err)
    assert err.to_dict()["request_id"] == "rid-42"
    assert len(server.log) == 1, "client errors are never retried"
    assert client.history[-1].status == status and client.history[-1].attempts == 1


def test_x_request_id_header_and_plain_text_error_body(server, sleeps):
    server.script("GET", "/t", Scripted(400, "bad things happened\n", {"X-Request-Id": "x-9"}))
    client = make_client(server, sleeps)
    with pytest.raises(ApiError) as caught:
        client.get("/t")
    assert caught.value.request_id == "x-9"
    assert caught.value.message == "bad things happened"
    assert caught.value.error_id is None


def test_error_without_body_uses_reason(server, sleeps):
    server.script("GET", "/t", Scripted(410, None))
    client = make_client(server, sleeps)
    with pytest.raises(ApiError) as caught:
        client.get("/t")
    assert caught.value.message == "Gone"
    assert str(caught.value) == "GET /t returned HTTP 410: Gone"


def test_text_success_body_is_returned_as_text_when_json_is_not_expected(server, sleeps):
    server.script("GET", "/t", Scripted(200, "plain"))
    assert make_client(server, sleeps).get("/t", expect_json=False) == "plain"


def test_success_body_that_is_not_json_is_a_clear_error(server, sleeps):
    server.script("GET", "/apps/demo", Scripted(200, "<html>proxy login</html>", {"Request-Id": "r-html"}))
    client = make_client(server, sleeps)
    with pytest.raises(UnexpectedResponse) as caught:
        client.get("/apps/demo")
    text = str(caught.value)
    assert text.startswith("GET /apps/demo returned HTTP 200: the answer is not JSON (content type text/plain")
    assert caught.value.request_id == "r-html" and "(request id r-html)" in text
    # An answer is not retried: repeating it would get the same page.
    assert len(server.requests_to("GET", "/apps/demo")) == 1 and sleeps.calls == []


@pytest.mark.parametrize("body, expected", [
    ({"id": "rate_limit", "message": "Too many"}, ("rate_limit", "Too many")),
    ({"error": {"code": "forbidden", "message": "Nope"}}, ("forbidden", "Nope")),
    ({"errorCode": "RATE_LIMITED", "detail": "Slow down"}, ("RATE_LIMITED", "Slow down")),
    ({"error": "plain words"}, (None, "plain words")),
    ({"code": 7}, ("7", None)),
    (["not", "a", "dict"], (None, None)),
    ("text", (None, None)),
])
def test_parse_error_body_knows_each_api_shape(body, expected):
    assert parse_error_body(body) == expected


# --------------------------------------------------------------------------- retries

def test_server_error_on_get_is_retried_with_capped_jittered_backoff(server, sleeps):
    server.script("GET", "/r", Scripted(503, {"id": "unavailable", "message": "down"}),
                  Scripted(500, None), Scripted(502, None), Scripted(200, {"ok": True}))
    client = make_client(server, sleeps, base_delay=1.0, max_delay=3.0)

    assert client.get("/r") == {"ok": True}
    # equal jitter with random()=0.5: 3/4 of each capped exponential step (1, 2, 3 capped).
    assert sleeps.calls == [0.75, 1.5, 2.25]
    assert len(server.requests_to("GET", "/r")) == 4
    assert client.history[-1].attempts == 4


def test_backoff_bounds_follow_random():
    policy = RetryPolicy(base_delay=2.0, max_delay=5.0, random=lambda: 0.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 2.5, 2.5]
    policy.random = lambda: 1.0
    assert [policy.backoff(n) for n in (1, 2, 3)] == [2.0, 4.0, 5.0]


def test_server_errors_exhaust_retries_then_raise(server, sleeps):
    server.script("GET", "/r", Scripted(500, {"id": "boom", "message": "kaput"}, {"Request-Id": "r5"}))
    client = make_client(server, sleeps, max_attempts=3)
    with pytest.raises(ServerError) as caught:
        client.get("/r")
    assert caught.value.request_id == "r5"
    assert len(server.requests_to("GET", "/r")) == 3
    assert len(sleeps.calls) == 2


def test_post_is_not_retried_on_server_error(server, sleeps):
    server.script("POST", "/apps/demo/releases", Scripted(500, None), Scripted(201, {"id": "new"}))
    client = make_client(server, sleeps)
    with pytest.raises(ServerError):
        client.post("/apps/demo/releases", json_body={"release": "r"})
    assert len(server.requests_to("POST", "/apps/demo/releases")) == 1
    assert sleeps.calls == []


def test_post_declared_idempotent_is_retried(server, sleeps):
    server.script("POST", "/actions/resolve", Scripted(502, None), Scripted(200, [{"id": "a"}]))
    client = make_client(server, sleeps)
    assert client.post("/actions/resolve", json_body={}, idempotent=True) == [{"id": "a"}]
    assert len(server.requests_to("POST", "/actions/resolve")) == 2


def test_patch_needs_a_declaration_to_be_retried(server, sleeps):
    server.script("PATCH", "/p", Scripted(503, None), Scripted(200, {"done": 1}))
    client = make_client(server, sleeps)
    with pytest.raises(ServerError):
        client.patch("/p", json_body={})
    assert client.patch("/p", json_body={}, idempotent=True) == {"done": 1}
    assert len(server.requests_to("PATCH", "/p")) == 2


def test_get_declared_not_idempotent_is_not_retried(server, sleeps):
    server.script("GET", "/once", Scripted(500, None), Scripted(200, {}))
    with pytest.raises(ServerError):
        make_client(server, sleeps).get("/once", idempotent=False)
    assert len(server.log) == 1


# --------------------------------------------------------------------------- 429 and rate limits

def test_429_is_retried_for_post_honouring_retry_after_seconds(server, sleeps):
    server.script("POST", "/apps/demo/dynos",
                  Scripted(429, {"id": "rate_limit", "message": "slow"}, {"Retry-After": "2"}),
                  Scripted(201, {"name": "run.1"}))
    client = make_client(server, sleeps)
    assert client.post("/apps/demo/dynos", json_body={"command": "true"}) == {"name": "run.1"}
    assert sleeps.calls == [2.0]
    assert len(server.requests_to("POST", "/apps/demo/dynos")) == 2


def test_429_with_http_date_retry_after(server, sleeps):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    server.script("GET", "/d", Scripted(429, None, {"Retry-After": when}), Scripted(200, {}))
    make_client(server, sleeps).get("/d")
    assert len(sleeps.calls) == 1 and 25 <= sleeps.calls[0] <= 30


def test_429_without_retry_after_backs_off(server, sleeps):
    server.script("GET", "/d", Scripted(429, None), Scripted(200, {}))
    make_client(server, sleeps, base_delay=4.0).get("/d")
    assert sleeps.calls == [3.0]


def test_429_with_unparseable_retry_after_backs_off(server, sleeps):
    server.script("GET", "/d", Scripted(429, None, {"Retry-After": "soon-ish"}), Scripted(200, {}))
    make_client(server, sleeps, base_delay=4.0).get("/d")
    assert sleeps.calls == [3.0]


def test_429_with_too_long_retry_after_raises_at_once(server, sleeps):
    server.script("GET", "/d", Scripted(429, {"id": "rate_limit", "message": "later"}, {"Retry-After": "600"}))
    with pytest.raises(RateLimited) as caught:
        make_client(server, sleeps).get("/d")
    assert caught.value.retry_after == 600.0
    assert caught.value.error_id == "rate_limit"
    assert sleeps.calls == []


def test_429_exhausted_raises_rate_limited(server, sleeps):
    server.script("DELETE", "/d", Scripted(429, None, {"Retry-After": "1"}))
    with pytest.raises(RateLimited):
        make_client(server, sleeps, max_attempts=2).delete("/d")
    assert sleeps.calls == [1.0]
    assert len(server.log) == 2


@pytest.mark.parametrize("header", ["RateLimit-Remaining", "X-RateLimit-Remaining"])
def test_low_remaining_budget_slows_down_before_the_next_request(server, sleeps, header):
    server.script("GET", "/a", Scripted(200, {}, {header: "3"}), Scripted(200, {}, {header: "500"}))
    client = make_client(server, sleeps, low_remaining_threshold=10, low_remaining_delay=0.7)

    client.get("/a")
    assert sleeps.calls == [] and client.rate_limit_remaining == 3
    client.get("/a")  # budget was low: pause first
    assert sleeps.calls == [0.7] and client.rate_limit_remaining == 500
    client.get("/a")  # budget recovered: no pause
    assert sleeps.calls == [0.7]


def test_unreadable_remaining_header_is_ignored(server, sleeps):
    server.script("GET", "/a", Scripted(200, {}, {"RateLimit-Remaining": "lots", "X-RateLimit-Remaining": "1"}))
    client = make_client(server, sleeps)
    client.get("/a")
    assert client.rate_limit_remaining == 1


# --------------------------------------------------------------------------- connection problems

def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_retried_for_get_then_raised(sleeps):
    client = ApiClient(f"http://127.0.0.1:{unused_port()}", secrets=[TOKEN],
                       headers={"Authorization": f"Bearer {TOKEN}"},
                       retry=RetryPolicy(max_attempts=3, sleep=sleeps, random=lambda: 0.0))
    with pytest.raises(ApiConnectionError) as caught:
        client.get("/apps/demo")
    assert len(sleeps.calls) == 2
    assert caught.value.path == "/apps/demo" and "connection failed" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert client.history[-1].status is None and client.history[-1].attempts == 3


def test_connection_refused_on_post_is_not_retried(sleeps):
    client = ApiClient(f"http://127.0.0.1:{unused_port()}", retry=RetryPolicy(sleep=sleeps))
    with pytest.raises(ApiConnectionError):
        client.post("/apps/demo/builds", json_body={})
    assert sleeps.calls == []


def test_read_timeout_becomes_connection_error(server, sleeps):
    server.script("GET", "/slow", Scripted(200, {}, delay=1.5))
    client = ApiClient(server.url, read_timeout=0.3, retry=RetryPolicy(max_attempts=1, sleep=sleeps))
    with pytest.raises(ApiConnectionError) as caught:
        client.get("/slow")
    assert "Timeout" in str(caught.value)


# --------------------------------------------------------------------------- pagination

def test_range_pagination_follows_next_range_on_206(server, sleeps):
    pages = iter([
        Scripted(206, [{"version": 5}, {"version": 4}], {"Next-Range": "]4..; max=2, order=desc"}),
        Scripted(206, [{"version": 3}, {"version": 2}], {"Next-Range": "]2..; max=2, order=desc"}),
        Scripted(200, [{"version": 1}]),
    ])
    server.script("GET", "/apps/demo/releases", *pages)
    client = make_client(server, sleeps)

    items = client.paginate("/apps/demo/releases", RangePagination("version", 2, "desc"))

    assert [i["version"] for i in items] == [5, 4, 3, 2, 1]
    ranges = [r["headers"]["range"] for r in server.requests_to("GET", "/apps/demo/releases")]
    assert ranges == ["version ..; max=2, order=desc", "]4..; max=2, order=desc", "]2..; max=2, order=desc"]


def test_pagination_limit_stops_early(server, sleeps):
    server.script("GET", "/l", Scripted(206, [1, 2, 3], {"Next-Range": "]3..; max=3"}), Scripted(200, [4]))
    items = make_client(server, sleeps).paginate("/l", RangePagination(max_items=3), limit=2)
    assert items == [1, 2]
    assert len(server.log) == 1


def test_pagination_stops_on_206_without_next_range_and_ignores_non_lists(server, sleeps):
    server.script("GET", "/l", Scripted(206, {"not": "a list"}))
    assert make_client(server, sleeps).paginate("/l", RangePagination()) == []
    assert server.log[0]["headers"]["range"] == "id ..; max=1000"


# --------------------------------------------------------------------------- streaming

def test_stream_lines_reads_lines_without_sending_the_token(server, sleeps):
    server.script("GET", "/sessions/abc", Scripted(200, b"one\r\ntwo \xe2\n\nthree"))
    client = make_client(server, sleeps)
    lines = list(client.stream_lines(f"{server.url}/sessions/abc?sig=zzz", read_timeout=2))
    assert lines == ["one", "two \ufffd", "", "three"]
    assert "authorization" not in server.log[0]["headers"]
    assert client.history[-1].path == "/sessions/abc"


def test_stream_lines_can_send_auth_and_raises_on_error(server, sleeps):
    server.script("GET", "/s", Scripted(403, {"id": "forbidden", "message": "no"}))
    client = make_client(server, sleeps)
    with pytest.raises(AuthError):
        list(client.stream_lines(f"{server.url}/s", read_timeout=2, send_auth=True))
    assert server.log[0]["headers"]["authorization"] == f"Bearer {TOKEN}"


def test_stream_lines_connection_refused():
    client = ApiClient("http://127.0.0.1:1/")
    with pytest.raises(ApiConnectionError):
        list(client.stream_lines(f"http://127.0.0.1:{unused_port()}/s", read_timeout=1))


def test_stream_lines_read_timeout_mid_stream(server):
    def slow_body(handler: BaseHTTPRequestHandler) -> bytes:
        # Promise more bytes than are sent, then stall: the reader must time out.
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b"first line\n")
        handler.wfile.flush()
        time.sleep(1.5)
        handler.close_connection = True
        raise ConnectionAbortedError  # stop the scripted handler from writing a second response

    class StallingHandler(ScriptedHandler):
        def do_GET(self) -> None:
            try:
                slow_body(self)
            except ConnectionAbortedError:
                pass

    server.RequestHandlerClass = StallingHandler
    client = ApiClient(server.url)
    received = []
    with pytest.raises(ApiConnectionError) as caught:
        for line in client.stream_lines(f"{server.url}/s", read_timeout=0.3):
            received.append(line)
    assert received == ["first line"]
    assert "stream interrupted" in str(caught.value)


# --------------------------------------------------------------------------- secrets

def test_token_never_appears_in_errors_reprs_or_history(server, sleeps):
    # A hostile or buggy server echoing the Authorization header back in its error.
    server.script("GET", "/echo", Scripted(
        400, lambda handler: {"id": "bad_request", "message": f"got {handler.headers['Authorization']}"},
    ))
    client = make_client(server, sleeps)
    with pytest.raises(ApiError) as caught:
        client.get("/echo")
    err = caught.value
    rendered = [str(err), repr(err), err.message, json.dumps(err.to_dict()), repr(client), repr(client.history)]
    assert all(TOKEN not in text for text in rendered)
    assert "got Bearer ********" in str(err)
    assert repr(client) == f"ApiClient(base_url='{server.url}/')"


# --------------------------------------------------------------------------- waiting

class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_for_returns_the_first_state_that_is_done():
    states = iter(["pending", "pending", "succeeded"])
    clock = FakeClock()
    result = wait_for(lambda: next(states), lambda s: s != "pending", timeout=60, interval=5,
                      sleep=clock.sleep, clock=clock)
    assert result == "succeeded"
    assert clock.sleeps == [5, 5]


def test_wait_for_from_a_first_interval_doubles_up_to_the_interval():
    states = iter(["pending"] * 5 + ["succeeded"])
    clock = FakeClock()
    result = wait_for(lambda: next(states), lambda s: s != "pending", timeout=60, interval=3,
                      first_interval=0.5, sleep=clock.sleep, clock=clock)
    assert result == "succeeded"
    assert clock.sleeps == [0.5, 1.0, 2.0, 3, 3]


def test_wait_for_times_out_with_the_last_state():
    clock = FakeClock()
    calls = []

    def fetch() -> dict[str, t.Any]:
        calls.append(1)
        return {"status": "pending", "n": len(calls)}

    with pytest.raises(WaitTimeout) as caught:
        wait_for(fetch, lambda s: False, timeout=12, interval=5, what="release v3",
                 sleep=clock.sleep, clock=clock)
    assert caught.value.last_state == {"status": "pending", "n": 4}
    assert clock.sleeps == [5, 5, 2]  # the last pause is cut to the deadline
    assert "waiting for release v3" in str(caught.value)


def test_wait_for_propagates_api_errors():
    def fetch() -> t.Any:
        raise NotFound("gone", status=404)

    with pytest.raises(NotFound):
        wait_for(fetch, lambda s: True, timeout=1, interval=1)


def test_retry_after_parsing_edge_cases():
    assert _http._retry_after_seconds(None) is None
    assert _http._retry_after_seconds("-5") == 0.0
    assert _http._retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_base_pagination_reads_one_page(server, sleeps):
    server.script("GET", "/plain", Scripted(200, [{"id": 1}], {"Next-Range": "ignored"}))
    assert make_client(server, sleeps).paginate("/plain", _http.Pagination()) == [{"id": 1}]
    assert "range" not in server.log[0]["headers"]


# --------------------------------------------------------------------------- URL safety

@pytest.mark.parametrize("url", [
    "http://api.example.com", "http://10.0.0.8:8080/v1", "http://[2001:db8::1]/", "ftp://127.0.0.1/",
    "http://localhost.example.com/",
])
def test_plain_http_to_a_host_that_is_not_loopback_is_refused(url):
    with pytest.raises(InsecureUrl) as caught:
        ApiClient(url, secrets=[TOKEN])
    assert "use https://" in str(caught.value)


@pytest.mark.parametrize("url", [
    "https://api.example.com", "http://127.0.0.1:18100", "http://127.9.8.7/", "http://[::1]:8080", "http://localhost:1",
])
def test_https_and_loopback_http_are_accepted(url):
    assert ApiClient(url).base_url.startswith(url.rstrip("/"))


def test_absolute_plain_http_url_to_another_host_is_refused_before_sending(server, sleeps):
    client = make_client(server, sleeps)
    with pytest.raises(InsecureUrl):
        client.get("http://example.com/steal")
    assert server.log == []


# --------------------------------------------------------------------------- outage window

def test_retries_go_on_until_the_outage_window_is_spent(server, sleeps):
    answers = [Scripted(503, None)] * 5 + [Scripted(200, {"ok": True})]
    server.script("GET", "/r", *answers)
    client = make_client(server, sleeps, max_attempts=2, max_wait=10.0, base_delay=1.0, max_delay=4.0)
    assert client.get("/r") == {"ok": True}
    # 0.75 and 1.5 (backoff), then 3.0 and 3.0 (capped at max_delay 4 -> 3), then what is left of 10 s.
    assert sleeps.calls == [0.75, 1.5, 3.0, 3.0, 1.75]
    assert len(server.requests_to("GET", "/r")) == 6


def test_outage_longer_than_the_window_raises(server, sleeps):
    server.script("GET", "/r", Scripted(503, None))
    client = make_client(server, sleeps, max_attempts=1, max_wait=2.0, base_delay=1.0)
    with pytest.raises(ServerError):
        client.get("/r")
    assert sum(sleeps.calls) >= 2.0 and len(server.requests_to("GET", "/r")) == len(sleeps.calls) + 1


def test_the_window_does_not_make_a_post_repeatable(server, sleeps):
    server.script("POST", "/jobs", Scripted(503, None), Scripted(201, {"id": "j"}))
    client = make_client(server, sleeps, max_wait=60.0)
    with pytest.raises(ServerError):
        client.post("/jobs")
    assert len(server.requests_to("POST", "/jobs")) == 1


def test_policy_from_module_options():
    policy = RetryPolicy.from_options(6, 12.0)
    assert (policy.max_attempts, policy.max_wait) == (7, 12.0)
    assert RetryPolicy.from_options(-1, -5).max_attempts == 1


# --------------------------------------------------------------------------- the schedule under the lab's faults

def burst_then_errors(burst: int, errors: int, *, status: int = 503, retry_after: str = "1") -> list[Scripted]:
    """What the Heroku emulator answers when a request meets a fault burst: ``burst`` 429s with
    Retry-After, then ``errors`` injected server errors, then success."""
    rate_limited = Scripted(429, {"id": "rate_limit", "message": "Your account reached the API rate limit."},
                            {"Retry-After": retry_after, "RateLimit-Remaining": "4400"})
    failed = Scripted(status, {"id": "service_unavailable", "message": "Injected fault."})
    return [rate_limited] * burst + [failed] * errors + [Scripted(200, {"ok": True})]


def test_a_429_burst_then_a_run_of_5xx_is_outlasted_within_the_budget_not_the_count(server, sleeps):
    # The defaults of the modules: 6 retries, 30 s. Three 429s (Retry-After: 1) and six 503s
    # need nine retries: more than the count, well within the budget.
    server.script("GET", "/apps/a", *burst_then_errors(3, 6))
    client = make_client(server, sleeps, max_attempts=7, max_wait=30.0, base_delay=0.5, max_delay=4.0)
    assert client.get("/apps/a") == {"ok": True}
    # Retry-After is followed exactly; the 503s back off exponentially from the first step (the
    # 429s' waits were the server's, not backoff: equal jitter, random 0.5, 3/4 of 0.5 * 2^(n-1)
    # capped at 4), and past the count the budget keeps them going.
    assert sleeps.calls == [1.0, 1.0, 1.0, 0.375, 0.75, 1.5, 3.0, 3.0, 3.0]
    assert sum(sleeps.calls) < 30.0
    assert client.history[-1].attempts == 10 and client.history[-1].status == 200


def test_bursts_of_429_between_server_errors_do_not_grow_the_backoff(server, sleeps):
    # What one request met in the lab's fault test: 429 bursts every ~13 s with 503s between them.
    answers = [*burst_then_errors(3, 2)[:-1], *burst_then_errors(3, 1)[:-1], *burst_then_errors(4, 0)]
    server.script("GET", "/apps/a/formation", *answers)
    client = make_client(server, sleeps, max_attempts=7, max_wait=30.0, base_delay=0.5, max_delay=8.0)
    assert client.get("/apps/a/formation") == {"ok": True}
    assert sleeps.calls == [1.0, 1.0, 1.0, 0.375, 0.75, 1.0, 1.0, 1.0, 1.5, 1.0, 1.0, 1.0, 1.0]
    assert sum(sleeps.calls) < 30.0


def test_the_budget_is_time_from_the_first_attempt_and_no_wait_runs_past_it(server, sleeps):
    server.script("GET", "/apps/a", Scripted(503, None))
    client = make_client(server, sleeps, max_attempts=2, max_wait=10.0, base_delay=2.0, max_delay=8.0)
    with pytest.raises(ServerError):
        client.get("/apps/a")
    # 1.5 (within the count), 3.0 under the budget, then 6.0 cut to the 5.5 s left of 10 s.
    assert sleeps.calls == [1.5, 3.0, 5.5]
    assert sum(sleeps.calls) == 10.0


def test_time_spent_in_slow_attempts_counts_against_the_budget(server, sleeps):
    # Each attempt takes 4 s (a slow gateway) as far as the policy's clock knows.
    server.script("GET", "/apps/a", Scripted(503, None))
    policy = RetryPolicy(max_attempts=1, max_wait=10.0, base_delay=1.0, sleep=sleeps, random=lambda: 0.0)

    def slow_clock() -> float:
        slow_clock.ticks += 1  # type: ignore[attr-defined]
        return sleeps.now + 4.0 * slow_clock.ticks  # type: ignore[attr-defined]

    slow_clock.ticks = 0  # type: ignore[attr-defined]
    policy.clock = slow_clock
    client = ApiClient(server.url, retry=policy)
    with pytest.raises(ServerError):
        client.get("/apps/a")
    assert len(server.requests_to("GET", "/apps/a")) == 3  # 4 s, 8 s: the third failure is past 10 s


def test_429_without_retry_after_waits_at_least_one_token_refill(server, sleeps):
    # Heroku sends no Retry-After and refills a token every 0.8 s: a shorter backoff step would
    # spend the next attempt on another 429.
    server.script("POST", "/apps/a/builds", Scripted(429, {"id": "rate_limit"}, {"RateLimit-Remaining": "0"}),
                  Scripted(429, None), Scripted(201, {"id": "b1"}))
    client = make_client(server, sleeps, base_delay=0.2, rate_limit_delay=1.0)
    assert client.post("/apps/a/builds", json_body={}) == {"id": "b1"}
    assert sleeps.calls == [1.0, 1.0]


def test_503_with_retry_after_is_followed(server, sleeps):
    server.script("GET", "/apps/a", Scripted(503, None, {"Retry-After": "4"}), Scripted(200, {}))
    make_client(server, sleeps).get("/apps/a")
    assert sleeps.calls == [4.0]


def test_retry_after_that_ends_past_the_budget_raises_at_once_with_the_hint(server, sleeps):
    # The emulator's own bucket, once empty, answers Retry-After: 60.
    server.script("GET", "/apps/a", Scripted(503, None), Scripted(429, {"id": "rate_limit"}, {"Retry-After": "60"}))
    client = make_client(server, sleeps, max_attempts=1, max_wait=20.0, base_delay=1.0)
    with pytest.raises(RateLimited) as caught:
        client.get("/apps/a")
    assert caught.value.retry_after == 60.0 and sleeps.calls == [1.0]


def test_retry_after_of_zero_past_the_count_does_not_hammer(server, sleeps):
    server.script("GET", "/apps/a", Scripted(429, None, {"Retry-After": "0"}))
    client = make_client(server, sleeps, max_attempts=1, max_wait=3.0, base_delay=0.5)
    with pytest.raises(RateLimited):
        client.get("/apps/a")
    assert sleeps.calls == [0.5] * 6


def test_a_burst_longer_than_the_budget_raises_rate_limited(server, sleeps):
    server.script("DELETE", "/apps/a/dynos", *burst_then_errors(20, 0))
    client = make_client(server, sleeps, max_attempts=3, max_wait=5.0)
    with pytest.raises(RateLimited):
        client.delete("/apps/a/dynos")
    assert sleeps.calls == [1.0] * 5 and len(server.requests_to("DELETE", "/apps/a/dynos")) == 6


# --------------------------------------------------------------------------- create_or_attach

class Jobs:
    """A job service whose create can lose its answer after the job started (as a dropped reply does)."""

    def __init__(self, lose: int = 0, refuse: ApiError | None = None) -> None:
        self.jobs: list[dict[str, t.Any]] = []
        self.creates = 0
        self.lose = lose
        self.refuse = refuse

    def running(self) -> dict[str, t.Any] | None:
        return next((job for job in self.jobs if job["state"] == "running"), None)

    def newer_than(self, known: int) -> t.Callable[[], dict[str, t.Any] | None]:
        return lambda: next((job for job in reversed(self.jobs) if job["num"] > known), None)

    def create(self) -> dict[str, t.Any]:
        self.creates += 1
        if self.refuse is not None:
            raise self.refuse
        job = {"num": len(self.jobs) + 1, "state": "running"}
        self.jobs.append(job)
        if self.lose:
            self.lose -= 1
            job["state"] = "done"  # a short job: over before anyone looks
            raise ApiConnectionError("connection failed: ConnectionError", method="POST", path="/jobs")
        return job


def test_create_or_attach_attaches_to_a_running_job_without_creating(sleeps):
    jobs = Jobs()
    jobs.jobs.append({"num": 1, "state": "running"})
    started = create_or_attach(jobs.running, jobs.create, retry=RetryPolicy(sleep=sleeps))
    assert started.how == "found" and started.job["num"] == 1 and not started.started_here
    assert jobs.creates == 0


def test_create_or_attach_creates_when_nothing_runs(sleeps):
    jobs = Jobs()
    started = create_or_attach(jobs.running, jobs.create, retry=RetryPolicy(sleep=sleeps))
    assert (started.how, started.started_here, started.attached) == ("created", True, False)
    assert len(jobs.jobs) == 1


def test_create_or_attach_after_a_lost_answer_finds_the_job_instead_of_starting_a_second(sleeps):
    jobs = Jobs(lose=1)
    started = create_or_attach(jobs.running, jobs.create, retry=RetryPolicy(sleep=sleeps, random=lambda: 0.0),
                               find_started=jobs.newer_than(0))
    assert started.how == "recovered" and started.started_here and started.attached
    assert len(jobs.jobs) == 1 and jobs.creates == 1 and sleeps.calls == [0.25]


def test_create_or_attach_creates_again_when_the_lost_request_started_nothing(sleeps):
    jobs = Jobs()
    failures = [ServerError("unavailable", status=503, method="POST", path="/jobs")]

    def create_after_a_503() -> dict[str, t.Any]:
        if failures:
            jobs.creates += 1
            raise failures.pop()
        return jobs.create()

    started = create_or_attach(jobs.running, create_after_a_503, retry=RetryPolicy(sleep=sleeps))
    assert started.how == "created" and len(jobs.jobs) == 1 and jobs.creates == 2


@pytest.mark.parametrize("error", [
    Conflict("already running", status=409), NotFound("no such database", status=404),
    RateLimited("slow down", status=429),
])
def test_create_or_attach_raises_answers_that_say_nothing_started(sleeps, error):
    jobs = Jobs(refuse=error)
    with pytest.raises(type(error)):
        create_or_attach(jobs.running, jobs.create, retry=RetryPolicy(sleep=sleeps))
    assert jobs.creates == 1 and sleeps.calls == []


def test_create_or_attach_gives_up_after_the_policy(sleeps):
    jobs = Jobs(refuse=ApiConnectionError("connection failed", method="POST", path="/jobs"))
    with pytest.raises(ApiConnectionError):
        create_or_attach(jobs.running, jobs.create, retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=sleeps.clock))
    assert jobs.creates == 3 and len(sleeps.calls) == 2
