# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runbook 002's restarts (`make restart`, `docker-compose restart postgres`), its config change
("change log level via .env") and the cache flush, on the running coffee-tracker stack."""
from __future__ import annotations

import json
import subprocess
import uuid

import pytest
import redis

from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    PROJECT, canary_present, http_get, plant_canary, run_playbook)

pytestmark = pytest.mark.integration

SERVICES = ("postgres", "redis", "coffee-tracker")


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def containers(service: str) -> list[str]:
    return docker("ps", "-q", "--filter", "label=com.docker.compose.project=coffee-tracker",
                  "--filter", f"label=com.docker.compose.service={service}").split()


def started_at() -> dict[str, list[str]]:
    """Each service's containers' start times: a restart changes them, nothing else does."""
    return {service: sorted(docker("inspect", "-f", "{{.State.StartedAt}}", *containers(service)).split())
            for service in SERVICES}


def app_env() -> dict[str, str]:
    ids = containers("coffee-tracker")
    assert ids, "no coffee-tracker container"
    return dict(item.split("=", 1) for item in json.loads(docker("inspect", "-f", "{{json .Config.Env}}", ids[0])))


def env_file() -> str:
    return (PROJECT / ".env").read_text(encoding="utf-8")


def test_restart_one_service_or_every_service_then_health(lab_up):
    marker = plant_canary()
    before = started_at()

    checked = run_playbook("restart", "--check", "-e", "service=postgres")
    assert checked.rc == 0, checked.output[-4000:]
    unknown = run_playbook("restart", "-e", "service=nosuch")
    assert unknown.rc != 0 and "'nosuch' is not a service of" in unknown.text
    assert started_at() == before

    one = run_playbook("restart", "-e", "service=postgres")
    assert one.rc == 0, one.output[-4000:]
    assert one.changed > 0
    after_one = started_at()
    assert after_one["postgres"] != before["postgres"]
    assert after_one["redis"] == before["redis"] and after_one["coffee-tracker"] == before["coffee-tracker"]
    status, body = http_get("/health")
    assert status == 200 and body["database"]["status"] == "healthy"
    assert canary_present(marker) == (True, True)

    every = run_playbook("restart")
    assert every.rc == 0, every.output[-4000:]
    after_every = started_at()
    assert all(after_every[service] != after_one[service] for service in SERVICES)
    status, body = http_get("/health")
    assert status == 200 and body["status"] == "alive" and body["redis"]["status"] == "healthy"


def test_config_sets_env_keys_as_desired_state_without_showing_values(lab_up):
    original = env_file()
    log_level = app_env().get("LOG_LEVEL", "info")
    wanted = "warning" if log_level != "warning" else "error"
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    try:
        refused = run_playbook("config", "-e", json.dumps({"config": {"COFFEE_TRACKER_IMAGE": "coffee-tracker:evil"}}))
        assert refused.rc != 0 and "*_IMAGE and *_REPLICAS are set by deploy and scale" in refused.text
        assert env_file() == original

        run = run_playbook("config", "-e", json.dumps({"config": {"LOG_LEVEL": wanted, "APPOPS_TEST_TOKEN": secret}}))
        assert run.rc == 0, run.output[-4000:]
        assert "set LOG_LEVEL, APPOPS_TEST_TOKEN" in run.text or "set APPOPS_TEST_TOKEN, LOG_LEVEL" in run.text
        assert secret not in run.output
        assert f"LOG_LEVEL={wanted}\n" in env_file() and f"APPOPS_TEST_TOKEN={secret}\n" in env_file()
        # compose up recreated the app with the new .env.
        assert app_env()["LOG_LEVEL"] == wanted
        assert http_get("/health")[0] == 200

        again = run_playbook("config", "-e", json.dumps({"config": {"LOG_LEVEL": wanted, "APPOPS_TEST_TOKEN": secret}}))
        assert again.rc == 0, again.output[-4000:]
        assert again.changed == 0 and "set nothing, removed nothing" in again.text

        removed = run_playbook("config", "-e", json.dumps({"absent_keys": ["APPOPS_TEST_TOKEN"]}))
        assert removed.rc == 0 and "removed APPOPS_TEST_TOKEN" in removed.text
        assert "APPOPS_TEST_TOKEN=" not in env_file()
    finally:
        back = {"config": {"LOG_LEVEL": log_level}} if "LOG_LEVEL=" in original else {"absent_keys": ["LOG_LEVEL"]}
        back.setdefault("absent_keys", []).append("APPOPS_TEST_TOKEN")
        assert run_playbook("config", "-e", json.dumps(back)).rc == 0
    assert app_env().get("LOG_LEVEL", "info") == log_level


def test_cache_flush_empties_the_compose_redis(lab_up):
    cache = redis.Redis(host="127.0.0.1", port=16379, socket_timeout=5)
    cache.set("appops-test-probe", "1")
    run = run_playbook("cache_flush")
    assert run.rc == 0, run.output[-4000:]
    assert "coffee-tracker: cache flushed" in run.text and run.changed > 0
    assert cache.get("appops-test-probe") is None
    assert http_get("/health")[1]["redis"]["status"] == "healthy"
