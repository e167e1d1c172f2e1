# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one HTTP core shared by every platform client of this collection (private).

It owns a keep-alive ``requests.Session``, timeouts, the one retry policy of the collection
(:class:`RetryPolicy`: what is retried, how often, how long), ``429``/``Retry-After``
handling, a proactive slow-down when the remaining-requests header runs low, pagination
hooks, a wait helper, :func:`create_or_attach` for jobs whose start must not be repeated,
the two ways of signing in that are more than a static header (HTTP Digest with
:func:`digest_auth`, OAuth client credentials with :class:`ClientCredentialsAuth`),
and typed errors.

Two promises the rest of the collection relies on:

* nothing here calls ``fail_json``; callers turn :class:`ApiError` into messages;
* secrets given to the client (tokens, keys, and the access tokens an auth object obtains)
  never appear in an exception text, a ``repr`` or a request record: the ``Authorization``
  header is never rendered and every error text is scrubbed of the secret strings before
  it is built.
"""

from __future__ import annotations

import email.utils
import ipaddress
import os
import random as _random
import time as _time
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

try:
    import requests
    import requests.auth
    import urllib3
    HAS_REQUESTS = True
    AuthBase: t.Any = requests.auth.AuthBase
    REQUESTS_IMPORT_ERROR: Exception | None = None
except ImportError as exc:  # pragma: no cover - exercised only where requests is missing
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc
    AuthBase = object

USER_AGENT = "appops.runbooks/0.1.0"
REDACTED = "********"

# Methods whose repetition has no further effect (RFC 9110 9.2.2). PATCH and POST
# are retried on 5xx/connection errors only when the caller declares them idempotent.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Headers that tell how many requests are left in the current rate-limit window.
REMAINING_HEADERS = ("RateLimit-Remaining", "X-RateLimit-Remaining")
REQUEST_ID_HEADERS = ("Request-Id", "X-Request-Id")


# --------------------------------------------------------------------------- errors

class ApiError(Exception):
    """An API call failed. ``str()`` names the operation, status, API error id and request id.

    ``retry_after`` is the server's ``Retry-After`` hint in seconds (429 and 503 carry it).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_id: str | None = None,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_id = error_id
        self.request_id = request_id
        self.method = method
        self.path = path
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = []
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.status is not None:
            parts.append(f"returned HTTP {self.status}")
        if self.error_id:
            parts.append(f"[{self.error_id}]")
        text = " ".join(parts)
        text = f"{text}: {self.message}" if text else self.message
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def to_dict(self) -> dict[str, t.Any]:
        """Fields for a module result (no secrets: the message is scrubbed at creation)."""
        return {
            "status": self.status,
            "error_id": self.error_id,
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "message": self.message,
        }


class NotFound(ApiError):
    """404: the resource does not exist (callers often turn this into a default)."""


class Conflict(ApiError):
    """409 (or 422 for some APIs): the request conflicts with the resource's state."""


class AuthError(ApiError):
    """401/403: the token is missing, invalid or lacks permission."""


class RateLimited(ApiError):
    """429 after the retries ran out; ``retry_after`` is the server's hint in seconds."""


class ServerError(ApiError):
    """5xx after the retries ran out (or at once for requests that must not be repeated)."""


class ApiConnectionError(ApiError):
    """The server could not be reached or did not answer in time."""


class UnexpectedResponse(ApiError):
    """A 2xx answer that is not what the API speaks (e.g. an HTML page from a proxy instead of JSON)."""


class InsecureUrl(ApiError):
    """An ``http://`` API URL for a host that is not loopback: the token would cross the network in clear."""


class WaitTimeout(ApiError):
    """A wait gave up; ``last_state`` is the last value the fetch function returned."""

    def __init__(self, message: str, *, last_state: t.Any = None, **kwargs: t.Any) -> None:
        super().__init__(message, **kwargs)
        self.last_state = last_state


def error_class_for_status(status: int) -> type[ApiError]:
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    if status in (401, 403):
        return AuthError
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerError
    return ApiError


