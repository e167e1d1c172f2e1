"""The API server: auth (Digest or OAuth bearer), media-type versions, faults, rate limit, admin API."""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from . import GROUP_ID, HOST, api_port, state_dir
from . import auth
from .api import AtlasApi, public
from .httpcore import ApiError, BaseHandler, Faults, Request, Response, Router
from .lab import Lab

MEDIA_TYPE = re.compile(r"application/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json")
LEGACY_DEFAULT = "2023-01-01"  # what Atlas serves to a client that names no version


def requested_version(request: Request) -> str | None:
    """The version the Accept header names; None when it names none (plain JSON or nothing)."""
    found = MEDIA_TYPE.search(request.header("Accept"))
    return found.group(1) if found else None


def negotiate(request: Request, versions: tuple[str, ...]) -> str:
    wanted = requested_version(request)
    if wanted is None:
        wanted = LEGACY_DEFAULT
    if wanted not in versions:
        raise ApiError(406, "INVALID_VERSION_DATE",
                       f"Invalid accept header or version date: version {wanted} of {request.path.lstrip('/')} is not "
                       f"supported; supported versions: {', '.join(versions)}.",
                       parameters=[wanted, request.path.lstrip("/")])
    if request.body.strip():
        sent = MEDIA_TYPE.search(request.header("Content-Type"))
        if sent and sent.group(1) != wanted:
            raise ApiError(415, "INVALID_CONTENT_TYPE", "The Content-Type version must match the Accept version.")
    return wanted


class ApiHandler(BaseHandler):
    lab: Lab
    router: Router

    def handle_request(self, request: Request) -> Response:
        lab = self.lab
        extra: dict[str, str] = {}
        try:
            route, params = self.router.match("GET" if request.method == "HEAD" else request.method, request.path)
            request.params = params
            if not route.public:
                self._authenticate(request)
                request.version = negotiate(request, route.versions)
                extra = self._guard(request)
            response = route.handler(request)
            if request.version and response.status < 400:
                response.content_type = f"application/vnd.atlas.{request.version}+json"
        except ApiError as error:
            response = Response(error.status, error.body(), dict(error.headers))
        response.headers.update(extra)
        if not request.path.startswith("/__lab"):
            lab.requests.add(request, response.status)
        return response

    def _authenticate(self, request: Request) -> None:
        header = request.header("Authorization")
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "digest":
            keys = {k["publicKey"]: k["privateKey"] for k in self.lab.store.list("apikey")}
            request.principal = auth.check_digest(request, header, keys)
            return
        if scheme == "bearer":
            token = self.lab.store.get("token", header.split(" ", 1)[1].strip())
            if token is None:
                raise auth.unauthorized()
            if time.time() >= token["expiresAt"]:
                raise auth.unauthorized(detail="The access token has expired.")
            request.principal = f"serviceaccount:{token['clientId']}"
            return
        raise auth.unauthorized()

    def _guard(self, request: Request) -> dict[str, str]:
        """Injected faults, then the per-principal token bucket; returns the rate-limit headers."""
        lab = self.lab
        with lab.lock:
            faults = lab.faults
            burst = faults.rate_limit_burst > 0
            if burst:
                faults.rate_limit_burst -= 1
            fail = faults.error_rate > 0 and faults.rng.random() < faults.error_rate
        limit = {"RateLimit-Limit": str(lab.limiter.capacity)}
        if burst:
            raise ApiError(429, "RATE_LIMITED", "Too many requests (injected by the lab).",
                           {**limit, "RateLimit-Remaining": "0", "Retry-After": "1"})
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000.0)
        if fail:
            raise ApiError(faults.error_status, "UNEXPECTED_ERROR" if faults.error_status >= 500 else "LAB_FAULT",
                           f"Injected fault ({faults.error_status}) from the lab.")
        allowed, remaining, wait = lab.limiter.take(request.principal or "")
        headers = {**limit, "RateLimit-Remaining": str(remaining)}
        if not allowed:
            raise ApiError(429, "RATE_LIMITED", "You have exceeded the rate limit for this resource.",
                           {**headers, "Retry-After": str(wait)})
        return headers


def oauth_error(status: int, code: str, description: str) -> Response:
    return Response(status, {"error": code, "error_description": description})


