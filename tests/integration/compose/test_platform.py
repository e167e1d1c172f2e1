# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance, health, scale, deploy and rollback against the running coffee-tracker lab."""
from __future__ import annotations

import json
import subprocess

import pytest

from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    LAB, MAINTENANCE, PROJECT, STATE, Run, env_value, http_get, run_playbook)

pytestmark = pytest.mark.integration


def app_containers() -> int:
    listed = subprocess.run(["docker", "ps", "--filter", "label=com.docker.compose.project=coffee-tracker",
                             "--filter", "label=com.docker.compose.service=coffee-tracker", "-q"],
                            capture_output=True, text=True, check=True)
    return len(listed.stdout.split())


def current_deploy() -> dict:
    return json.loads((STATE / "deployments.json").read_text(encoding="utf-8"))["current"]


def last_attempt() -> dict:
    return json.loads((STATE / "deployments.json").read_text(encoding="utf-8"))["history"][-1]


def tag_sha(tag: str) -> str:
    listed = subprocess.run(["git", "--git-dir", str(LAB / "git" / "coffee-tracker.git"), "rev-list", "-n", "1", tag],
                            capture_output=True, text=True, check=True)
    return listed.stdout.strip()


def assert_no_op(run: Run) -> None:
    """A second run must succeed and change nothing: a run that failed early also reports changed=0."""
    assert run.rc == 0, run.output[-3000:]
    recap = run.recap()
    assert (recap["changed"], recap["failed"]) == (0, 0), run.output[-3000:]


def test_maintenance_on_off_and_idempotent(lab_up, maintenance_off):
    on = run_playbook("maintenance", "-e", "state=on")
    assert on.rc == 0 and on.changed == 1
    assert MAINTENANCE.exists() and http_get("/")[0] == 503
    assert http_get("/health")[1]["maintenance"] is True
    assert_no_op(run_playbook("maintenance", "-e", "state=on"))
    assert MAINTENANCE.exists() and http_get("/")[0] == 503
    off = run_playbook("maintenance", "-e", "state=off")
    assert off.rc == 0 and off.changed == 1
    assert not MAINTENANCE.exists() and http_get("/")[0] == 200
    assert_no_op(run_playbook("maintenance", "-e", "state=off"))
    assert not MAINTENANCE.exists() and http_get("/")[0] == 200


def test_maintenance_rejects_bad_state(lab_up):
    run = run_playbook("maintenance", "-e", "state=maybe")
    assert run.rc != 0 and "maintenance needs state=on or state=off" in run.text


def test_health_prints_the_health_json(lab_up):
    run = run_playbook("health")
    assert run.rc == 0 and run.changed == 0
    assert "status: healthy" in run.text and "version" in run.text


def test_scale_up_persist_and_back(lab_up):
    try:
        up = run_playbook("scale", "-e", "service=coffee-tracker", "-e", "replicas=2")
        assert up.rc == 0, up.output[-3000:]
        assert app_containers() == 2 and env_value("COFFEE_TRACKER_REPLICAS") == "2"
        assert_no_op(run_playbook("scale", "-e", "service=coffee-tracker", "-e", "replicas=2"))
        assert app_containers() == 2 and env_value("COFFEE_TRACKER_REPLICAS") == "2"
    finally:
        down = run_playbook("scale", "-e", "service=coffee-tracker", "-e", "replicas=1")
    assert down.rc == 0 and app_containers() == 1


def test_scale_refuses_more_than_common_max_replicas(lab_up):
    env_before = (PROJECT / ".env").read_text(encoding="utf-8")
    run = run_playbook("scale", "-e", "service=coffee-tracker", "-e", "replicas=51")
    assert run.rc != 0 and "replicas=<integer from 0 to 50>" in run.text
    assert run.recap()["changed"] == 0 and (PROJECT / ".env").read_text(encoding="utf-8") == env_before
    assert app_containers() == 1
    # A trailing newline is no integer either.
    run = run_playbook("scale", "-e", "service=coffee-tracker", "-e", json.dumps({"replicas": "2\n"}))
    assert run.rc != 0 and "replicas=<integer from 0 to 50>" in run.text and app_containers() == 1


def test_scale_unknown_service_fails(lab_up):
    run = run_playbook("scale", "-e", "service=nope", "-e", "replicas=1")
    assert run.rc != 0 and "'nope' is not a service" in run.text


def test_scale_refuses_the_database(lab_up):
    env_before = (PROJECT / ".env").read_text(encoding="utf-8")
    run = run_playbook("scale", "-e", "service=postgres", "-e", "replicas=2")
    assert run.rc != 0 and "'postgres' is not scalable here" in run.text
    assert run.recap()["changed"] == 0 and (PROJECT / ".env").read_text(encoding="utf-8") == env_before


