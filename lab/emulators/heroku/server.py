"""Wire the pieces together: API server (18100), web router (18101), rendezvous (18103)."""

from __future__ import annotations

import base64
import signal
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from . import API_PORT, HOST, LAB_TOKEN, RENDEZVOUS_PORT, ROUTER_PORT
from .backups_api import BackupsApi
from .httpcore import ApiError, BaseHandler, Request, Response, Router
from .lab import Lab
from .lab_api import LabApi
from .platform_api import PlatformApi
from .rendezvous import RendezvousServer
from .services import cert_paths, ensure_cert
from .web_router import make_router_handler


def bearer_token(request: Request) -> str | None:
    header = request.header("Authorization")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic" and value.strip():
        try:
            _, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return password or None
    return None


class ApiHandler(BaseHandler):
    lab: Lab
    router: Router

    def handle_request(self, request: Request) -> Response:
        lab = self.lab
        request.token = bearer_token(request)
        response: Response | None = None
        try:
            route, params = self.router.match(request.method if request.method != "HEAD" else "GET", request.path)
            request.params = params
            if not route.public:
                self._guard(request)
            response = route.handler(request)
        except ApiError as error:
            response = Response(error.status, {"id": error.ident, "message": error.message}, dict(error.headers))
        if not request.path.startswith("/__"):
            response.headers.setdefault("RateLimit-Remaining", str(lab.limiter.remaining(request.token or "")))
            response.headers.setdefault("Vary", "Accept-Encoding")
        if not request.path.startswith("/__lab"):
            lab.requests.add(request.method, request.path, response.status, request.request_id, request.token)
        return response

    def _guard(self, request: Request) -> None:
        """Auth, then the injected faults, then Heroku's own rate limit."""
        lab = self.lab
        if request.token is None or request.token not in lab.tokens:
            raise ApiError(401, "unauthorized", "Invalid credentials provided.")
        with lab.lock:
            faults = lab.faults
            burst, fail = faults.draw()
        if burst:
            raise ApiError(429, "rate_limit", "Your account reached the API rate limit. Please wait a few minutes "
                                              "before making new requests", {"Retry-After": "1"})
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000.0)
        if fail:
            raise ApiError(faults.error_status, "service_unavailable" if faults.error_status >= 500 else "lab_fault",
                           f"Injected fault ({faults.error_status}) from the lab.")
        allowed, _ = lab.limiter.take(request.token)
        if not allowed:
            raise ApiError(429, "rate_limit", "Your account reached the API rate limit. Please wait a few minutes "
                                              "before making new requests", {"Retry-After": "60"})


def build_api(lab: Lab) -> Router:
    router = Router()
    PlatformApi(lab).register(router)
    BackupsApi(lab).register(router)
    LabApi(lab, router).register(router)
    return router


def serve(tokens: set[str], reset: bool = True) -> None:
    lab = Lab(tokens or {LAB_TOKEN})
    if reset:
        lab.reset()
    router = build_api(lab)
    api_handler = type("BoundApiHandler", (ApiHandler,), {"lab": lab, "router": router})
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    # A fleet run opens dozens of connections at once; the default listen backlog of 5 makes
    # the kernel drop the extra SYNs and those clients stall for a 1 s retransmit.
    ThreadingHTTPServer.request_queue_size = 256
    api = ThreadingHTTPServer((HOST, API_PORT), api_handler)
    web = ThreadingHTTPServer((HOST, ROUTER_PORT), make_router_handler(lab))
    ensure_cert()
    rendezvous = RendezvousServer(lab, HOST, RENDEZVOUS_PORT, *cert_paths())
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (web, rendezvous)]
    for thread in threads:
        thread.start()

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=api.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"heroku emulator: api {HOST}:{API_PORT} router {HOST}:{ROUTER_PORT} rendezvous {HOST}:{RENDEZVOUS_PORT}",
          file=sys.stderr, flush=True)
    api.serve_forever()
    web.shutdown()
    rendezvous.shutdown()
