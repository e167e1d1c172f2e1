"""The Management API routes (``/v1``), the lab's admin API (``/__lab``) and the server on 18400."""

from __future__ import annotations

import random
import signal
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from heroku.httpcore import ApiError, BaseHandler, Faults, Request, Response, Router

from . import API_PORT, HOST
from .lab import Lab, SupabaseError


def _int_field(body: object, name: str) -> int:
    value = body.get(name) if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SupabaseError(400, f"{name} must be a non-negative integer")
    return value


class ManagementApi:
    """The endpoints a restore needs, as openapi.json describes them."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def register(self, router: Router) -> None:
        router.add("GET", "/v1/projects", self.projects)
        router.add("GET", "/v1/projects/{ref}", self.project)
        router.add("GET", "/v1/projects/{ref}/database/backups", self.backups)
        router.add("POST", "/v1/projects/{ref}/database/backups/restore-pitr", self.restore_pitr)
        router.add("POST", "/v1/projects/{ref}/database/backups/restore", self.restore_backup)

    def projects(self, request: Request) -> Response:
        with self.lab.lock:
            return Response(200, [self.lab.project_api(p) for p in self.lab.projects.values()])

    def project(self, request: Request) -> Response:
        with self.lab.lock:
            return Response(200, self.lab.project_api(self.lab.project(request.params["ref"])))

    def backups(self, request: Request) -> Response:
        return Response(200, self.lab.backups_api(request.params["ref"]))

    def restore_pitr(self, request: Request) -> Response:
        self.lab.restore_pitr(request.params["ref"], _int_field(request.json(), "recovery_time_target_unix"))
        return Response(201, None)

    def restore_backup(self, request: Request) -> Response:
        self.lab.restore_backup(request.params["ref"], _int_field(request.json(), "id"))
        return Response(201, None)


class LabApi:
    """``/__lab`` (no auth): reset, state, on-demand snapshots, knobs, faults, request log."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def register(self, router: Router) -> None:
        for method, path, handler in (
                ("GET", "/__lab/health", self.health), ("POST", "/__lab/reset", self.reset),
                ("GET", "/__lab/projects", self.projects), ("GET", "/__lab/projects/{ref}", self.project),
                ("POST", "/__lab/projects/{ref}/captures", self.capture),
                ("GET", "/__lab/knobs", self.get_knobs), ("POST", "/__lab/knobs", self.set_knobs),
                ("GET", "/__lab/requests", self.requests), ("GET", "/__lab/faults", self.get_faults),
                ("POST", "/__lab/faults", self.set_faults), ("DELETE", "/__lab/faults", self.clear_faults)):
            router.add(method, path, handler, schema=False, public=True)

    def health(self, request: Request) -> Response:
        return Response(200, {"status": "ok", "projects": sorted(self.lab.projects),
                              "last_request_seq": self.lab.requests.last_seq})

    def reset(self, request: Request) -> Response:
        self.lab.reset()
        return self.health(request)

    def projects(self, request: Request) -> Response:
        with self.lab.lock:
            return Response(200, [self.lab.state_api(p) for p in self.lab.projects.values()])

    def project(self, request: Request) -> Response:
        with self.lab.lock:
            return Response(200, self.lab.state_api(self.lab.project(request.params["ref"])))

    def capture(self, request: Request) -> Response:
        kind = (request.json() or {}).get("kind", "pitr")
        if kind not in ("pitr", "physical"):
            raise SupabaseError(400, "kind is pitr or physical")
        return Response(201, self.lab.capture(request.params["ref"], kind))

    def get_knobs(self, request: Request) -> Response:
        return Response(200, self.lab.knobs)

    def set_knobs(self, request: Request) -> Response:
        self.lab.set_knobs(request.json() or {})
        return self.get_knobs(request)

    def requests(self, request: Request) -> Response:
        since = int((request.query.get("since") or ["0"])[-1])
        return Response(200, [r.to_api() for r in self.lab.requests.since(since)])

    def get_faults(self, request: Request) -> Response:
        return Response(200, self.lab.faults.to_api())

    def set_faults(self, request: Request) -> Response:
        body = request.json() or {}
        seed = body.get("seed")
        faults = Faults(latency_ms=int(body.get("latency_ms", 0)), error_rate=float(body.get("error_rate", 0)),
                        error_status=int(body.get("error_status", 500)),
                        rate_limit_burst=int(body.get("rate_limit_burst", 0)), seed=seed, rng=random.Random(seed))
        if not 0 <= faults.error_rate <= 1:
            raise SupabaseError(400, "error_rate is between 0 and 1")
        with self.lab.lock:
            self.lab.faults = faults
        return self.get_faults(request)

    def clear_faults(self, request: Request) -> Response:
        with self.lab.lock:
            self.lab.faults = Faults()
        return self.get_faults(request)


class ApiHandler(BaseHandler):
    lab: Lab
    router: Router
    server_version = "appops-supabase-emulator/1.0"

    def handle_request(self, request: Request) -> Response:
        scheme, _, value = request.header("Authorization").partition(" ")
        request.token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
        headers: dict[str, str] = {}
        try:
            try:
                route, request.params = self.router.match(request.method, request.path)
            except ApiError as error:
                raise SupabaseError(error.status, "Cannot " + request.method + " " + request.path) from None
            if not route.public:
                headers = self._guard(request)
            response = route.handler(request)
        except SupabaseError as error:
            response = Response(error.status, {"message": error.message}, dict(error.headers))
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith("/__lab"):
            self.lab.requests.add(request.method, request.path, response.status, request.request_id, request.token)
        return response

    def _guard(self, request: Request) -> dict[str, str]:
        """The access token, then the injected faults, then the rate limit (120 a minute per token)."""
        lab = self.lab
        if request.token is None or request.token not in lab.tokens:
            raise SupabaseError(401, "Unauthorized")
        with lab.lock:
            burst, fail = lab.faults.draw()
            latency, status = lab.faults.latency_ms, lab.faults.error_status
        if latency:
            time.sleep(latency / 1000.0)
        allowed, remaining = lab.rate.take(request.token)
        headers = {"X-RateLimit-Limit": str(lab.rate.capacity), "X-RateLimit-Remaining": str(remaining)}
        if burst or not allowed:
            raise SupabaseError(429, "Rate limit exceeded", {**headers, "X-RateLimit-Remaining": "0",
                                                             "Retry-After": "1"})
        if fail:
            raise SupabaseError(status, f"Injected fault ({status}) from the lab.", headers)
        return headers


def build_router(lab: Lab) -> Router:
    router = Router()
    ManagementApi(lab).register(router)
    LabApi(lab).register(router)
    return router


def serve(lab: Lab) -> None:
    handler = type("BoundApiHandler", (ApiHandler,), {"lab": lab, "router": build_router(lab)})
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer((HOST, API_PORT), handler)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"supabase emulator: api {HOST}:{API_PORT}", file=sys.stderr, flush=True)
    server.serve_forever()
