"""The coffee-tracker API against its real stores (PostgreSQL, SQLite, Redis)."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

BASE_URL = "http://127.0.0.1:18000"


def _post_coffee(session: requests.Session, lab: Any, **body: Any) -> requests.Response:
    return session.post(f"{BASE_URL}/coffee", json=body, headers=lab.headers(), timeout=10)


def test_health_reports_every_store_in_the_runbook_shape(lab: Any) -> None:
    response = lab.health()

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "version", "maintenance", "database", "redis", "sqlite"}
    assert body["status"] == "alive"
    assert body["maintenance"] is False
    assert body["database"] == {"status": "healthy"}
    assert body["redis"] == {"status": "healthy"}
    assert body["sqlite"] == {"status": "healthy"}
    # The version is the ref baked into the deployed image, as recorded in the deploy history.
    assert body["version"] == lab.deployments()["current"]["ref"]


def test_post_coffee_writes_postgres_row_and_sqlite_audit_event(lab: Any, http: requests.Session) -> None:
    # Unique values: a restore run beside this suite may bring back rows and ids seen before.
    coffee_type = f"flat white {uuid.uuid4().hex[:8]}"
    note = f"test {uuid.uuid4()}"

    response = _post_coffee(http, lab, type=coffee_type, caffeine_mg=130, notes=note)

    assert response.status_code == 201, response.text
    created = response.json()
    rows = lab.pg_fetchall(
        "SELECT coffee_type, caffeine_mg, notes FROM coffee_logs WHERE id = %s", (created["id"],))
    assert rows == [(coffee_type, 130, note)]
    events = lab.sqlite_fetchall(
        "SELECT action, entity, detail FROM audit_events WHERE entity_id = ? AND detail LIKE ?",
        (created["id"], f"%{coffee_type}%"))
    assert len(events) == 1
    assert events[0][:2] == ("coffee.logged", "coffee_logs")
    assert json.loads(events[0][2]) == {"caffeine_mg": 130, "type": coffee_type}


def test_list_and_count_reflect_the_database(lab: Any, http: requests.Session) -> None:
    created = _post_coffee(http, lab, type="espresso", caffeine_mg=63).json()

    listed = http.get(f"{BASE_URL}/coffee", params={"limit": 5}, headers=lab.headers(), timeout=10)
    counted = http.get(f"{BASE_URL}/coffee/count", headers=lab.headers(), timeout=10)

    assert listed.status_code == 200 and len(listed.json()) == 5
    assert created["id"] in {row["id"] for row in listed.json()}
    (db_count,) = lab.pg_fetchall("SELECT count(*) FROM coffee_logs")[0]
    # Other writers may add rows between the two reads, never remove them.
    assert 0 < counted.json()["count"] <= db_count


def _serves_stats(lab: Any) -> bool:
    # /coffee/stats arrived in v1.1.0; a test run may meet v1.0.0 deployed by a rollback test.
    return lab.health().json()["version"] != "v1.0.0"


def test_stats_aggregate_caffeine_per_type(lab: Any, http: requests.Session) -> None:
    coffee_type = f"ristretto-{uuid.uuid4().hex[:8]}"
    for caffeine in (40, 45):
        assert _post_coffee(http, lab, type=coffee_type, caffeine_mg=caffeine).status_code == 201

    stats = http.get(f"{BASE_URL}/coffee/stats", params={"days": 1}, headers=lab.headers(), timeout=10)

    if not _serves_stats(lab):
        assert stats.status_code == 404
        return
    assert stats.status_code == 200
    assert stats.json()["days"] == 1
    assert stats.json()["by_type"][coffee_type] == {"cups": 2, "caffeine_mg": 85}


def test_heartrate_is_stored_and_listed(lab: Any, http: requests.Session) -> None:
    response = http.post(f"{BASE_URL}/heartrate", json={"bpm": 88, "context": "after coffee"},
                         headers=lab.headers(), timeout=10)

    assert response.status_code == 201
    reading_id = response.json()["id"]
    assert lab.pg_fetchall("SELECT bpm FROM heart_rates WHERE id = %s", (reading_id,)) == [(88,)]
    listed = http.get(f"{BASE_URL}/heartrate", params={"limit": 50}, headers=lab.headers(), timeout=10)
    assert reading_id in {row["id"] for row in listed.json()}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic x"}])
def test_coffee_routes_need_a_valid_api_key(lab: Any, http: requests.Session, headers: dict[str, str]) -> None:
    response = http.get(f"{BASE_URL}/coffee/count", headers=headers, timeout=10)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_invalid_coffee_is_rejected_without_a_row(lab: Any, http: requests.Session) -> None:
    note = f"invalid {uuid.uuid4()}"

    response = _post_coffee(http, lab, type="latte", caffeine_mg=-5, notes=note)

    assert response.status_code == 422
    assert lab.pg_fetchall("SELECT id FROM coffee_logs WHERE notes = %s", (note,)) == []


def test_metrics_count_logged_coffee_in_prometheus_format(lab: Any, http: requests.Session) -> None:
    coffee_type = f"metric-{uuid.uuid4().hex[:8]}"
    # With several replicas each keeps its own counters: read the one that served the POST.
    http.headers["Connection"] = "keep-alive"
    assert _post_coffee(http, lab, type=coffee_type, caffeine_mg=95).status_code == 201

    metrics = http.get(f"{BASE_URL}/metrics", timeout=10)

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert f'coffee_logged_total{{type="{coffee_type}"}} 1' in metrics.text
    assert 'http_requests_total{method="POST",path="/coffee",status="201"}' in metrics.text
    assert "# TYPE http_request_duration_seconds histogram" in metrics.text


def test_openapi_docs_are_served(lab: Any, http: requests.Session) -> None:
    assert http.get(f"{BASE_URL}/docs", timeout=10).status_code == 200
    paths = http.get(f"{BASE_URL}/openapi.json", timeout=10).json()["paths"]
    assert {"/coffee", "/coffee/count", "/heartrate", "/health", "/metrics"} <= set(paths)
    assert ("/coffee/stats" in paths) == _serves_stats(lab)
