"""The Coffee Tracker HTTP API."""
from __future__ import annotations

import hmac
import logging
import time
import uuid
from datetime import datetime
from typing import Any, Optional

import psycopg2
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from coffee_tracker import audit, maintenance, release
from coffee_tracker.database import CONNECTION_ERRORS, Database
from coffee_tracker.metrics import Registry
from coffee_tracker.ratelimit import RateLimiter
from coffee_tracker.settings import load_settings

LOG = logging.getLogger("coffee_tracker")

SETTINGS = load_settings()
DB = Database(SETTINGS.database_url)
LIMITER = RateLimiter(SETTINGS.redis_url, SETTINGS.rate_limit, SETTINGS.rate_window_s)
METRICS = Registry()
METRICS.app_info.set(1, SETTINGS.version)
# Replicas share one port with SO_REUSEPORT; this id tells their answers apart.
INSTANCE_ID = uuid.uuid4().hex[:12]

# The operators' gate: answers during maintenance so playbooks can watch real health.
UNGATED_PATHS = frozenset({"/health"})

app = FastAPI(
    title="Coffee Tracker",
    version=SETTINGS.version,
    description="Log coffees and heart rates; track caffeine over time.",
)


class CoffeeIn(BaseModel):
    type: str = Field(..., min_length=1, max_length=50, example="espresso")
    caffeine_mg: int = Field(..., ge=0, le=1000, example=63)
    notes: Optional[str] = Field(None, max_length=500)
    consumed_at: Optional[datetime] = None


class CoffeeOut(BaseModel):
    id: int
    type: str
    caffeine_mg: int
    notes: Optional[str]
    consumed_at: datetime


class HeartRateIn(BaseModel):
    bpm: int = Field(..., ge=20, le=250, example=72)
    context: Optional[str] = Field(None, max_length=200)
    recorded_at: Optional[datetime] = None


class HeartRateOut(BaseModel):
    id: int
    bpm: int
    context: Optional[str]
    recorded_at: datetime


def _route_template(request: Request) -> str:
    # Label metrics by route template, not raw path, to keep their cardinality bounded.
    endpoint = request.scope.get("endpoint")
    for route in app.router.routes:
        if getattr(route, "endpoint", None) is endpoint:
            return getattr(route, "path", "unmatched")
    return "unmatched"


@app.middleware("http")
async def gate_and_measure(request: Request, call_next: Any) -> Response:
    started = time.perf_counter()
    if request.url.path not in UNGATED_PATHS and maintenance.is_on(SETTINGS.maintenance_file):
        response: Response = JSONResponse(
            status_code=503,
            content={"detail": "maintenance",
                     "message": maintenance.message(SETTINGS.maintenance_file)},
            headers={"Retry-After": "60"},
        )
        path = "maintenance"
    else:
        response = await call_next(request)
        path = _route_template(request)
    response.headers["X-Coffee-Instance"] = INSTANCE_ID
    METRICS.http_requests.inc(1, request.method, path, str(response.status_code))
    METRICS.http_duration.observe(time.perf_counter() - started, request.method, path)
    return response


@app.exception_handler(psycopg2.OperationalError)
@app.exception_handler(psycopg2.InterfaceError)
async def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    LOG.warning("database unavailable: %s", exc)
    return JSONResponse(status_code=503, content={"detail": "database unavailable"})


@app.on_event("startup")
def prepare_stores() -> None:
    # The app must come up even when a store is down; it reports that in /health and retries.
    try:
        DB.ensure_schema()
    except CONNECTION_ERRORS as exc:
        LOG.warning("schema not created yet, database unavailable: %s", exc)
    try:
        audit.ensure_schema(SETTINGS.sqlite_path)
    except Exception as exc:  # noqa: BLE001 - any SQLite/OS error only degrades the audit trail
        LOG.warning("audit store unavailable: %s", exc)
    LOG.info("coffee-tracker %s instance %s ready", SETTINGS.version, INSTANCE_ID)


