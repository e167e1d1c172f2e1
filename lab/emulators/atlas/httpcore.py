"""HTTP plumbing for the Atlas emulator: routing, Atlas-shaped errors, rate limit, faults, request log.

It mirrors the Heroku emulator's small layer on purpose (a shared emulator core is planned);
what differs is Atlas's error body ``{"error", "errorCode", "reason", "detail"}``, its versioned
media types and ``RateLimit-Limit``/``Retry-After``.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class ApiError(Exception):
    """Rendered as Atlas's ApiError body."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None,
                 parameters: list[Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.parameters = parameters or []

    def body(self) -> dict[str, Any]:
        # The spec types `parameters` items as objects; Atlas's own strings would not validate, so
        # the values stay in `detail` and `parameters` is left out (it is optional).
        return {"detail": self.detail, "error": self.status, "errorCode": self.code,
                "reason": HTTPStatus(self.status).phrase}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    request_id: str
    params: dict[str, str] = field(default_factory=dict)
    principal: str | None = None
    version: str | None = None

    def json(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(400, "INVALID_JSON", "Received JSON is malformed.") from None

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default) or default

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def int_arg(self, name: str, default: int) -> int:
        raw = self.arg(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise ApiError(400, "INVALID_QUERY_PARAMETER", f"Invalid query parameter {name} specified.",
                           parameters=[name]) from None

    def flag(self, name: str, default: bool) -> bool:
        raw = self.arg(name)
        return default if raw is None else raw.lower() in ("1", "true", "yes")


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    versions: tuple[str, ...]  # the media-type versions the spec gives this operation; () = unversioned
    public: bool = False  # no auth, no rate limit (token endpoint, lab admin, download URLs)


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, versions: tuple[str, ...] = (),
            public: bool = False) -> None:
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        self.routes.append(Route(method, template, re.compile(regex), handler, versions, public))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                if route.method == method:
                    return route, {k: unquote(v) for k, v in found.groupdict().items()}
                allowed = True
        if allowed:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"Method {method} is not allowed for {path}.")
        raise ApiError(404, "RESOURCE_NOT_FOUND", f"Cannot find resource {path}.", parameters=[path])


class TokenBucket:
    """Per principal: ``capacity`` requests, refilled continuously at ``refill_per_minute``."""

    def __init__(self, capacity: int = 100, refill_per_minute: float = 100.0) -> None:
        self.capacity = capacity
        self.refill_per_minute = refill_per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def configure(self, capacity: int | None = None, refill_per_minute: float | None = None) -> None:
        with self._lock:
            if capacity is not None:
                self.capacity = capacity
            if refill_per_minute is not None:
                self.refill_per_minute = refill_per_minute
            self._buckets = {}

    def _level(self, key: str, now: float) -> float:
        level, then = self._buckets.get(key, (float(self.capacity), now))
        return min(float(self.capacity), level + (now - then) * self.refill_per_minute / 60.0)

    def take(self, key: str) -> tuple[bool, int, int]:
        """(allowed, remaining, seconds until the next token)."""
        with self._lock:
            now = time.monotonic()
            level = self._level(key, now)
            if level < 1:
                self._buckets[key] = (level, now)
                wait = (1 - level) * 60.0 / max(self.refill_per_minute, 1e-9)
                return False, 0, max(1, int(wait + 0.999))
            self._buckets[key] = (level - 1, now)
            return True, int(level - 1), 0


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    rate_limit_burst: int = 0
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random)

    def to_api(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "error_rate": self.error_rate, "error_status": self.error_status,
                "rate_limit_burst": self.rate_limit_burst, "seed": self.seed}


@dataclass
class RequestRecord:
    seq: int
    ts: float
    method: str
    path: str
    status: int
    request_id: str
    principal: str | None
    version: str | None

    def to_api(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts, "method": self.method, "path": self.path, "status": self.status,
                "request_id": self.request_id, "principal": self.principal, "version": self.version}


class RequestLog:
    def __init__(self, limit: int = 20000) -> None:
        self._records: list[RequestRecord] = []
        self._seq = 0
        self._limit = limit
        self._lock = threading.Lock()

    def add(self, request: Request, status: int) -> None:
        with self._lock:
            self._seq += 1
            self._records.append(RequestRecord(self._seq, time.time(), request.method, request.path, status,
                                               request.request_id, request.principal, request.version))
            del self._records[:-self._limit]

    def since(self, seq: int) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._records if r.seq > seq]

    @property
    def last_seq(self) -> int:
        return self._seq


class BaseHandler(BaseHTTPRequestHandler):
    """Reads the request, lets ``handle_request`` answer, writes the response."""

    protocol_version = "HTTP/1.1"
    server_version = "appops-atlas-emulator/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        return  # the request log replaces access logging

    def handle_request(self, request: Request) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, parts.path, parse_qs(parts.query), self.headers, body,
                          request_id=uuid.uuid4().hex)
        try:
            response = self.handle_request(request)
        except ApiError as error:
            response = Response(error.status, error.body(), dict(error.headers))
        except Exception as error:  # noqa: BLE001 - a lab server answers 500 rather than dropping the socket
            traceback.print_exc()
            response = Response(500, ApiError(500, "UNEXPECTED_ERROR", f"Emulator error: {error}").body())
        self._write(request, response)

    def _write(self, request: Request, response: Response) -> None:
        self.send_response(response.status)
        for name, value in {"X-Request-Id": request.request_id, **response.headers}.items():
            self.send_header(name, value)
        if response.body is None:
            payload = b""
        elif isinstance(response.body, bytes):
            payload = response.body
        else:
            payload = json.dumps(response.body, separators=(",", ":")).encode()
        if payload or response.status != 204:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _dispatch  # noqa: N815
