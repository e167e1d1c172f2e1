# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health_checks filter: several endpoints of a Vercel app judged together (seeds 001, 004)."""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.filter.health_checks import health_checks


def answer(path: str, status: str, code: int, body: t.Any = None, **check: t.Any) -> dict[str, t.Any]:
    """One loop item of app_health as registered: the check and the module's verdict."""
    return {"item": {"path": path, **check}, "status": status, "reasons": [] if status == "healthy" else [f"HTTP {code}"],
            "http_status": code, "body": body}


def test_all_healthy_is_healthy_with_the_first_answer() -> None:
    verdict = health_checks([answer("/api/health", "healthy", 200, {"status": "ok"}),
                             answer("/api/health/ready", "healthy", 200, {"ready": True}, expect={"ready": True})])
    assert verdict["status"] == "healthy" and verdict["reasons"] == [] and verdict["http_status"] == 200
    assert verdict["checks"] == {"/api/health": "healthy", "/api/health/ready": "healthy"}


def test_the_worst_answer_wins_and_names_its_path() -> None:
    verdict = health_checks([answer("/api/health", "healthy", 200), answer("/api/health/db", "unhealthy", 503)])
    assert verdict["status"] == "unhealthy" and verdict["http_status"] == 503
    assert verdict["reasons"] == ["/api/health/db: HTTP 503"]


def test_a_ready_endpoint_that_is_not_ready_is_unhealthy() -> None:
    verdict = health_checks([answer("/api/health/ready", "healthy", 200, {"ready": False}, expect={"ready": True})])
    assert verdict["status"] == "unhealthy"
    assert verdict["reasons"] == ["/api/health/ready: ready is False, not True"]


def test_a_component_marked_degrades_only_degrades() -> None:
    verdict = health_checks([answer("/api/health", "healthy", 200),
                             answer("/api/health/redis", "unhealthy", 503, {"redis": "disconnected"}, degrades=True)])
    assert verdict["status"] == "degraded" and verdict["http_status"] == 503


def test_no_answer_at_all_is_unhealthy() -> None:
    assert health_checks([])["status"] == "unhealthy"
    assert health_checks([{"item": {"path": "/x"}, "skipped": True}])["status"] == "unhealthy"


def test_the_answers_of_one_run_are_paired_with_their_checks() -> None:
    answers = [{"url": "https://x/api/health", "status": "healthy", "reasons": [], "http_status": 200, "body": {}},
               {"url": "https://x/api/health/ready", "status": "healthy", "reasons": [], "http_status": 200,
                "body": {"ready": False}}]
    verdict = health_checks(answers, [{"path": "/api/health"}, {"path": "/api/health/ready", "expect": {"ready": True}}])
    assert verdict["status"] == "unhealthy"
    assert verdict["checks"] == {"/api/health": "healthy", "/api/health/ready": "unhealthy"}