def require_api_key(response: Response, authorization: Optional[str] = Header(None)) -> str:
    """Bearer authentication followed by the per-key rate limit."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not any(
        hmac.compare_digest(token.encode(), key.encode()) for key in SETTINGS.api_keys
    ):
        raise HTTPException(status_code=401, detail="invalid or missing API key",
                            headers={"WWW-Authenticate": "Bearer"})
    decision = LIMITER.hit(token)
    headers = {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset_s),
        "X-RateLimit-Backend": decision.backend,
    }
    if not decision.allowed:
        METRICS.rate_limited.inc(1, decision.backend)
        raise HTTPException(status_code=429, detail="rate limit exceeded",
                            headers={**headers, "Retry-After": str(max(decision.reset_s, 1))})
    response.headers.update(headers)
    return token


def _audit(action: str, entity: str, entity_id: int, detail: dict[str, Any]) -> None:
    # The audit trail is secondary: a failure is counted and logged, the request still succeeds.
    try:
        audit.record(SETTINGS.sqlite_path, action, entity, entity_id, detail)
    except Exception as exc:  # noqa: BLE001
        METRICS.audit_failures.inc(1)
        LOG.error("audit write failed for %s %s: %s", entity, entity_id, exc)


@app.get("/health", tags=["operations"])
def health() -> JSONResponse:
    database_ok = DB.probe(release.HEALTH_PROBE_SQL)
    body = {
        "status": "alive",
        "version": SETTINGS.version,
        "maintenance": maintenance.is_on(SETTINGS.maintenance_file),
        "database": {"status": "healthy" if database_ok else "unhealthy"},
        "redis": {"status": "healthy" if LIMITER.ping() else "unhealthy"},
        "sqlite": {"status": "healthy" if audit.is_healthy(SETTINGS.sqlite_path) else "unhealthy"},
    }
    return JSONResponse(status_code=200 if database_ok else 503, content=body)


@app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
def metrics(authorization: Optional[str] = Header(None)) -> PlainTextResponse:
    if not SETTINGS.metrics_public:
        require_api_key(Response(), authorization)
    return PlainTextResponse(METRICS.render(), media_type="text/plain; version=0.0.4")


@app.get("/", tags=["operations"])
def root() -> dict[str, str]:
    return {"name": "coffee-tracker", "version": SETTINGS.version, "docs": "/docs"}


@app.post("/coffee", status_code=201, response_model=CoffeeOut, tags=["coffee"])
def log_coffee(coffee: CoffeeIn, _key: str = Depends(require_api_key)) -> CoffeeOut:
    with DB.connection() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO coffee_logs (coffee_type, caffeine_mg, notes, consumed_at)"
            " VALUES (%s, %s, %s, COALESCE(%s, now()))"
            " RETURNING id, coffee_type, caffeine_mg, notes, consumed_at",
            (coffee.type, coffee.caffeine_mg, coffee.notes, coffee.consumed_at),
        )
        row = cur.fetchone()
    logged = CoffeeOut(id=row[0], type=row[1], caffeine_mg=row[2], notes=row[3], consumed_at=row[4])
    METRICS.coffee_logged.inc(1, logged.type)
    METRICS.caffeine_mg.inc(logged.caffeine_mg)
    _audit("coffee.logged", "coffee_logs", logged.id,
           {"type": logged.type, "caffeine_mg": logged.caffeine_mg})
    return logged


@app.get("/coffee", response_model=list[CoffeeOut], tags=["coffee"])
def list_coffee(limit: int = Query(50, ge=1, le=1000),
                _key: str = Depends(require_api_key)) -> list[CoffeeOut]:
    with DB.connection() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id, coffee_type, caffeine_mg, notes, consumed_at FROM coffee_logs"
            " ORDER BY consumed_at DESC, id DESC LIMIT %s",
            (limit,),
        )
        rows = cur.fetchall()
    return [CoffeeOut(id=r[0], type=r[1], caffeine_mg=r[2], notes=r[3], consumed_at=r[4])
            for r in rows]


@app.get("/coffee/count", tags=["coffee"])
def count_coffee(_key: str = Depends(require_api_key)) -> dict[str, int]:
    with DB.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM coffee_logs")
        return {"count": int(cur.fetchone()[0])}


if "stats" in release.FEATURES:

    @app.get("/coffee/stats", tags=["coffee"])
    def coffee_stats(days: int = Query(7, ge=1, le=3650),
                     _key: str = Depends(require_api_key)) -> dict[str, Any]:
        with DB.connection() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT coffee_type, count(*), COALESCE(sum(caffeine_mg), 0) FROM coffee_logs"
                " WHERE consumed_at >= now() - make_interval(days => %s)"
                " GROUP BY coffee_type ORDER BY 2 DESC, 1",
                (days,),
            )
            rows = cur.fetchall()
        total_cups = sum(int(r[1]) for r in rows)
        total_mg = sum(int(r[2]) for r in rows)
        return {
            "days": days,
            "total_cups": total_cups,
            "total_caffeine_mg": total_mg,
            "avg_caffeine_mg_per_day": round(total_mg / days, 1),
            "by_type": {r[0]: {"cups": int(r[1]), "caffeine_mg": int(r[2])} for r in rows},
        }


if "heartrate" in release.FEATURES:

    @app.post("/heartrate", status_code=201, response_model=HeartRateOut, tags=["heartrate"])
    def log_heartrate(reading: HeartRateIn,
                      _key: str = Depends(require_api_key)) -> HeartRateOut:
        with DB.connection() as conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO heart_rates (bpm, context, recorded_at)"
                " VALUES (%s, %s, COALESCE(%s, now())) RETURNING id, bpm, context, recorded_at",
                (reading.bpm, reading.context, reading.recorded_at),
            )
            row = cur.fetchone()
        logged = HeartRateOut(id=row[0], bpm=row[1], context=row[2], recorded_at=row[3])
        METRICS.heartrate_logged.inc(1)
        _audit("heartrate.logged", "heart_rates", logged.id, {"bpm": logged.bpm})
        return logged

    @app.get("/heartrate", response_model=list[HeartRateOut], tags=["heartrate"])
    def list_heartrate(limit: int = Query(50, ge=1, le=1000),
                       _key: str = Depends(require_api_key)) -> list[HeartRateOut]:
        with DB.connection() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT id, bpm, context, recorded_at FROM heart_rates"
                " ORDER BY recorded_at DESC, id DESC LIMIT %s",
                (limit,),
            )
            rows = cur.fetchall()
        return [HeartRateOut(id=r[0], bpm=r[1], context=r[2], recorded_at=r[3]) for r in rows]