class OAuthApi:
    """``POST /api/oauth/token`` (client credentials) and ``POST /api/oauth/revoke``."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def register(self, router: Router) -> None:
        router.add("POST", "/api/oauth/token", self.token, public=True)
        router.add("POST", "/api/oauth/revoke", self.revoke, public=True)

    def client(self, request: Request) -> str | None:
        form = parse_qs(request.body.decode(errors="replace"))
        credentials = auth.basic_credentials(request.header("Authorization"))
        if credentials is None and form.get("client_id"):
            credentials = (form["client_id"][0], (form.get("client_secret") or [""])[0])
        if credentials is None:
            return None
        account = self.lab.store.get("serviceaccount", credentials[0])
        if account is None or account["secret"] != credentials[1]:
            return None
        return credentials[0]

    def token(self, request: Request) -> Response:
        form = parse_qs(request.body.decode(errors="replace"))
        client_id = self.client(request)
        if client_id is None:
            response = oauth_error(401, "invalid_client", "Client authentication failed.")
            response.headers["WWW-Authenticate"] = 'Basic realm="oauth"'
            return response
        if (form.get("grant_type") or [""])[0] != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported.")
        ttl = int(self.lab.knobs["token_ttl_seconds"])
        record = auth.token_record(client_id, ttl)
        self.lab.store.put("token", record["id"], record)
        return Response(200, {"access_token": record["id"], "expires_in": ttl, "token_type": "Bearer"},
                        {"Cache-Control": "no-store"})

    def revoke(self, request: Request) -> Response:
        if self.client(request) is None:
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        token = (parse_qs(request.body.decode(errors="replace")).get("token") or [""])[0]
        self.lab.store.delete("token", token)
        return Response(200, None)


class LabApi:
    """``/__lab/``: reset, knobs, faults, rate limit, request log, state, scheduled snapshots, downloads."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/__lab/health", self.health, public=True)
        add("POST", "/__lab/reset", self.reset, public=True)
        add("GET", "/__lab/requests", self.requests, public=True)
        add("POST", "/__lab/faults", self.set_faults, public=True)
        add("DELETE", "/__lab/faults", self.clear_faults, public=True)
        add("POST", "/__lab/rate-limit", self.rate_limit, public=True)
        add("GET", "/__lab/knobs", self.get_knobs, public=True)
        add("POST", "/__lab/knobs", self.set_knobs, public=True)
        add("GET", "/__lab/state", self.state, public=True)
        add("POST", "/__lab/clusters", self.add_clusters, public=True)
        add("POST", "/__lab/clusters/{clusterName}/scheduled-snapshot", self.scheduled_snapshot, public=True)
        add("POST", "/__lab/journal/sample", self.sample_journal, public=True)
        add("GET", "/__lab/downloads/{jobId}/{fileName}", self.download, public=True)

    def health(self, request: Request) -> Response:
        clusters = {c["name"]: {"port": c["_port"], "stateName": c["stateName"], "instanceSize": c["instanceSize"]}
                    for c in self.lab.store.list("cluster")}
        return Response(200, {"status": "ok", "clusters": clusters, "last_seq": self.lab.requests.last_seq})

    def reset(self, request: Request) -> Response:
        self.lab.reset()
        return Response(200, {"status": "reset"})

    def requests(self, request: Request) -> Response:
        since = request.int_arg("since", 0)
        return Response(200, [r.to_api() for r in self.lab.requests.since(since)])

    def set_faults(self, request: Request) -> Response:
        body = request.json()
        faults = self.lab.faults
        with self.lab.lock:
            for key in ("latency_ms", "error_rate", "error_status", "rate_limit_burst", "seed"):
                if key in body:
                    setattr(faults, key, body[key])
            if body.get("seed") is not None:
                faults.rng.seed(body["seed"])
        return Response(200, faults.to_api())

    def clear_faults(self, request: Request) -> Response:
        self.lab.faults = Faults()
        return Response(200, self.lab.faults.to_api())

    def rate_limit(self, request: Request) -> Response:
        body = request.json()
        self.lab.limiter.configure(body.get("capacity"), body.get("refill_per_minute"))
        return Response(200, {"capacity": self.lab.limiter.capacity,
                              "refill_per_minute": self.lab.limiter.refill_per_minute})

    def get_knobs(self, request: Request) -> Response:
        return Response(200, self.lab.knobs)

    def set_knobs(self, request: Request) -> Response:
        return Response(200, self.lab.set_knobs(request.json()))

    def state(self, request: Request) -> Response:
        """Internal state, bookkeeping included (ports, capture times, document counts)."""
        store = self.lab.store
        return Response(200, {kind: store.list(kind) for kind in ("group", "cluster", "snapshot", "restore", "access")})

    def add_clusters(self, request: Request) -> Response:
        """Empty clusters (no MongoDB server; their snapshots capture nothing): ``{"names": [...], "instanceSize"}``."""
        body = request.json() or {}
        names = [str(name) for name in body.get("names") or []]
        added = self.lab.add_empty_clusters(names, str(body.get("instanceSize") or "M10"))
        return Response(200, {"added": [cluster["name"] for cluster in added]})

    def scheduled_snapshot(self, request: Request) -> Response:
        group_id = request.arg("groupId", GROUP_ID) or GROUP_ID
        cluster = self.lab.cluster(group_id, request.params["clusterName"])
        snap = self.lab.scheduled_snapshot(cluster)
        return Response(200, public(snap) if snap else {})

    def sample_journal(self, request: Request) -> Response:
        self.lab.sample_journal()
        return Response(200, {"status": "sampled"})

    def download(self, request: Request) -> Response:
        job = self.lab.store.get("restore", request.params["jobId"])
        archive = self.lab.state / "downloads" / f"{request.params['jobId']}.tar.gz"
        if job is None or job.get("expired") or not archive.exists():
            raise ApiError(410 if job else 404, "DOWNLOAD_EXPIRED" if job else "RESOURCE_NOT_FOUND",
                           "This download link is no longer valid.")
        return Response(200, archive.read_bytes(), content_type="application/gzip")


def build(lab: Lab) -> Router:
    router = Router()
    AtlasApi(lab).register(router)
    OAuthApi(lab).register(router)
    LabApi(lab).register(router)
    return router


def serve() -> None:
    lab = Lab(state_dir())
    lab.ensure_seeded()
    lab.journal.interval = float(lab.knobs["journal_interval"])
    router = build(lab)
    handler = type("BoundApiHandler", (ApiHandler,), {"lab": lab, "router": router})
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer((HOST, api_port()), handler)
    lab.run_background()

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"atlas emulator: api {HOST}:{api_port()} state {state_dir()}", file=sys.stderr, flush=True)
    server.serve_forever()
    lab.stop()