def parse_error_body(body: t.Any) -> tuple[str | None, str | None]:
    """Return ``(error id, message)`` from the error shapes of the APIs we talk to.

    Heroku: ``{"id": "not_found", "message": "..."}``; Vercel: ``{"error": {"code", "message"}}``;
    Atlas: ``{"errorCode": "...", "detail": "..."}``.
    """
    if not isinstance(body, dict):
        return None, None
    nested = body.get("error")
    if isinstance(nested, dict):
        return _str_or_none(nested.get("code")), _str_or_none(nested.get("message"))
    error_id = body.get("id") or body.get("errorCode") or body.get("code")
    message = body.get("message") or body.get("detail") or body.get("error_description")
    if isinstance(nested, str) and not message:
        message = nested
    return _str_or_none(error_id), _str_or_none(message)


def _str_or_none(value: t.Any) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- policy

@dataclass
class RetryPolicy:
    """The one place that decides what is retried, how often and how long to wait.

    What: a failure is retried when repeating it is harmless: 429 always (the server did not
    process the request), 5xx and connection errors only for repeatable requests (see
    :meth:`ApiClient.request`; a POST only when declared idempotent or through
    :func:`create_or_attach`, which looks for what a lost request started before repeating it).

    How long: retries go on while fewer than ``max_attempts`` attempts were made (a floor, so a
    fast failure such as a refused connection is still tried a few times) or while less than
    ``max_wait`` seconds passed since the first attempt (the time budget, so that a burst of
    429s or a run of 5xx answers shorter than the budget is outlasted however many attempts it
    takes). Past the floor no wait runs beyond the budget.

    How long between attempts: the server's ``Retry-After`` when it sends one (429, 503), up to
    ``max_retry_after``; a longer one, or past the floor one that would end after the budget,
    raises at once, since the server said it will refuse until then. Otherwise jittered
    exponential backoff; after a 429 at least ``rate_limit_delay`` (Heroku refills its bucket
    of 4,500 request tokens at 75 a minute, one every 0.8 s, and sends no ``Retry-After``).
    ``sleep``, ``random`` and ``clock`` are injectable for tests.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    # Low enough that a budget of 30 s still holds several attempts after the backoff has grown.
    max_delay: float = 8.0
    # Keep retrying until this many seconds passed since the first attempt, even after max_attempts.
    max_wait: float = 0.0
    # A Retry-After longer than this is not waited for: the caller gets the error at once.
    max_retry_after: float = 120.0
    # The least wait after a 429 without Retry-After: longer than one token refill of Heroku's bucket.
    rate_limit_delay: float = 1.0
    # Slow down before the limit: below this many remaining requests, pause between calls (at
    # Heroku's refill rate a pause of 1 s lets the bucket grow again instead of running dry).
    low_remaining_threshold: int = 20
    low_remaining_delay: float = 1.0
    sleep: t.Callable[[float], None] = field(default=_time.sleep, repr=False)
    random: t.Callable[[], float] = field(default=_random.random, repr=False)
    clock: t.Callable[[], float] = field(default=_time.monotonic, repr=False)

    @classmethod
    def from_options(cls, retries: int, retry_max_wait: float, **kwargs: t.Any) -> RetryPolicy:
        """The policy of the module options ``retries`` (repeats after the first attempt) and ``retry_max_wait``."""
        return cls(max_attempts=max(0, retries) + 1, max_wait=max(0.0, retry_max_wait), **kwargs)

    def backoff(self, attempt: int) -> float:
        """Jittered exponential backoff for retry ``attempt`` (1-based), capped at max_delay.

        "Equal jitter": half of the exponential step is fixed and half random, so
        concurrent clients spread out but none retries immediately.
        """
        step = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return step / 2 + self.random() * step / 2

    @staticmethod
    def retryable(error: ApiError, repeatable: bool) -> bool:
        """Whether a repeat can get past ``error`` without doing the request's work twice."""
        if isinstance(error, RateLimited):
            return True
        return repeatable and isinstance(error, (ServerError, ApiConnectionError))

    def next_delay(
        self, error: ApiError, *, attempt: int, spent: float, repeatable: bool, step: int | None = None,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when ``error`` must be raised now.

        ``spent`` is the time passed since the request's first attempt began; ``step`` numbers
        the waits that back off (default ``attempt``): waits the server set with Retry-After do
        not count, so a burst of 429s does not leave the next server error a long backoff.
        """
        if not self.retryable(error, repeatable):
            return None
        hint = error.retry_after
        if hint is not None and hint > self.max_retry_after:
            return None
        delay = self.backoff(step or attempt) if hint is None else hint
        if hint is None and isinstance(error, RateLimited):
            delay = max(delay, self.rate_limit_delay)
        if attempt < self.max_attempts:
            return delay
        left = self.max_wait - spent
        if left <= 0 or (hint is not None and hint > left):
            return None
        # Only the budget keeps us going: do not overshoot it, and never hammer the API (a
        # Retry-After of 0 would otherwise spend the rest of the budget in a busy loop).
        return max(self.base_delay, min(delay, left))

    def schedule(self) -> RetrySchedule:
        """A fresh account of one request's attempts and time, to ask :meth:`RetrySchedule.wait` after each failure."""
        return RetrySchedule(self, self.clock())


@dataclass
class RetrySchedule:
    """The attempts and the time of one request (or one job start) under a :class:`RetryPolicy`."""

    policy: RetryPolicy
    started: float
    attempt: int = 0
    backoffs: int = 0

    def wait(self, error: ApiError, *, repeatable: bool) -> bool:
        """After a failed attempt: sleep as the policy says and return True, or False when ``error`` must be raised."""
        self.attempt += 1
        if error.retry_after is None:
            self.backoffs += 1
        spent = self.policy.clock() - self.started
        delay = self.policy.next_delay(error, attempt=self.attempt, spent=spent, repeatable=repeatable,
                                       step=max(1, self.backoffs))
        if delay is None:
            return False
        self.policy.sleep(delay)
        return True


@dataclass
class RequestRecord:
    """One request as remembered by the client: never headers, never query strings."""

    method: str
    path: str
    status: int | None
    request_id: str | None
    attempts: int


@dataclass
class ApiResponse:
    status: int
    headers: t.Mapping[str, str]
    data: t.Any
    request_id: str | None


# --------------------------------------------------------------------------- pagination

class Pagination:
    """Pagination hook: how to ask for the first page, where the items are, how to go on."""

    def first(self, params: dict[str, t.Any], headers: dict[str, str]) -> None:
        """Adjust the first request (in place)."""

    def items(self, response: ApiResponse) -> list[t.Any]:
        data = response.data
        return list(data) if isinstance(data, list) else []

    def next(self, response: ApiResponse, params: dict[str, t.Any], headers: dict[str, str]) -> bool:
        """Adjust params/headers for the next page in place; False when this was the last."""
        return False


class RangePagination(Pagination):
    """Heroku: ``Range: <field> ..; max=N[, order=desc]``, ``206`` plus ``Next-Range`` when more remain."""

    def __init__(self, field_name: str = "id", max_items: int = 1000, order: str | None = None) -> None:
        self.range = f"{field_name} ..; max={max_items}"
        if order:
            self.range += f", order={order}"

    def first(self, params: dict[str, t.Any], headers: dict[str, str]) -> None:
        headers["Range"] = self.range

    def next(self, response: ApiResponse, params: dict[str, t.Any], headers: dict[str, str]) -> bool:
        next_range = response.headers.get("Next-Range")
        if response.status != 206 or not next_range:
            return False
        headers["Range"] = next_range
        return True


# --------------------------------------------------------------------------- client

class ApiClient:
    """A small JSON API client on a keep-alive session.

    ``secrets`` are strings that must never leak (tokens); they are scrubbed from every
    error text, as are the secrets an ``auth`` object reports (its ``secrets()``: keys and
    the access tokens it obtained). ``Authorization`` is set on the session only and never
    rendered.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: t.Mapping[str, str] | None = None,
        secrets: t.Iterable[str] = (),
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        validate_certs: bool = True,
        retry: RetryPolicy | None = None,
        session: t.Any = None,
        error_parser: t.Callable[[t.Any], tuple[str | None, str | None]] = parse_error_body,
        expect_json: bool = True,
        auth: t.Any = None,
    ) -> None:
        if not HAS_REQUESTS:  # pragma: no cover
            raise ApiConnectionError(f"the Python library requests is required: {REQUESTS_IMPORT_ERROR}")
        require_secure_url(base_url)
        self.base_url = base_url.rstrip("/") + "/"
        self.expect_json = expect_json
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry or RetryPolicy()
        self.error_parser = error_parser
        self.history: list[RequestRecord] = []
        self.rate_limit_remaining: int | None = None
        self._secrets = tuple(s for s in secrets if s)
        self._session = session or requests.Session()
        self._session.verify = validate_certs
        self._session.headers.update({"User-Agent": USER_AGENT})
        if headers:
            self._session.headers.update(headers)
        # A requests auth object (Digest, OAuth client credentials) signs every request,
        # including the repeats of a retried one.
        self._auth = auth
        if auth is not None:
            self._session.auth = auth
        self._proxies_by_host: dict[str, dict[str, str]] | None = None
        self._read_environment_once()

    def _read_environment_once(self) -> None:
        """Take the proxy and CA bundle variables from the environment now, not per request.

        With ``trust_env`` requests re-reads every proxy variable and stats ~/.netrc on each
        request, which is most of the client's CPU in a fleet run of hundreds of requests.
        The same settings, with the same precedence, are read once here (proxies per host,
        so ``no_proxy`` still applies); netrc is not wanted since the token is sent explicitly.
        """
        if not self._session.trust_env:
            return
        if self._session.verify is True:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                self._session.verify = bundle
        self._session.trust_env = False
        self._proxies_by_host = {}

    def _proxies_for(self, url: str) -> dict[str, str] | None:
        if self._proxies_by_host is None:
            return None
        host = urlsplit(url).netloc
        if host not in self._proxies_by_host:
            self._proxies_by_host[host] = requests.utils.get_environ_proxies(url)
        return self._proxies_by_host[host]

    def __repr__(self) -> str:
        # Deliberately no headers: they hold the token.
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    # -- public verbs ---------------------------------------------------------------

    def get(self, path: str, **kwargs: t.Any) -> t.Any:
        return self.request("GET", path, **kwargs).data

    def post(self, path: str, **kwargs: t.Any) -> t.Any:
        return self.request("POST", path, **kwargs).data

    def patch(self, path: str, **kwargs: t.Any) -> t.Any:
        return self.request("PATCH", path, **kwargs).data

    def put(self, path: str, **kwargs: t.Any) -> t.Any:
        return self.request("PUT", path, **kwargs).data

    def delete(self, path: str, **kwargs: t.Any) -> t.Any:
        return self.request("DELETE", path, **kwargs).data

    def paginate(
        self,
        path: str,
        pagination: Pagination,
        *,
        params: dict[str, t.Any] | None = None,
        headers: dict[str, str] | None = None,
        limit: int | None = None,
    ) -> list[t.Any]:
        """All items of a listing (or the first ``limit``), following the pagination hook."""
        params = dict(params or {})
        headers = dict(headers or {})
        pagination.first(params, headers)
        items: list[t.Any] = []
        while True:
            response = self.request("GET", path, params=params, headers=headers)
            items.extend(pagination.items(response))
            if limit is not None and len(items) >= limit:
                return items[:limit]
            if not pagination.next(response, params, headers):
                return items

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: t.Any = None,
        form: t.Mapping[str, str] | None = None,
        params: t.Mapping[str, t.Any] | None = None,
        headers: t.Mapping[str, str | None] | None = None,
        idempotent: bool | None = None,
        expect_json: bool | None = None,
        retry: RetryPolicy | None = None,
        auth: t.Any = None,
    ) -> ApiResponse:
        """Send one request, retrying as the policy allows; raise a typed :class:`ApiError`.

        ``idempotent`` declares whether repeating the request is harmless; by default it is
        true for GET/HEAD/OPTIONS/PUT/DELETE only. 429 is retried for every method because
        the server did not process the request. ``expect_json`` (default: the client's)
        makes a 2xx body that is not JSON an :class:`UnexpectedResponse`. ``retry`` replaces
        the client's policy for this request (e.g. a longer outage window for one call).
        ``form`` sends a form-encoded body instead of JSON (OAuth token endpoints); ``auth``
        signs this request instead of the client's auth.
        """
        policy = retry or self.retry
        method = method.upper()
        repeatable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = self._url(path)
        shown_path = urlsplit(url).path  # never the query string: signed URLs carry tokens there
        schedule = policy.schedule()
        while True:
            if schedule.attempt == 0:
                # A retry has just waited as the policy said: no pause on top of it.
                self._slow_down_if_needed()
            try:
                raw = self._session.request(
                    method, url, json=json_body, data=form, params=params, headers=headers, timeout=self.timeout,
                    proxies=self._proxies_for(url), auth=auth,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                error: ApiError = ApiConnectionError(
                    self._scrub(f"connection failed: {type(exc).__name__}"), method=method, path=shown_path,
                )
                status, request_id = None, None
            else:
                self._note_rate_limit(raw.headers)
                status, request_id = raw.status_code, _request_id(raw.headers)
                if raw.status_code < 400:
                    self._remember(method, shown_path, status, request_id, schedule.attempt + 1)
                    wants_json = self.expect_json if expect_json is None else expect_json
                    data = self._success_body(raw, method, shown_path, request_id, wants_json)
                    return ApiResponse(raw.status_code, raw.headers, data, request_id)
                error = self._error_from(raw, method, shown_path, request_id)
            if not schedule.wait(error, repeatable=repeatable):
                self._remember(method, shown_path, status, request_id, schedule.attempt)
                raise error

    def stream_lines(self, url: str, *, read_timeout: float, send_auth: bool = False) -> t.Iterator[str]:
        """Yield decoded lines of a streaming GET (e.g. a log session URL).

        Such URLs are signed and often live on another host, so the Authorization header
        is not sent unless asked for. Not retried: a stream cannot be resumed.
        """
        headers: dict[str, str | None] = {} if send_auth else {"Authorization": None}
        shown_path = urlsplit(url).path
        try:
            raw = self._session.get(
                url, headers=headers, stream=True, timeout=(self.timeout[0], read_timeout),
                proxies=self._proxies_for(url), auth=None if send_auth else _unsigned,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ApiConnectionError(
                self._scrub(f"connection failed: {type(exc).__name__}"), method="GET", path=shown_path,
            ) from None
        request_id = _request_id(raw.headers)
        self._remember("GET", shown_path, raw.status_code, request_id, 1)
        with raw:
            if raw.status_code >= 400:
                raise self._error_from(raw, "GET", shown_path, request_id)
            try:
                yield from _split_lines(raw.raw)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise ApiConnectionError(
                    self._scrub(f"stream interrupted: {type(exc).__name__}"), method="GET", path=shown_path,
                ) from None

    # -- internals ------------------------------------------------------------------

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            require_secure_url(path)
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    def _success_body(self, raw: t.Any, method: str, path: str, request_id: str | None, wants_json: bool) -> t.Any:
        if not raw.content:
            return None
        try:
            return raw.json()
        except ValueError:
            if not wants_json:
                return raw.text
        content_type = raw.headers.get("Content-Type") or "no content type"
        raise UnexpectedResponse(
            self._scrub(f"the answer is not JSON (content type {content_type}, {len(raw.content)} bytes);"
                        " is the API URL right, or is a proxy answering instead of the API?"),
            status=raw.status_code, request_id=request_id, method=method, path=path,
        )

    def _scrub(self, text: str) -> str:
        dynamic = tuple(getattr(self._auth, "secrets", lambda: ())())
        for secret in self._secrets + dynamic:
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def _remember(self, method: str, path: str, status: int | None, request_id: str | None, attempts: int) -> None:
        self.history.append(RequestRecord(method, path, status, request_id, attempts))

    def _error_from(self, raw: t.Any, method: str, path: str, request_id: str | None) -> ApiError:
        body = _decode(raw)
        error_id, message = self.error_parser(body)
        if not message:
            message = raw.reason or "request failed"
            if isinstance(body, str) and body.strip():
                message = body.strip()[:300]
        cls = error_class_for_status(raw.status_code)
        kwargs: dict[str, t.Any] = dict(
            status=raw.status_code, error_id=error_id, request_id=request_id, method=method, path=path,
        )
        if raw.status_code == 429 or raw.status_code >= 500:
            kwargs["retry_after"] = _retry_after_seconds(raw.headers.get("Retry-After"))
        return cls(self._scrub(message), **kwargs)

    def _note_rate_limit(self, headers: t.Mapping[str, str]) -> None:
        for name in REMAINING_HEADERS:
            value = headers.get(name)
            if value is None:
                continue
            try:
                self.rate_limit_remaining = int(float(value))
            except ValueError:
                continue
            return

    def _slow_down_if_needed(self) -> None:
        remaining = self.rate_limit_remaining
        if remaining is not None and remaining < self.retry.low_remaining_threshold:
            self.retry.sleep(self.retry.low_remaining_delay)


def _unsigned(request: t.Any) -> t.Any:
    """An auth that adds nothing: keeps a session's auth object off a request to another host."""
    return request


def _split_lines(stream: t.Any) -> t.Iterator[str]:
    """Lines of a raw urllib3 stream as soon as each arrives.

    ``read1`` returns whatever bytes are available instead of waiting for a full buffer,
    so a slow log stream yields its lines at once (``iter_lines`` would wait for 512 bytes).
    """
    pending = b""
    while True:
        chunk = stream.read1(65536, decode_content=True)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r").decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def is_loopback_host(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str) -> None:
    """Refuse ``http://`` for any host but loopback: the token would travel in clear text."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "https":
        return
    if parts.scheme.lower() == "http" and is_loopback_host(parts.hostname):
        return
    shown = f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    raise InsecureUrl(
        f"refusing the API URL {shown}: use https:// (plain http:// is allowed only for loopback hosts,"
        " 127.0.0.0/8, ::1 and localhost)",
    )


def _request_id(headers: t.Mapping[str, str]) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if headers.get(name):
            return headers[name]
    return None


def _decode(raw: t.Any) -> t.Any:
    if not raw.content:
        return None
    try:
        return raw.json()
    except ValueError:
        return raw.text


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` is either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - _time.time())


# --------------------------------------------------------------------------- waiting

def wait_for(
    fetch: t.Callable[[], t.Any],
    done: t.Callable[[t.Any], bool],
    *,
    timeout: float,
    interval: float,
    what: str = "operation",
    first_interval: float | None = None,
    sleep: t.Callable[[float], None] = _time.sleep,
    clock: t.Callable[[], float] = _time.monotonic,
) -> t.Any:
    """Call ``fetch`` until ``done(state)`` is true; return that state.

    With ``first_interval`` the pauses start there and double up to ``interval``: work that is
    often done within a second or two (a build, an alias job) is seen done about when it is,
    while a long one is still read only every ``interval`` seconds.
    Raises :class:`WaitTimeout` carrying the last state when ``timeout`` seconds pass.
    API errors from ``fetch`` propagate (the client already retried what it could).
    """
    deadline = clock() + timeout
    pause = min(interval, first_interval) if first_interval else interval
    while True:
        state = fetch()
        if done(state):
            return state
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what}", last_state=state)
        sleep(min(pause, remaining))
        pause = min(interval, pause * 2)


# --------------------------------------------------------------------------- starting jobs

Job = t.TypeVar("Job")

FOUND = "found"
CREATED = "created"
RECOVERED = "recovered"


@dataclass
class StartedJob(t.Generic[Job]):
    """The job a :func:`create_or_attach` call ends with, and how it got it.

    ``how`` is ``found`` (already in flight before anything was sent: another run's job),
    ``created`` (the create was answered) or ``recovered`` (the create's answer was lost and
    the job it started was found afterwards).
    """

    job: Job
    how: str

    @property
    def started_here(self) -> bool:
        """Whether this call started the job (``changed`` for a module)."""
        return self.how != FOUND

    @property
    def attached(self) -> bool:
        """Whether the job came from a lookup rather than from the create's answer."""
        return self.how != CREATED


def lost_answer(error: ApiError) -> bool:
    """Whether the server may have acted on a request whose answer did not arrive.

    A broken connection, a timeout or a 5xx can each happen after the server received the
    request and started the work; a 4xx (429 included) is an answer that says it did not.
    """
    return isinstance(error, (ApiConnectionError, ServerError))


def create_or_attach(
    find_running: t.Callable[[], Job | None],
    create: t.Callable[[], Job],
    *,
    retry: RetryPolicy,
    find_started: t.Callable[[], Job | None] | None = None,
) -> StartedJob[Job]:
    """Start a job once, even when the answer to the request that starts it is lost.

    ``find_running`` returns a job already in flight (or None); it is asked first and, when
    it finds one, that job is returned and nothing is created. Otherwise ``create`` sends
    the request that starts a job; it must not retry on its own (a plain POST does not).
    When its answer is lost (see :func:`lost_answer`), the job may have started anyway:
    after the policy's backoff ``find_started`` (default ``find_running``) looks for it, and
    only when it finds none is ``create`` sent again. ``find_started`` should also find a
    job that already finished, since a short job can end before the lookup. The number of
    attempts and the time spent are those of ``retry`` (:meth:`RetryPolicy.next_delay`).
    """
    running = find_running()
    if running is not None:
        return StartedJob(running, FOUND)
    look_again = find_started or find_running
    schedule = retry.schedule()
    while True:
        try:
            return StartedJob(create(), CREATED)
        except ApiError as error:
            if not lost_answer(error) or not schedule.wait(error, repeatable=True):
                raise
        started = look_again()
        if started is not None:
            return StartedJob(started, RECOVERED)


# --------------------------------------------------------------------------- signing in

def digest_auth(username: str, password: str) -> t.Any:
    """HTTP Digest (RFC 7616) for :class:`ApiClient`'s ``auth``: API key pairs (Atlas) sign in this way.

    The first request is answered with a challenge and sent again signed; later requests
    are signed at once with the server's nonce (a stale nonce is answered with a new
    challenge, which is followed once).
    """
    return _DigestAuth(username, password)


class _DigestAuth(AuthBase):  # type: ignore[misc,valid-type]
    """requests' Digest implementation, plus the password as a secret to scrub from error texts."""

    def __init__(self, username: str, password: str) -> None:
        self._digest = requests.auth.HTTPDigestAuth(username, password)
        self._password = password

    def __call__(self, request: t.Any) -> t.Any:
        return self._digest(request)

    def secrets(self) -> tuple[str, ...]:
        return (self._password,)

    def __repr__(self) -> str:
        return "DigestAuth()"


class ClientCredentialsAuth(AuthBase):  # type: ignore[misc,valid-type]
    """OAuth 2.0 client credentials (RFC 6749 4.4) as a requests auth: ``Authorization: Bearer``.

    The access token is asked for at the first request and kept until ``expiry_margin``
    seconds before it expires (``expires_in``), then asked for again; a 401 answer to a
    request sent with a kept token (revoked, or the clocks disagree) drops it and sends the
    request once more with a new one. The token request goes through ``token_client`` (an
    :class:`ApiClient` on the token endpoint's host), so it is retried like any other;
    repeating it is harmless, it only issues another token.
    """

    def __init__(
        self,
        token_client: ApiClient,
        token_path: str,
        client_id: str,
        client_secret: str,
        *,
        expiry_margin: float = 60.0,
        clock: t.Callable[[], float] = _time.time,
    ) -> None:
        self._token_client = token_client
        self._token_path = token_path
        self._basic = requests.auth.HTTPBasicAuth(client_id, client_secret)
        self._client_secret = client_secret
        self._expiry_margin = expiry_margin
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return "ClientCredentialsAuth()"

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._client_secret, self._token) if s)

    def token(self) -> str:
        """The kept access token, or a new one when there is none or it is about to expire."""
        if self._token is None or self._clock() >= self._expires_at - self._expiry_margin:
            self._fetch()
        return t.cast(str, self._token)

    def forget(self) -> None:
        self._token, self._expires_at = None, 0.0

    def _fetch(self) -> None:
        client = self._token_client
        answer = client.request(
            "POST", self._token_path, form={"grant_type": "client_credentials"},
            headers={"Accept": "application/json"}, idempotent=True, auth=self._basic,
        ).data
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise UnexpectedResponse("the token endpoint answered without an access_token", method="POST",
                                     path=self._token_path)
        self._token = str(token)
        self._expires_at = self._clock() + float(answer.get("expires_in") or 0)

    def __call__(self, request: t.Any) -> t.Any:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        request.register_hook("response", self._renew_on_401)
        return request

    def _renew_on_401(self, response: t.Any, **kwargs: t.Any) -> t.Any:
        if response.status_code != 401 or getattr(response.request, "_token_renewed", False):
            return response
        self.forget()
        response.close()
        again = response.request.copy()
        again._token_renewed = True
        again.headers["Authorization"] = f"Bearer {self.token()}"
        renewed = response.connection.send(again, **kwargs)
        renewed.history.append(response)
        renewed.request = again
        return renewed