def test_deploy_gate_rollback_and_reruns(lab_up):
    # The lab runs v1.1.0 (every test leaves it there): the rollback at the end goes back to it.
    assert current_deploy()["ref"] == "v1.1.0"
    try:
        first = run_playbook("deploy", "-e", "ref=v1.0.0")
        assert first.rc == 0, first.output[-3000:]
        assert first.changed > 0
        assert http_get("/health")[1]["version"] == "v1.0.0"
        assert current_deploy()["ref"] == "v1.0.0"
        deployed = current_deploy()
        assert_no_op(run_playbook("deploy", "-e", "ref=v1.0.0"))
        assert current_deploy() == deployed

        # The broken release never turns healthy: its health gate need not wait the full 45 s.
        broken = run_playbook("deploy", "-e", "ref=v1.2.0-broken", "-e", "compose_deploy_health_timeout=10")
        assert broken.rc != 0
        assert "Deploy of v1.2.0-broken" in broken.text and "rolled back automatically to v1.0.0" in broken.text
        status, body = http_get("/health")
        assert status == 200 and body["version"] == "v1.0.0"
        assert current_deploy()["ref"] == "v1.0.0"
        failed = last_attempt()
        assert (failed["ref"], failed["via"], failed["status"], failed["rolled_back_to"]) == (
            "v1.2.0-broken", "deploy", "failed", "v1.0.0")

        # The release before v1.0.0 that did not fail: v1.1.0, not the broken one.
        back = run_playbook("rollback")
        assert back.rc == 0, back.output[-3000:]
        assert http_get("/health")[1]["version"] == "v1.1.0"
        assert current_deploy()["via"] == "rollback" and current_deploy()["ref"] == "v1.1.0"
        rolled_back = current_deploy()
        assert_no_op(run_playbook("rollback"))
        assert current_deploy() == rolled_back and http_get("/health")[1]["version"] == "v1.1.0"
    finally:
        deploy_v1_1_0_unless_running()
    assert f"COFFEE_TRACKER_IMAGE={current_deploy()['image']}" in (PROJECT / ".env").read_text(encoding="utf-8")


def deploy_v1_1_0_unless_running() -> None:
    """The lab's release back in place for the tests after, when a test left another one."""
    if http_get("/health")[1].get("version") != "v1.1.0" or current_deploy()["ref"] != "v1.1.0":
        final = run_playbook("deploy", "-e", "ref=v1.1.0")
        assert final.rc == 0, final.output[-3000:]
    assert http_get("/health")[1]["version"] == "v1.1.0"


def test_deploy_unknown_ref_changes_nothing(lab_up):
    before = current_deploy()
    run = run_playbook("deploy", "-e", "ref=v9.9.9")
    assert run.rc != 0 and "ref 'v9.9.9' is not a tag or branch" in run.text
    assert run.recap()["changed"] == 0 and current_deploy() == before


def test_deploy_by_sha_then_rollback_to_a_given_ref(lab_up):
    sha = tag_sha("v1.0.0")
    try:
        by_sha = run_playbook("deploy", "-e", f"ref={sha}")
        assert by_sha.rc == 0, by_sha.output[-3000:]
        assert http_get("/health")[1]["version"] == "v1.0.0"
        assert current_deploy()["sha"] == sha
        assert_no_op(run_playbook("deploy", "-e", f"ref={sha}"))

        to_ref = run_playbook("rollback", "-e", "ref=v1.1.0")
        assert to_ref.rc == 0, to_ref.output[-3000:]
        assert to_ref.changed > 0
        status, body = http_get("/health")
        assert status == 200 and body["version"] == "v1.1.0"
        assert current_deploy()["via"] == "rollback" and current_deploy()["sha"] == tag_sha("v1.1.0")
        assert_no_op(run_playbook("rollback", "-e", "ref=v1.1.0"))
    finally:
        deploy_v1_1_0_unless_running()


def test_health_fails_while_redis_is_down(lab_up):
    # Runbook 002: redis.status should be "healthy"; the app still answers 200 on its fallback.
    compose = ["docker", "compose", "--project-directory", str(PROJECT)]
    subprocess.run([*compose, "stop", "redis"], check=True, capture_output=True, timeout=120)
    try:
        run = run_playbook("health", "-e", "compose_health_timeout=4")
        assert run.rc != 0
        assert "coffee-tracker is degraded" in run.text and "redis" in run.text
    finally:
        subprocess.run([*compose, "start", "redis"], check=True, capture_output=True, timeout=120)
    back = run_playbook("health", "-e", "compose_health_timeout=60")
    assert back.rc == 0 and "status: healthy" in back.text


def test_rollback_to_a_broken_ref_puts_the_running_release_back(lab_up):
    before = current_deploy()
    run = run_playbook("rollback", "-e", "ref=v1.2.0-broken", "-e", "compose_deploy_health_timeout=10")
    assert run.rc != 0
    assert "Rollback to v1.2.0-broken" in run.text and f"put back {before['ref']}" in run.text
    status, body = http_get("/health")
    assert status == 200 and body["version"] == before["ref"]
    assert current_deploy() == before
    failed = last_attempt()
    assert (failed["ref"], failed["via"], failed["status"], failed["rolled_back_to"]) == (
        "v1.2.0-broken", "rollback", "failed", before["ref"])


def test_rollback_to_an_unknown_ref_changes_nothing(lab_up):
    before = current_deploy()
    run = run_playbook("rollback", "-e", "ref=v9.9.9")
    assert run.rc != 0 and "ref 'v9.9.9' is not a tag or branch" in run.text
    assert run.recap()["changed"] == 0 and current_deploy() == before
