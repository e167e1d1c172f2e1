# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

import pytest

from ansible_collections.appops.runbooks.plugins.filter.health import FilterModule, health_status


@pytest.mark.parametrize("code, body, expected", [
    (200, {"status": "healthy"}, "healthy"),
    (207, {"status": "degraded"}, "degraded"),
    (503, {"status": "unhealthy"}, "unhealthy"),
    (200, {"status": "alive", "database": {"status": "healthy"}, "redis": {"status": "healthy"}}, "healthy"),
    (200, {"status": "alive", "database": {"status": "healthy"}, "redis": {"status": "unhealthy"}}, "degraded"),
    (503, {"status": "alive", "database": {"status": "unhealthy"}}, "unhealthy"),
    (200, {"status": "alive", "database": {"status": "unhealthy"}}, "unhealthy"),
    (200, {"status": "healthy", "mongodb": {"status": "connected", "responseTime": 99}}, "healthy"),
    (200, {"status": "healthy", "mongodb": {"status": "connected", "responseTime": 100}}, "degraded"),
    (200, {"status": "healthy", "mongodb": {"status": "connected", "responseTime": 500}}, "degraded"),
    (200, {"status": "healthy", "mongodb": {"status": "connected", "responseTime": 501}}, "unhealthy"),
    (200, {"status": "ok", "checks": {"database": {"status": "ok", "latency_ms": 250}}}, "degraded"),
    (200, json.dumps({"status": "ok"}), "healthy"),
    (200, "plain text", "healthy"),
    (-1, "", "unhealthy"),
    (None, None, "unhealthy"),
    (404, {"status": "healthy"}, "unhealthy"),
    (500, "", "unhealthy"),
])
def test_classification(code, body, expected):
    assert health_status(code, body) == expected


def test_detail_explains_why():
    report = health_status(200, {"redis": {"status": "unhealthy"}}, detail=True)
    assert report == {"status": "degraded", "reasons": ["redis is unhealthy"]}


def test_thresholds_are_configurable():
    body = {"database": {"status": "healthy", "latency_ms": 40}}
    assert health_status(200, body, degraded_ms=30, unhealthy_ms=60) == "degraded"


def test_registered():
    assert FilterModule().filters()["health_status"] is health_status
