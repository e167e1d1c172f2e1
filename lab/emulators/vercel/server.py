"""Wire the pieces together: the REST API (18200) and the production domains (18201)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from heroku.httpcore import ApiError, BaseHandler, Request, Response, Router

from . import API_PORT, DOMAIN_PORT, HOST, LAB_TOKEN, TEAM_ID, TEAM_SLUG
from .apps import make_domain_handler
from .lab import Lab, VercelError
from .lab_api import LabApi
from .rest_api import RestApi

# Per-endpoint limits per minute: lab defaults (the spec gives no figures), moved with /__lab/rate-limit.
DEFAULT_LIMITS = {"POST /v13/deployments": 120, "POST /v10/projects/{idOrName}/env": 120,
                  "PATCH /v9/projects/{idOrName}/env/{id}": 120, "DELETE /v9/projects/{idOrName}/env/{id}": 120,
                  "POST /v10/projects/{projectId}/promote/{deploymentId}": 60,
                  "POST /v9/projects/{projectId}/rollback/{deploymentId}": 60,
                  "POST /v1/projects/{projectId}/rollback/{deploymentId}": 60,
                  "POST /v2/deployments/{id}/aliases": 120, "*": 1000}


def error_body(status: int, code: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message}}


class ApiHandler(BaseHandler):
    lab: Lab
    router: Router
    server_version = "appops-vercel-emulator/1.0"

    def handle_request(self, request: Request) -> Response:
        lab = self.lab
        header = request.header("Authorization")
        scheme, _, value = header.partition(" ")
        request.token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
        limit_headers: dict[str, str] = {}
        try:
            try:
                route, params = self.router.match(request.method if request.method != "HEAD" else "GET",
                                                  request.path)
            except ApiError as error:
                raise VercelError(error.status, "not_found" if error.status == 404 else "method_not_allowed",
                                  "The requested endpoint was not found." if error.status == 404 else error.message)
            request.params = params
            if not route.public:
                limit_headers = self._guard(request, f"{route.method} {route.template}")
            lab.settle()
            response = route.handler(request)
        except VercelError as error:
            body = error_body(error.status, error.code, error.message)
            body["error"].update(error.extra)
            response = Response(error.status, body, dict(error.headers))
        except ApiError as error:
            response = Response(error.status, error_body(error.status, error.ident, error.message),
                                dict(error.headers))
        for name, value in limit_headers.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith("/__lab"):
            lab.requests.add(request.method, request.path, response.status, request.request_id, request.token)
        return response

    def _guard(self, request: Request, key: str) -> dict[str, str]:
        """Auth and team scope, then the injected faults, then the endpoint's rate limit."""
        lab = self.lab
        if request.token is None or request.token not in lab.tokens:
            raise VercelError(403, "forbidden", "Not authorized")
        team = (request.query.get("teamId") or request.query.get("slug") or [""])[-1]
        if team and team not in (TEAM_ID, TEAM_SLUG):
            raise VercelError(403, "forbidden", "Not authorized: you are not a member of this team")
        with lab.lock:
            faults = lab.faults
            burst, fail = faults.draw()
            latency = faults.latency_ms
        if latency:
            time.sleep(latency / 1000.0)
        limit_key = key if key in lab.rate_limits or key in DEFAULT_LIMITS else "*"
        total = lab.rate_limits.get(limit_key, DEFAULT_LIMITS.get(limit_key, 1000))
        with lab.lock:
            window = lab.rate_window_seconds
            start, used = lab.rate_windows.get((request.token, limit_key), (time.time(), 0))
            if time.time() - start >= window:
                start, used = time.time(), 0
            allowed = used < total and not burst
            if allowed:
                used += 1
            lab.rate_windows[(request.token, limit_key)] = (start, used)
        reset = int(start + window)
        headers = {"X-RateLimit-Limit": str(total), "X-RateLimit-Remaining": str(max(0, total - used)),
                   "X-RateLimit-Reset": str(reset)}
        if not allowed:
            retry = max(1, reset - int(time.time())) if not burst else 1
            raise VercelError(429, "rate_limited", f"Rate limit exceeded. Try again in {retry} seconds.",
                              {**headers, "X-RateLimit-Remaining": "0", "Retry-After": str(retry)},
                              {"limit": {"total": total, "remaining": 0, "reset": reset, "resetMs": reset * 1000}})
        if fail:
            raise VercelError(faults.error_status, "internal_server_error" if faults.error_status >= 500
                              else "lab_fault", f"Injected fault ({faults.error_status}) from the lab.", headers)
        return headers


def build_api(lab: Lab) -> Router:
    router = Router()
    RestApi(lab).register(router)
    LabApi(lab, router).register(router)
    return router


def serve(lab: Lab) -> None:
    router = build_api(lab)
    api_handler = type("BoundApiHandler", (ApiHandler,), {"lab": lab, "router": router})
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.request_queue_size = 256
    api = ThreadingHTTPServer((HOST, API_PORT), api_handler)
    domains = ThreadingHTTPServer((HOST, DOMAIN_PORT), make_domain_handler(lab))
    threading.Thread(target=domains.serve_forever, daemon=True).start()

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=api.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"vercel emulator: api {HOST}:{API_PORT} domains {HOST}:{DOMAIN_PORT}", file=sys.stderr, flush=True)
    api.serve_forever()
    domains.shutdown()


__all__ = ["serve", "LAB_TOKEN"]
