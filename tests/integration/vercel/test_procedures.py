# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook procedures of mysetlist (seed 001) and fixzit (seed 004) on the Vercel emulator:
what the projects, the domains and the request log show afterwards, and what the runs publish."""

from __future__ import annotations

import redis

import pytest

from ansible_collections.appops.runbooks.tests.integration.vercel.conftest import (
    Lab, alias_moves, builds, run_playbooks)

pytestmark = pytest.mark.integration

MYSETLIST, FIXZIT = "mysetlist-sonnet", "fixzit"


def test_a_deploy_is_promoted_once_and_a_failing_one_is_rolled_back_by_itself(lab: Lab) -> None:
    before = lab.project(MYSETLIST)["productionDeploymentId"]
    seq = lab.last_seq()
    deployed = run_playbooks(["deploy.yml"], "mysetlist", {"ref": "v5.0.0"})
    assert deployed.rc == 0, deployed.raw[-3000:]
    project = lab.project(MYSETLIST)
    new = lab.deployment(MYSETLIST, project["productionDeploymentId"])
    assert new["id"] != before and new["readyState"] == "READY" and new["meta"]["githubCommitRef"] == "v5.0.0"
    assert len(builds(lab.writes_since(seq))) == 1 and project["builds_today"] == 1
    outcome = deployed.published["mysetlist"]
    assert (outcome["procedure"], outcome["changed"], outcome["failed"]) == ("deploy", True, False)
    assert outcome["release"]["id"] == new["id"] and outcome["health"] == "healthy"

    seq = lab.last_seq()
    again = run_playbooks(["deploy.yml"], "mysetlist", {"ref": "v5.0.0"})
    assert again.rc == 0, again.raw[-3000:]
    assert again.published["mysetlist"]["changed"] is False and lab.writes_since(seq) == []

    # The next build answers 500 on /api/*: the gate fails and the deploy puts v5.0.0 back.
    lab.knobs(next_builds=["unhealthy"])
    seq = lab.last_seq()
    broken = run_playbooks(["deploy.yml"], "mysetlist", {"ref": "v5.0.1"})
    assert broken.rc != 0
    writes = lab.writes_since(seq)
    assert len(builds(writes)) == 1, writes
    assert len(alias_moves(writes)) == 1 and "/rollback/" in alias_moves(writes)[0], writes
    assert lab.project(MYSETLIST)["productionDeploymentId"] == new["id"]
    assert lab.get("mysetlist-sonnet.vercel.app", "/api/health/comprehensive").status_code == 200
    failed = broken.published["mysetlist"]
    assert failed["failed"] is True and failed["release"]["rolled_back_to"], failed
    assert "rolled back automatically" in failed["message"]


def test_a_rollback_puts_the_previous_production_deployment_back_without_a_build(lab: Lab) -> None:
    project = lab.project(MYSETLIST)
    current = lab.deployment(MYSETLIST, project["productionDeploymentId"])
    previous = next(d for d in project["deployments"]
                    if d["target"] == "production" and d["readyState"] == "READY" and d["createdAt"] < current["createdAt"])
    seq = lab.last_seq()
    rolled = run_playbooks(["rollback.yml"], "mysetlist")
    assert rolled.rc == 0, rolled.raw[-3000:]
    writes = lab.writes_since(seq)
    assert builds(writes) == [] and len(alias_moves(writes)) == 1, writes
    assert lab.project(MYSETLIST)["productionDeploymentId"] == previous["id"]
    outcome = rolled.published["mysetlist"]
    assert outcome["release"]["via"] == "rollback" and outcome["release"]["id"] == previous["id"]
    assert outcome["changed"] is True and outcome["health"] == "healthy"


def test_maintenance_shows_the_message_and_off_puts_the_env_back_with_one_redeploy_each(lab: Lab) -> None:
    seq = lab.last_seq()
    on = run_playbooks(["maintenance.yml"], "fixzit", {"state": "on", "message": "Back at 10:00 GMT"})
    assert on.rc == 0, on.raw[-3000:]
    page = lab.get("fixzit.com", "/api/health")
    assert page.status_code == 503 and page.json()["message"] == "Back at 10:00 GMT"
    assert "Back at 10:00 GMT" in lab.get("fixzit.com", "/").text
    assert len(builds(lab.writes_since(seq))) == 1
    assert on.published["fixzit"]["details"] == {"state": "on", "before": False}

    seq = lab.last_seq()
    off = run_playbooks(["maintenance.yml"], "fixzit", {"state": "off"})
    assert off.rc == 0, off.raw[-3000:]
    assert lab.get("fixzit.com", "/api/health").status_code == 200
    assert len(builds(lab.writes_since(seq))) == 1
    assert not [key for key in lab.project(FIXZIT)["env"] if key.startswith("MAINTENANCE_")]
    assert off.published["fixzit"]["details"] == {"state": "off", "before": True}
    assert off.published["fixzit"]["changed"] is True


def test_a_config_change_and_a_flag_flip_each_cost_one_redeploy(lab: Lab) -> None:
    assert lab.get("fixzit.com", "/api/features").json()["features"]["new_dashboard"]["enabled"] is True
    seq = lab.last_seq()
    # Two procedures in one run: config (one changed key), then flags (one flag, one unchanged).
    done = run_playbooks(["config.yml", "flags.yml"], "fixzit",
                         {"config": {"NEXTAUTH_URL": "https://www.fixzit.com"},
                          "flags": {"NEW_DASHBOARD": False, "BULK_EXPORT": True}})
    assert done.rc == 0, done.raw[-3000:]
    assert len(builds(lab.writes_since(seq))) == 2
    env = lab.project(FIXZIT)["env"]
    assert env["NEXTAUTH_URL@production"] == "https://www.fixzit.com"
    assert env["FEATURE_NEW_DASHBOARD@production,preview,development"] == "disabled"
    features = lab.get("fixzit.com", "/api/features").json()["features"]
    assert features["new_dashboard"] == {"enabled": False, "value": "disabled", "env": "FEATURE_NEW_DASHBOARD"}
    assert features["bulk_export"]["enabled"] is True
    config, flags = (published["fixzit"] for published in done.published_each)
    assert config["procedure"] == "config" and config["details"]["changed_keys"] == ["NEXTAUTH_URL"]
    assert flags["procedure"] == "flags" and flags["details"]["changed_keys"] == ["FEATURE_NEW_DASHBOARD"]
    assert config["changed"] is True and flags["changed"] is True


def test_health_scale_and_the_cache_flush_of_fixzit(lab: Lab) -> None:
    url = lab.project(FIXZIT)["env"]["REDIS_URL@production,preview"]
    cache = redis.Redis.from_url(url)
    other = redis.Redis.from_url(url.rsplit("/", 1)[0] + "/3")
    cache.mset({**{f"session:{n}": "s" for n in range(12)}, **{f"page:{n}": "p" for n in range(3)}})
    other.set("appops-test-other-db", "kept")
    try:
        seq = lab.last_seq()
        done = run_playbooks(["health.yml", "scale.yml", "cache_flush.yml"], "fixzit",
                             {"service": "web", "replicas": 3})
        assert done.rc == 0, done.raw[-3000:]
        assert lab.writes_since(seq) == []  # health and scale change nothing on Vercel
        # FLUSHDB of the app's database only; the sessions were counted with SCAN.
        assert cache.dbsize() == 0 and other.get("appops-test-other-db") == b"kept"
        health, scale, flush = (published["fixzit"] for published in done.published_each)
        assert flush["procedure"] == "cache_flush" and flush["changed"] is True
        # (the stats of one run's playbooks are merged per app: health's details stay beside the flush's)
        assert {key: flush["details"][key] for key in ("keys_before", "keys_after", "flushed", "sessions_before")} \
            == {"keys_before": 15, "keys_after": 0, "flushed": True, "sessions_before": 12}
        # fixzit answers, ready, with Redis and its database (the lab's fixzit cluster) connected.
        assert (health["procedure"], health["health"], health["failed"]) == ("health", "healthy", False)
        assert not health["details"].get("reasons"), health["details"]
        assert (scale["procedure"], scale["changed"], scale["failed"]) == ("scale", False, False)
        assert "Vercel, which scales its functions" in done.raw
    finally:
        other.delete("appops-test-other-db")
