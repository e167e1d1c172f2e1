"""A small HTTP layer: routing, Heroku-style errors, auth, rate limit, faults, request log."""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .model import RequestRecord


class ApiError(Exception):
    """Rendered as Heroku's error body ``{"id": ..., "message": ...}``."""

    def __init__(self, status: int, ident: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.ident = ident
        self.message = message
        self.headers = headers or {}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"Couldn't find that {what}.")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    request_id: str
    params: dict[str, str] = field(default_factory=dict)
    token: str | None = None

    def json(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(400, "bad_request", "Request body is not valid JSON.") from None

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default) or default

    def flag(self, name: str) -> bool:
        return self.query.get(name, ["false"])[-1].lower() in ("1", "true", "yes")


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    stream: Iterable[bytes] | None = None


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    schema_href: str | None  # the schema.json link this route serves, normalized; None if not described there
    public: bool = False  # no auth, no rate limit (signed URLs, lab admin)


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, schema: bool = True, public: bool = False) -> None:
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        href = re.sub(r"\{\w+\}", "{}", template) if schema else None
        self.routes.append(Route(method, template, re.compile(regex), handler, href, public))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                if route.method == method:
                    return route, {k: unquote(v) for k, v in found.groupdict().items()}
                allowed = True
        if allowed:
            raise ApiError(405, "method_not_allowed", f"Method {method} is not allowed for {path}.")
        raise ApiError(404, "not_found", "The requested API endpoint was not found. Are you using the right HTTP "
                                         "verb (i.e. `GET` vs. `POST`), and did you specify your intended version "
                                         "with the `Accept` header?")


class RateLimiter:
    """Heroku's token bucket: per token, ``capacity`` requests, refilled continuously."""

    def __init__(self, capacity: int = 4500, refill_per_minute: float = 75.0) -> None:
        self.capacity = capacity
        self.refill_per_minute = refill_per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def configure(self, capacity: int | None = None, refill_per_minute: float | None = None,
                  remaining: int | None = None) -> None:
        with self._lock:
            if capacity is not None:
                self.capacity = capacity
            if refill_per_minute is not None:
                self.refill_per_minute = refill_per_minute
            if remaining is not None:
                now = time.monotonic()
                self._buckets = {k: (float(remaining), now) for k in self._buckets}
                self._default_remaining = float(remaining)
            else:
                self._buckets = {}
                self._default_remaining = None

    _default_remaining: float | None = None

    def _level(self, key: str, now: float) -> float:
        start = self._default_remaining if self._default_remaining is not None else float(self.capacity)
        level, then = self._buckets.get(key, (start, now))
        return min(float(self.capacity), level + (now - then) * self.refill_per_minute / 60.0)

    def take(self, key: str) -> tuple[bool, int]:
        with self._lock:
            now = time.monotonic()
            level = self._level(key, now)
            if level < 1:
                self._buckets[key] = (level, now)
                return False, 0
            self._buckets[key] = (level - 1, now)
            return True, int(level - 1)

    def remaining(self, key: str) -> int:
        with self._lock:
            return int(self._level(key, time.monotonic()))


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    rate_limit_burst: int = 0
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random)

    def draw(self) -> tuple[bool, bool]:
        """(a burst 429 is due, an injected error is due) for one request; the caller holds the lab lock."""
        burst = self.rate_limit_burst > 0
        if burst:
            self.rate_limit_burst -= 1
        return burst, self.error_rate > 0 and self.rng.random() < self.error_rate

    def to_api(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "error_rate": self.error_rate, "error_status": self.error_status,
                "rate_limit_burst": self.rate_limit_burst, "seed": self.seed}


class RequestLog:
    def __init__(self, limit: int = 20000) -> None:
        self._records: list[RequestRecord] = []
        self._seq = 0
        self._limit = limit
        self._lock = threading.Lock()

    def add(self, method: str, path: str, status: int, request_id: str, token: str | None) -> None:
        with self._lock:
            self._seq += 1
            self._records.append(RequestRecord(self._seq, time.time(), method, path, status, request_id, token))
            del self._records[:-self._limit]

    def since(self, seq: int) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._records if r.seq > seq]

    @property
    def last_seq(self) -> int:
        return self._seq


def json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class BaseHandler(BaseHTTPRequestHandler):
    """Reads the request, lets ``handle_request`` answer, writes the response."""

    protocol_version = "HTTP/1.1"
    server_version = "appops-heroku-emulator/1.0"
    # Headers and body go out in two writes; with Nagle on, the second waits for the client's
    # delayed ACK (~40 ms on Linux) and every keep-alive request took ~45 ms instead of ~1 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        return  # the request log replaces access logging

    def handle_request(self, request: Request) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, parts.path, parse_qs(parts.query), self.headers, body,
                          request_id=str(uuid.uuid4()))
        try:
            response = self.handle_request(request)
        except ApiError as error:
            response = Response(error.status, {"id": error.ident, "message": error.message}, dict(error.headers))
        except Exception as error:  # noqa: BLE001 - a lab server answers 500 rather than dropping the socket
            self.server_error(error)
            response = Response(500, {"id": "internal_server_error", "message": f"Emulator error: {error}"})
        self._write(request, response)

    def server_error(self, error: Exception) -> None:
        import traceback
        traceback.print_exc()

    def _write(self, request: Request, response: Response) -> None:
        self.send_response(response.status)
        headers = {"Request-Id": request.request_id, **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        if response.stream is not None:
            self.send_header("Content-Type", response.content_type)
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            self._write_stream(response.stream)
            return
        if response.body is None:
            payload = b""
        elif isinstance(response.body, bytes):
            payload = response.body
        elif isinstance(response.body, str):
            payload = response.body.encode()
        else:
            payload = json_bytes(response.body)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _write_stream(self, stream: Iterable[bytes]) -> None:
        iterator: Iterator[bytes] = iter(stream)
        try:
            for chunk in iterator:
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            close = getattr(iterator, "close", None)
            if close:
                close()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _dispatch  # noqa: N815
