"""The projects' production domains: each serves the app its aliased deployment was built as.

``http://127.0.0.1:18201/<domain>/<path>`` (or any path with ``Host: <domain>``) answers as the
deployment that domain points at, with the env vars that deployment was built with: the health
endpoints of seeds 001 and 004, the maintenance page and the feature flags.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg2
import pymongo
import pymongo.errors
import redis

from heroku.httpcore import BaseHandler, Request, Response

from .lab import Lab

MYSETLIST_TABLES = ("shows", "setlists", "songs")
TRUE_WORDS = ("1", "true", "yes", "on", "enabled")


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def maintenance_page(env: dict[str, str], api: bool) -> Response:
    message = env.get("MAINTENANCE_MESSAGE") or "We are performing scheduled maintenance. Please check back soon."
    if api:
        return Response(503, {"status": "maintenance", "maintenance": True, "message": message},
                        {"Retry-After": "300"})
    page = (f"<!doctype html><html><head><title>Maintenance</title></head><body><h1>Under maintenance</h1>"
            f"<p>{message}</p></body></html>")
    return Response(503, page, {"Retry-After": "300"}, content_type="text/html; charset=utf-8")


def feature_flags(env: dict[str, str]) -> dict[str, Any]:
    return {key.removeprefix("FEATURE_").lower(): {"enabled": value.strip().lower() in TRUE_WORDS, "value": value,
                                                   "env": key}
            for key, value in sorted(env.items()) if key.startswith("FEATURE_")}


def _database_check(url: str | None) -> tuple[bool, dict[str, Any]]:
    if not url:
        return False, {"status": "unhealthy", "database": "not configured", "error": "DATABASE_URL is not set"}
    # The latency is one query's round trip on an open connection, as an app with a connection
    # pool sees it: opening a connection (a new PostgreSQL backend) is not what the grade measures.
    try:
        connection = psycopg2.connect(url, connect_timeout=3)
        try:
            with connection.cursor() as cursor:
                started = time.monotonic()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                latency_ms = round((time.monotonic() - started) * 1000, 1)
                counts = {}
                for table in MYSETLIST_TABLES:
                    cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
                    counts[table] = int(cursor.fetchone()[0])
        finally:
            connection.close()
    except psycopg2.Error as error:
        return False, {"status": "unhealthy", "database": "error",
                       "error": str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}
    return True, {"status": "healthy", "database": "connected", "latencyMs": latency_ms, "tables": counts}


def _redis_check(url: str | None) -> tuple[bool, str]:
    if not url:
        return False, "not configured"
    try:
        redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False, "disconnected"
    return True, "connected"


def _mongodb_check(url: str | None) -> tuple[bool, dict[str, Any]]:
    """The runbook's ``db.adminCommand('ping')`` on the app's cluster, and its work orders counted."""
    if not url:
        return False, {"mongodb": "not configured"}
    try:
        with pymongo.MongoClient(url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000) as client:
            database = client.get_default_database()
            database.command("ping")  # connects; the timed ping below is the round trip a pooled app sees
            started = time.monotonic()
            database.command("ping")
            latency_ms = round((time.monotonic() - started) * 1000, 1)
            work_orders = database["workOrders"].count_documents({})
    except (pymongo.errors.PyMongoError, ValueError) as error:
        return False, {"mongodb": "disconnected", "error": type(error).__name__}
    return True, {"mongodb": "connected", "latencyMs": latency_ms,
                  "workOrders": work_orders}


def mysetlist(path: str, env: dict[str, str], deployment: dict[str, Any]) -> Response:
    if path == "/api/health":
        return Response(200, {"status": "ok", "timestamp": _stamp()})
    if path == "/api/health/db":
        healthy, body = _database_check(env.get("DATABASE_URL"))
        return Response(200 if healthy else 503, body)
    if path == "/api/health/comprehensive":
        db_ok, db = _database_check(env.get("DATABASE_URL"))
        checks = {"database": db, "api": {"status": "healthy"},
                  "auth": {"status": "healthy" if env.get("NEXT_PUBLIC_SUPABASE_ANON_KEY") else "unhealthy"}}
        status = "healthy" if db_ok and checks["auth"]["status"] == "healthy" else "unhealthy"
        return Response(200 if status == "healthy" else 503, {
            "status": status, "timestamp": _stamp(), "deploymentId": deployment["id"],
            "version": deployment["meta"].get("githubCommitSha", deployment["id"])[:12], "checks": checks})
    return _common(path, env, deployment)


def fixzit(path: str, env: dict[str, str], deployment: dict[str, Any]) -> Response:
    if path == "/api/health":
        return Response(200, {"status": "ok"})
    if path == "/api/health/ready":
        return Response(200, {"ready": True})
    if path == "/api/health/redis":
        healthy, state = _redis_check(env.get("REDIS_URL"))
        return Response(200 if healthy else 503, {"redis": state})
    if path == "/api/health/db":
        healthy, body = _mongodb_check(env.get("MONGODB_URI"))
        return Response(200 if healthy else 503, body)
    return _common(path, env, deployment)


def _common(path: str, env: dict[str, str], deployment: dict[str, Any]) -> Response:
    if path in ("/api/admin/features", "/api/features"):
        return Response(200, {"features": feature_flags(env), "deploymentId": deployment["id"]})
    if path == "/":
        return Response(200, f"<!doctype html><html><body><h1>{deployment['name']}</h1></body></html>",
                        content_type="text/html; charset=utf-8")
    return Response(404, {"error": {"code": "404", "message": "This page could not be found."}})


APPS = {"mysetlist": mysetlist, "fixzit": fixzit}


def answer(lab: Lab, host: str, path: str) -> Response:
    deployment = lab.serving(host)
    if deployment is None:
        return Response(404, "The deployment could not be found on Vercel.\n\nDEPLOYMENT_NOT_FOUND\n",
                        {"X-Vercel-Error": "DEPLOYMENT_NOT_FOUND"}, content_type="text/plain; charset=utf-8")
    if deployment["readyState"] != "READY":
        code = "DEPLOYMENT_NOT_READY_REDIRECTING" if deployment["readyState"] in ("QUEUED", "BUILDING") else \
            "DEPLOYMENT_NOT_FOUND"
        return Response(404, f"{code}\n", {"X-Vercel-Error": code}, content_type="text/plain; charset=utf-8")
    env = deployment["env"]
    if env.get("MAINTENANCE_MODE", "").strip().lower() in TRUE_WORDS:
        return maintenance_page(env, path.startswith("/api/"))
    if deployment["outcome"] == "unhealthy" and path.startswith("/api/"):
        return Response(500, {"status": "error", "error": "FUNCTION_INVOCATION_FAILED"},
                        {"X-Vercel-Error": "FUNCTION_INVOCATION_FAILED"})
    project = lab.project(deployment["projectId"])
    return APPS.get(project.get("app", ""), _common)(path, env, deployment)


def make_domain_handler(lab: Lab) -> type[BaseHandler]:
    class DomainHandler(BaseHandler):
        server_version = "Vercel"

        def handle_request(self, request: Request) -> Response:
            first, _, rest = request.path.lstrip("/").partition("/")
            if "." in first:
                host, path = first, "/" + rest
            else:
                host, path = request.header("Host").split(":")[0], request.path
            path = path.rstrip("/") or "/"
            response = answer(lab, host, path)
            deployment = lab.serving(host)
            if deployment is not None:
                message = response.body.get("error", "") if isinstance(response.body, dict) else ""
                lab.record_request(deployment, host, request.method, path, response.status,
                                   f"{request.method} {path} {response.status} {message}".strip())
            response.headers.setdefault("X-Vercel-Id", f"iad1::{request.request_id[:12]}")
            return response

    return DomainHandler
