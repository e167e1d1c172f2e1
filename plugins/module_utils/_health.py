# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health of an app from its health endpoint's answer: healthy, degraded or unhealthy.

Private to this collection; the health_status filter and the app_health module share it, so the
controller and the app host judge an answer the same way. Status codes follow the MicMap
runbook (200 healthy, 207 degraded, 503 unhealthy); the body can only make things worse.
"""

from __future__ import annotations

import json
import typing as t

HEALTHY = "healthy"
DEGRADED = "degraded"
UNHEALTHY = "unhealthy"
RANK = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}
GOOD_WORDS = {"healthy", "alive", "ok", "up", "pass", "connected"}
DEGRADED_WORDS = {"degraded", "warn", "warning", "slow"}
DATABASE_KEYS = {"database", "db", "postgres", "postgresql", "mongodb", "mongo", "sqlite", "supabase"}
CACHE_KEYS = {"redis", "cache"}
LATENCY_KEYS = ("latency_ms", "response_time_ms", "responseTimeMs", "responseTime", "latencyMs")


def classify_code(code: t.Any) -> str:
    try:
        number = int(code)
    except (TypeError, ValueError):
        return UNHEALTHY
    if number == 200:
        return HEALTHY
    if number == 207:
        return DEGRADED
    return UNHEALTHY


def classify_word(word: t.Any) -> str | None:
    if not isinstance(word, str):
        return None
    lowered = word.strip().lower()
    if lowered in GOOD_WORDS:
        return HEALTHY
    if lowered in DEGRADED_WORDS:
        return DEGRADED
    return UNHEALTHY if lowered else None


def parse_body(body: t.Any) -> dict[str, t.Any]:
    if isinstance(body, dict):
        return body
    if isinstance(body, (str, bytes)) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def component_latency(component: dict[str, t.Any]) -> float | None:
    for key in LATENCY_KEYS:
        value = component.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def judge_components(body: dict[str, t.Any], degraded_ms: float, unhealthy_ms: float) -> list[tuple[str, str]]:
    """(status, reason) for every database or cache component the body reports."""
    verdicts: list[tuple[str, str]] = []
    components = dict(body)
    nested = body.get("checks") or body.get("services") or body.get("components")
    if isinstance(nested, dict):
        components.update(nested)
    for name, component in components.items():
        key = str(name).lower()
        is_database, is_cache = key in DATABASE_KEYS, key in CACHE_KEYS
        if not (is_database or is_cache):
            continue
        state = classify_word(component.get("status") if isinstance(component, dict) else component)
        if state is not None and state != HEALTHY:
            verdicts.append((UNHEALTHY if is_database and state == UNHEALTHY else DEGRADED, f"{name} is {state}"))
        if is_database and isinstance(component, dict):
            latency = component_latency(component)
            if latency is not None and latency > unhealthy_ms:
                verdicts.append((UNHEALTHY, f"{name} latency {latency:g} ms > {unhealthy_ms:g} ms"))
            elif latency is not None and latency >= degraded_ms:
                verdicts.append((DEGRADED, f"{name} latency {latency:g} ms >= {degraded_ms:g} ms"))
    return verdicts


def health_report(code: t.Any, body: t.Any = None, degraded_ms: float = 100, unhealthy_ms: float = 500) -> dict[str, t.Any]:
    status = classify_code(code)
    reasons = [] if status == HEALTHY else [f"HTTP {code}"]
    parsed = parse_body(body)
    verdicts = judge_components(parsed, float(degraded_ms), float(unhealthy_ms))
    top = classify_word(parsed.get("status"))
    if top is not None and top != HEALTHY:
        verdicts.append((top, f"status {parsed.get('status')}"))
    for verdict, reason in verdicts:
        reasons.append(reason)
        if RANK[verdict] > RANK[status]:
            status = verdict
    return {"status": status, "reasons": reasons}
