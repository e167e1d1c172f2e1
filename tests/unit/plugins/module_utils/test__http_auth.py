# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signing in through the HTTP core: HTTP Digest (RFC 7616) and OAuth client credentials (RFC 6749 4.4).

Against real HTTP servers on 127.0.0.1: a Digest server that checks the response hash itself,
and the scripted server of the core's tests for the token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._http import (
    ApiClient,
    AuthError,
    ClientCredentialsAuth,
    RetryPolicy,
    ServerError,
    digest_auth,
)
from ansible_collections.appops.runbooks.tests.unit.plugins.module_utils import test__http
from ansible_collections.appops.runbooks.tests.unit.plugins.module_utils.test__http import Scripted, ScriptedServer

server = test__http.server  # the scripted server's fixture

USER, PASSWORD, REALM = "labpubky", "0d6a1f62-private-key", "MMS Public API"
CLIENT_ID, CLIENT_SECRET = "mdb_sa_id_1", "mdb_sa_sk_very-secret"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - Digest is defined with MD5


class DigestHandler(BaseHTTPRequestHandler):
    """Answers 401 with a challenge unless the request carries a valid Digest response (qop=auth)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: t.Any) -> None:
        pass

    def do_GET(self) -> None:
        server: DigestServer = self.server  # type: ignore[assignment]
        header = self.headers.get("Authorization") or ""
        server.seen.append(header)
        fields = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)}
        valid = False
        if header.startswith("Digest ") and fields.get("nonce") in server.nonces:
            ha1 = md5(f"{fields['username']}:{REALM}:{server.password}")
            ha2 = md5(f"GET:{fields['uri']}")
            expected = md5(f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
            valid = fields.get("response") == expected and fields.get("username") == USER
        if valid:
            self._answer(200, b'{"ok": true}')
            return
        nonce = secrets.token_hex(8)
        server.nonces.add(nonce)
        self._answer(401, b'{"errorCode": "UNAUTHORIZED", "detail": "not authorized"}',
                     {"WWW-Authenticate": f'Digest realm="{REALM}", nonce="{nonce}", algorithm=MD5, qop="auth"'})

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class DigestServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, password: str) -> None:
        super().__init__(("127.0.0.1", 0), DigestHandler)
        self.password = password
        self.nonces: set[str] = set()
        self.seen: list[str] = []


@pytest.fixture
def digest_server() -> t.Iterator[DigestServer]:
    srv = DigestServer(PASSWORD)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def no_sleep(seconds: float) -> None:
    pass


def test_digest_answers_the_challenge_then_signs_at_once(digest_server):
    client = ApiClient(f"http://127.0.0.1:{digest_server.server_address[1]}", auth=digest_auth(USER, PASSWORD))
    assert client.get("/api/atlas/v2/groups") == {"ok": True}
    assert client.get("/api/atlas/v2/groups/1") == {"ok": True}
    assert digest_server.seen[0] == "", "the first request has no credentials yet"
    assert all(h.startswith("Digest ") for h in digest_server.seen[1:])
    assert len(digest_server.seen) == 3, "after the challenge each request is signed with the server's nonce"
    assert PASSWORD not in "".join(digest_server.seen), "the password itself never travels"


def test_digest_with_a_wrong_key_is_an_auth_error_without_the_key(digest_server):
    wrong = "wrong-private-key-123"
    client = ApiClient(f"http://127.0.0.1:{digest_server.server_address[1]}", auth=digest_auth(USER, wrong),
                       retry=RetryPolicy(sleep=no_sleep))
    with pytest.raises(AuthError) as caught:
        client.get("/api/atlas/v2/groups")
    assert caught.value.status == 401 and wrong not in str(caught.value) and wrong not in repr(client)


def oauth_client(server: ScriptedServer, clock: t.Callable[[], float] = lambda: 1000.0) -> ApiClient:
    retry = RetryPolicy(sleep=no_sleep, random=lambda: 0.5)
    auth = ClientCredentialsAuth(ApiClient(server.url, retry=retry, secrets=[CLIENT_SECRET]), "/api/oauth/token",
                                 CLIENT_ID, CLIENT_SECRET, clock=clock)
    return ApiClient(server.url, auth=auth, retry=retry)


def token_answer(token: str, expires_in: int = 3600) -> Scripted:
    return Scripted(200, {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})


def test_client_credentials_token_is_asked_once_and_sent_as_bearer(server):
    server.script("POST", "/api/oauth/token", token_answer("tok-1"))
    server.script("GET", "/x", Scripted(200, {"ok": 1}))
    client = oauth_client(server)
    client.get("/x")
    client.get("/x")
    token_requests = server.requests_to("POST", "/api/oauth/token")
    assert len(token_requests) == 1
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_requests[0]["headers"]["authorization"] == f"Basic {basic}"
    assert token_requests[0]["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_requests[0]["body"]) == {"grant_type": ["client_credentials"]}
    assert [r["headers"]["authorization"] for r in server.requests_to("GET", "/x")] == ["Bearer tok-1"] * 2


def test_client_credentials_token_is_renewed_before_it_expires(server):
    server.script("POST", "/api/oauth/token", token_answer("tok-1", 120), token_answer("tok-2", 120))
    server.script("GET", "/x", Scripted(200, {"ok": 1}))
    now = [1000.0]
    client = oauth_client(server, clock=lambda: now[0])
    client.get("/x")
    now[0] += 59  # 61 s left: more than the margin
    client.get("/x")
    now[0] += 2  # 59 s left: inside the margin
    client.get("/x")
    sent = [r["headers"]["authorization"] for r in server.requests_to("GET", "/x")]
    assert sent == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_a_401_drops_the_kept_token_once(server):
    server.script("POST", "/api/oauth/token", token_answer("tok-1"), token_answer("tok-2"), token_answer("tok-3"))
    server.script("GET", "/x", Scripted(401, {"errorCode": "UNAUTHORIZED"}), Scripted(200, {"ok": 1}))
    server.script("GET", "/y", Scripted(401, {"errorCode": "UNAUTHORIZED", "detail": "revoked"}))
    client = oauth_client(server)
    assert client.get("/x") == {"ok": 1}
    assert [r["headers"]["authorization"] for r in server.requests_to("GET", "/x")] == ["Bearer tok-1", "Bearer tok-2"]
    with pytest.raises(AuthError):
        client.get("/y")
    assert len(server.requests_to("GET", "/y")) == 2, "renewed once, not again and again"


def test_tokens_and_the_client_secret_never_reach_an_error_text(server):
    def echo(handler: t.Any) -> dict[str, str]:
        return {"detail": f"bad request from {handler.headers.get('Authorization')} {CLIENT_SECRET}"}

    server.script("POST", "/api/oauth/token", token_answer("tok-secret-value"))
    server.script("GET", "/x", Scripted(500, echo))
    client = oauth_client(server)
    with pytest.raises(ServerError) as caught:
        client.get("/x")
    text = str(caught.value) + repr(caught.value) + str(caught.value.to_dict())
    assert "tok-secret-value" not in text and CLIENT_SECRET not in text and "********" in text


def test_a_token_endpoint_without_a_token_is_a_clear_error(server):
    server.script("POST", "/api/oauth/token", Scripted(200, {"token_type": "Bearer"}))
    client = oauth_client(server)
    with pytest.raises(Exception, match="without an access_token"):
        client.get("/x")


def test_the_token_request_is_retried_like_any_other(server):
    server.script("POST", "/api/oauth/token", Scripted(503, {"detail": "busy"}), token_answer("tok-1"))
    server.script("GET", "/x", Scripted(200, {"ok": 1}))
    client = oauth_client(server)
    assert client.get("/x") == {"ok": 1}
    assert len(server.requests_to("POST", "/api/oauth/token")) == 2


def test_a_stream_to_a_signed_url_carries_no_credentials(server):
    server.script("GET", "/stream", Scripted(200, "line 1\nline 2\n"))
    client = oauth_client(server)
    assert list(client.stream_lines(f"{server.url}/stream", read_timeout=2)) == ["line 1", "line 2"]
    assert "authorization" not in server.requests_to("GET", "/stream")[0]["headers"]
    assert server.requests_to("POST", "/api/oauth/token") == [], "no token was even asked for"
