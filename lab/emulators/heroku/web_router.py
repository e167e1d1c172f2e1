"""The emulated apps' web router: ``http://127.0.0.1:18101/<app>/...``.

Health follows seed 000's service levels, measured for real: the app's PostgreSQL
(connect + ``SELECT 1``, plus the injected latency) or, for micmap's MongoDB that the lab
does not run, the injected latency alone; Redis is pinged at the app's ``REDIS_URL``.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from . import database
from .httpcore import BaseHandler, Request, Response
from .lab import Lab
from .model import App, iso

MAINTENANCE_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Offline for Maintenance</title></head>
<body><h1>Application Unavailable - Scheduled Maintenance</h1>
<p>This app is undergoing maintenance right now. Please check back later.</p></body></html>
"""


def _check_database(app: App) -> dict[str, Any]:
    knobs = app.knobs
    if app.postgres() is not None:
        measured = database.probe(database.database_for(app.name))
        if measured is None:
            return {"status": "down", "responseTime": None}
        time.sleep(knobs.db_latency_ms / 1000.0)
        return {"status": "up", "responseTime": round(measured + knobs.db_latency_ms)}
    if knobs.db_down:
        return {"status": "down", "responseTime": None}
    time.sleep(knobs.db_latency_ms / 1000.0)
    return {"status": "up", "responseTime": knobs.db_latency_ms + 3}


def _check_redis(app: App) -> dict[str, Any] | None:
    url = app.config_now().get("REDIS_URL")
    if not url:
        return None
    if app.knobs.redis_down:
        return {"status": "down"}
    try:
        redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
    except (redis.RedisError, ValueError):
        return {"status": "down"}
    return {"status": "up"}


def evaluate_health(app: App) -> tuple[int, dict[str, Any]]:
    """200 healthy, 207 degraded (DB 100-500 ms or Redis down), 503 unhealthy (DB down/>500 ms, crash)."""
    db = _check_database(app)
    cache = _check_redis(app)
    current = app.current_release()
    checks: dict[str, Any] = {"database": db}
    if cache is not None:
        checks["redis"] = cache
    if app.crashing():
        status, code = "unhealthy", 503
        checks["app"] = {"status": "crashed", "release": f"v{current.version}" if current else None}
    elif db["status"] == "down" or (db["responseTime"] or 0) > 500:
        status, code = "unhealthy", 503
    elif (db["responseTime"] or 0) >= 100 or (cache is not None and cache["status"] == "down"):
        status, code = "degraded", 207
    else:
        status, code = "healthy", 200
    body = {"status": status, "timestamp": iso(time.time()), "uptime": int(time.time() - app.dynos_booted_at),
            "release": f"v{current.version}" if current else None, "checks": checks}
    return code, body


class RouterHandler(BaseHandler):
    lab: Lab

    def handle_request(self, request: Request) -> Response:
        started = time.monotonic()
        response = self._route(request)
        app_name = request.path.strip("/").split("/", 1)[0]
        with self.lab.lock:
            app = self.lab.apps.get(app_name)
        if app is not None:
            elapsed = int((time.monotonic() - started) * 1000)
            sub_path = "/" + request.path.strip("/").split("/", 1)[1] if "/" in request.path.strip("/") else "/"
            self.lab.log(app, "heroku", "router", f'at=info method={request.method} path="{sub_path}" '
                                                  f'host={app.name}.herokuapp.com request_id={request.request_id} '
                                                  f'status={response.status} service={elapsed}ms')
        return response

    def _route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/", 1)
        with self.lab.lock:
            app = self.lab.apps.get(parts[0])
        if app is None:
            return Response(404, _no_such_app(), content_type="text/html; charset=utf-8")
        sub_path = "/" + (parts[1] if len(parts) > 1 else "")
        if app.maintenance:
            return self._maintenance(request)
        if sum(f.quantity for f in app.formation.values() if f.type == "web") == 0:
            return Response(503, {"error": "H14", "message": "No web dynos running"})
        if sub_path in ("/health", "/health/deep"):
            code, body = evaluate_health(app)
            if sub_path == "/health":
                body = {k: v for k, v in body.items() if k != "checks"}
            return Response(code, body)
        if sub_path == "/healthz":
            code, body = evaluate_health(app)
            ok = code != 503
            return Response(200 if ok else 503, {"status": "ok" if ok else "error", "timestamp": body["timestamp"]})
        if app.crashing():
            return Response(503, _app_error(), content_type="text/html; charset=utf-8")
        if sub_path == "/":
            return Response(200, {"app": app.name, "release": body_release(app)})
        if sub_path == "/api/v1/mics" and app.kind == "node":
            return Response(200, {"count": app.mics, "mics": []})
        return Response(404, {"error": "Not Found", "path": sub_path})

    def _maintenance(self, request: Request) -> Response:
        if "application/json" in request.header("Accept"):
            return Response(503, {"status": "maintenance",
                                  "message": "Application Unavailable - Scheduled Maintenance"},
                            {"Retry-After": "60"})
        return Response(503, MAINTENANCE_HTML, {"Retry-After": "60"}, content_type="text/html; charset=utf-8")


def body_release(app: App) -> str | None:
    current = app.current_release()
    return f"v{current.version}" if current else None


def _no_such_app() -> str:
    return "<!DOCTYPE html><html><body><h1>There's nothing here, yet.</h1></body></html>\n"


def _app_error() -> str:
    return ("<!DOCTYPE html><html><body><h1>Application error</h1><p>An error occurred in the application and "
            "your page could not be served.</p></body></html>\n")


def make_router_handler(lab: Lab) -> type[RouterHandler]:
    return type("BoundRouterHandler", (RouterHandler,), {"lab": lab})



