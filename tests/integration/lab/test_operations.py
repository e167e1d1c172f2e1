"""Operational behaviour: maintenance, rate limiting, store outages, horizontal scaling."""
from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

BASE_URL = "http://127.0.0.1:18000"


def _wait_for(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture()
def maintenance_on(lab: Any) -> Iterator[str]:
    """Switches maintenance on through the marker file and puts back whatever was there."""
    marker = lab.project_dir / "state" / "maintenance.json"
    previous = marker.read_bytes() if marker.exists() else None
    message = "Restoring last night's backup, back in 10 minutes."
    marker.write_text(json.dumps({"message": message, "since": "2025-01-01T00:00:00Z"}))
    try:
        yield message
    finally:
        if previous is None:
            marker.unlink(missing_ok=True)
        else:
            marker.write_bytes(previous)


def test_maintenance_file_gates_every_route_but_health(lab: Any, maintenance_on: str) -> None:
    for method, path in (("GET", "/coffee"), ("POST", "/coffee"), ("GET", "/coffee/count"),
                         ("GET", "/metrics"), ("GET", "/docs"), ("GET", "/")):
        response = requests.request(method, f"{BASE_URL}{path}", headers=lab.headers(),
                                    json={"type": "latte", "caffeine_mg": 1}, timeout=10)
        assert response.status_code == 503, path
        assert response.json() == {"detail": "maintenance", "message": maintenance_on}, path

    health = lab.health()
    assert health.status_code == 200
    assert health.json()["maintenance"] is True


def test_maintenance_ends_when_the_file_goes(lab: Any, http: requests.Session) -> None:
    marker = lab.project_dir / "state" / "maintenance.json"
    assert not marker.exists(), "another run left maintenance on"

    response = http.get(f"{BASE_URL}/coffee/count", headers=lab.headers(), timeout=10)

    assert response.status_code == 200
    assert lab.health().json()["maintenance"] is False


@pytest.fixture()
def fresh_rate_counter(lab: Any) -> Iterator[str]:
    """The test key's Redis counter, cleared before and after the test."""
    key = lab.rate_counter_key(lab.test_api_key)
    client = lab.redis()
    client.delete(key)
    try:
        yield key
    finally:
        client.delete(key)


def test_rate_limit_answers_429_after_the_limit_with_counter_in_redis(
        lab: Any, http: requests.Session, fresh_rate_counter: str) -> None:
    limit = int(lab.env["COFFEE_RATE_LIMIT"])
    window = int(lab.env["COFFEE_RATE_WINDOW_SECONDS"])
    headers = lab.headers(lab.test_api_key)

    url = f"{BASE_URL}/coffee?limit=1"
    codes = [http.get(url, headers=headers, timeout=10).status_code for _attempt in range(limit)]
    refused = http.get(url, headers=headers, timeout=10)

    assert codes == [200] * limit
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Backend"] == "redis"
    assert 1 <= int(refused.headers["Retry-After"]) <= window
    client = lab.redis()
    assert int(client.get(fresh_rate_counter)) == limit + 1
    assert 0 < client.ttl(fresh_rate_counter) <= window
    # The limit is per key: the operators' key is unaffected.
    assert http.get(url, headers=lab.headers(), timeout=10).status_code == 200


@pytest.fixture()
def redis_stopped(lab: Any) -> Iterator[None]:
    lab.compose("stop", "redis")
    try:
        yield
    finally:
        lab.compose("start", "redis")
        _wait_for(lambda: lab.health().json()["redis"]["status"] == "healthy", 30, "redis back")


def test_redis_outage_falls_back_to_in_memory_rate_limiting(
        lab: Any, http: requests.Session, redis_stopped: None) -> None:
    response = http.post(f"{BASE_URL}/coffee", json={"type": "drip", "caffeine_mg": 120},
                         headers=lab.headers(), timeout=10)

    assert response.status_code == 201
    assert response.headers["X-RateLimit-Backend"] == "memory"
    health = lab.health()
    assert health.status_code == 200
    assert health.json()["redis"] == {"status": "unhealthy"}
    assert health.json()["database"] == {"status": "healthy"}


@pytest.fixture()
def postgres_stopped(lab: Any) -> Iterator[None]:
    lab.compose("stop", "postgres")
    try:
        yield
    finally:
        lab.compose("start", "postgres")
        lab.wait_healthy(60)


def test_postgres_outage_turns_health_503_and_recovers(
        lab: Any, http: requests.Session, postgres_stopped: None) -> None:
    health = lab.health()

    assert health.status_code == 503
    assert health.json()["status"] == "alive"
    assert health.json()["database"] == {"status": "unhealthy"}
    write = http.post(f"{BASE_URL}/coffee", json={"type": "mocha", "caffeine_mg": 95},
                      headers=lab.headers(), timeout=15)
    assert write.status_code == 503
    assert write.json() == {"detail": "database unavailable"}


def test_app_reconnects_after_postgres_restart(lab: Any, http: requests.Session) -> None:
    # Runs after the outage test: pooled connections to the old server must have been dropped.
    response = http.post(f"{BASE_URL}/coffee", json={"type": "mocha", "caffeine_mg": 95},
                         headers=lab.headers(), timeout=10)

    assert response.status_code == 201
    assert lab.pg_fetchall("SELECT id FROM coffee_logs WHERE id = %s", (response.json()["id"],))


def _listeners_on_app_port() -> int:
    out = subprocess.run(["ss", "-Hltn", "sport = :18000"], check=True, capture_output=True,
                         text=True).stdout
    return len([line for line in out.splitlines() if "127.0.0.1:18000" in line])


@pytest.fixture()
def two_replicas(lab: Any) -> Iterator[list[str]]:
    before = len(lab.running_containers("coffee-tracker")) or 1
    lab.compose("up", "-d", "--no-recreate", "--wait", "--scale", "coffee-tracker=2")
    try:
        yield lab.running_containers("coffee-tracker")
    finally:
        lab.compose("up", "-d", "--no-recreate", "--wait", "--scale", f"coffee-tracker={before}")


def test_two_replicas_share_the_port_and_both_serve(lab: Any, two_replicas: list[str]) -> None:
    assert len(two_replicas) == 2
    assert _listeners_on_app_port() == 2
    instances = set()
    # A new connection each time: SO_REUSEPORT spreads connections by their source port.
    for _attempt in range(60):
        response = requests.get(f"{BASE_URL}/health", headers={"Connection": "close"}, timeout=10)
        assert response.status_code == 200
        instances.add(response.headers["X-Coffee-Instance"])
        if len(instances) == 2:
            break
    assert len(instances) == 2
