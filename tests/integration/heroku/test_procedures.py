# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook procedures of the Heroku apps (seeds 000 and 003), run as playbooks against the
emulator; outcomes are read back from the emulator's state and the apps' real PostgreSQL/Redis."""

from __future__ import annotations

import redis

import pytest

from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import source_tarball

pytestmark = pytest.mark.integration

PROD = "sc-mvp-production"
STAGING = "sc-mvp-staging"


def rollback_releases(state: dict) -> list[dict]:
    return [r for r in state["releases"] if r["description"].startswith("Rollback to")]


def test_restore_production_brings_deleted_rows_back(emulator, playbook):
    before = emulator.rows(PROD)
    with emulator.db(PROD) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM assignments WHERE id > 100")
        cursor.execute("DELETE FROM workers WHERE id NOT IN (SELECT worker_id FROM assignments)")
    damaged = emulator.rows(PROD)
    assert damaged["assignments"] == 100 and damaged["workers"] < before["workers"]

    refused = playbook("restore.yml", PROD)
    assert refused.rc != 0 and "needs" in refused.output and "confirm=sc-mvp-production" in refused.output
    assert emulator.rows(PROD) == damaged and emulator.state(PROD)["maintenance"] is False

    seq = emulator.last_seq()
    run = playbook("restore.yml", PROD, {"confirm": PROD, "backup_id": "b001"})
    assert run.rc == 0, run.output
    assert "RESTORED sc-mvp-production from backup b001" in run.output
    assert emulator.rows(PROD) == before
    state = emulator.state(PROD)
    assert state["maintenance"] is False, "maintenance must be put back as it was"
    kinds = [(t["from_type"], t["to_type"], t["succeeded"]) for t in state["transfers"]]
    # The seed backup, the safety backup, the restore; nothing twice.
    assert kinds == [("pg_dump", "gof3r", True), ("pg_dump", "gof3r", True), ("htcat", "pg_restore", True)]
    writes = emulator.writes_since(seq)
    assert writes.count(f"PATCH /apps/{PROD}") == 2  # maintenance on, then back off
    assert sum(w.endswith("/restores") for w in writes) == 1 and sum(w.endswith("/backups") for w in writes) == 1

    again = playbook("restore.yml", PROD, {"confirm": PROD, "backup_id": "b001"})
    assert again.rc == 0, again.output
    assert "already holds backup b001" in again.output and again.changed == 0
    assert len(emulator.state(PROD)["transfers"]) == 3


def test_check_mode_backup_and_restore_change_nothing(emulator, playbook):
    with emulator.db(PROD) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM assignments WHERE id > 100")
    damaged = emulator.rows(PROD)
    transfers = emulator.state(PROD)["transfers"]
    seq = emulator.last_seq()

    refused = playbook("restore.yml", PROD, check=True)
    assert refused.rc != 0 and "confirm=sc-mvp-production" in refused.output

    backup = playbook("backup.yml", PROD, check=True)
    assert backup.rc == 0, backup.output
    assert "check mode, nothing written: a manual backup" in backup.output and backup.changed > 0

    run = playbook("restore.yml", PROD, {"confirm": PROD, "backup_id": "b001"}, check=True)
    assert run.rc == 0, run.output
    assert "WOULD RESTORE sc-mvp-production from backup b001 stores=main (check mode, nothing changed)" in run.output
    assert run.changed > 0

    # No capture, no restore, no maintenance switch: nothing but reads reached the API.
    assert emulator.writes_since(seq, succeeded_only=False) == []
    state = emulator.state(PROD)
    assert state["transfers"] == transfers and state["maintenance"] is False
    assert emulator.rows(PROD) == damaged


def test_restore_latest_skips_the_safety_backups(emulator, playbook):
    assert playbook("backup.yml", STAGING).rc == 0  # b002, a manual backup
    with emulator.db(STAGING) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM assignments")
    run = playbook("restore.yml", STAGING)  # staging: no confirm needed; latest = b002
    assert run.rc == 0, run.output
    assert "RESTORED sc-mvp-staging from backup b002" in run.output
    assert emulator.rows(STAGING)["assignments"] == 60
    # The safety backup (b003) holds the emptied table: "latest" must not pick it. Rows deleted
    # after a restore are seen by their counts, though the API says b002 was restored last.
    with emulator.db(STAGING) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM assignments WHERE id > 50")
    second = playbook("restore.yml", STAGING)
    assert second.rc == 0, second.output
    assert "from backup b002" in second.output and "rows changed since the restore of b002" in second.output
    assert emulator.rows(STAGING) == {"workers": 40, "shifts": 20, "assignments": 60}


def test_backup_downloads_and_verifies(emulator, playbook):
    run = playbook("backup.yml", PROD)
    assert run.rc == 0, run.output
    assert "Heroku backup b002" in run.output and "downloaded and verified" in run.output
    transfers = emulator.state(PROD)["transfers"]
    assert [t["num"] for t in transfers if t["to_type"] == "gof3r"] == [1, 2]


def test_deploy_of_a_crashing_release_rolls_back_once(emulator, playbook, blobs):
    url = blobs("crash-1.tar.gz", source_tarball(runtime="crash"))
    start = emulator.state(STAGING)
    run = playbook("deploy.yml", STAGING, {"ref": "v2.0.0-crash", "source_url": url})
    assert run.rc != 0
    assert "rolled back automatically to v5" in run.output and "FAILED" in run.output
    state = emulator.state(STAGING)
    assert [r["description"] for r in rollback_releases(state)] == ["Rollback to v5"]
    assert state["current_release"] == start["current_release"] + 2 and state["current_release_runtime"] == "ok"
    assert emulator.health(f"{STAGING}/healthz").status_code == 200
    # The migration of the new release ran in a one-off dyno before the gate.
    assert any(d["command"].startswith("rails db:migrate") for d in state["oneoffs"].values())

    # A rollback to the crashing release: Heroku keeps a rollback target that fails its gate
    # (failed_rollback: keep_failed); the play fails naming it, and no release is put back.
    crashed = f"v{start['current_release'] + 1}"
    back = playbook("rollback.yml", STAGING, {"ref": crashed})
    assert back.rc != 0 and f"Rollback of {STAGING} to {crashed}" in back.output and "stays in service" in back.output
    state = emulator.state(STAGING)
    assert [r["description"] for r in rollback_releases(state)] == ["Rollback to v5", f"Rollback to {crashed}"]
    assert state["current_release"] == start["current_release"] + 3 and state["current_release_runtime"] != "ok"


def test_deploy_is_desired_state(emulator, playbook, blobs):
    url = blobs("good-2.tar.gz", source_tarball())
    first = playbook("deploy.yml", STAGING, {"ref": "v2.1.0", "source_url": url})
    assert first.rc == 0, first.output
    state = emulator.state(STAGING)
    assert state["releases"][-1]["description"] == "Deploy v2.1.0" and state["current_release"] == 6
    seq = emulator.last_seq()
    again = playbook("deploy.yml", STAGING, {"ref": "v2.1.0", "source_url": url})
    assert again.rc == 0 and again.changed == 0, again.output
    assert emulator.writes_since(seq) == [] and emulator.state(STAGING)["current_release"] == 6


def test_rollback_rerun_changes_nothing(emulator, playbook):
    refused = playbook("rollback.yml", PROD)
    assert refused.rc != 0 and "confirm=sc-mvp-production" in refused.output
    first = playbook("rollback.yml", PROD, {"confirm": PROD, "ref": "v8"})
    assert first.rc == 0 and first.changed == 1, first.output
    again = playbook("rollback.yml", PROD, {"confirm": PROD, "ref": "v8"})
    assert again.rc == 0 and again.changed == 0, again.output
    previous = playbook("rollback.yml", PROD, {"confirm": PROD})
    assert previous.rc == 0 and previous.changed == 0, previous.output
    state = emulator.state(PROD)
    assert [r["description"] for r in rollback_releases(state)] == ["Rollback to v8"]
    assert state["current_release"] == 10


def test_scale_and_maintenance_reruns_change_nothing(emulator, playbook):
    scale = {"service": "web", "replicas": 2, "size": "standard-1x"}
    assert playbook("scale.yml", PROD, scale).changed == 1
    assert emulator.state(PROD)["formation"]["web"] == {"quantity": 2, "size": "Standard-1X"}
    seq = emulator.last_seq()
    again = playbook("scale.yml", PROD, scale)
    assert again.rc == 0 and again.changed == 0, again.output
    assert emulator.writes_since(seq) == []

    for state, expected in (("on", True), ("on", True), ("off", False), ("off", False)):
        seq = emulator.last_seq()
        run = playbook("maintenance.yml", "micmap-api", {"state": state})
        assert run.rc == 0, run.output
        assert emulator.state("micmap-api")["maintenance"] is expected
        assert len(emulator.writes_since(seq)) == run.changed
    assert emulator.health("micmap-api/health/deep").status_code == 200


def test_health_classifies_with_seed_thresholds(emulator, playbook):
    ok = playbook("health.yml", "micmap-api")
    assert ok.rc == 0 and "status: healthy" in ok.output, ok.output
    # MongoDB 100-500 ms: degraded (207) passes the gate; down: unhealthy (503) fails it.
    emulator.knobs("micmap-api", db_latency_ms=250)
    degraded = playbook("health.yml", "micmap-api")
    assert degraded.rc == 0 and "status: degraded" in degraded.output, degraded.output
    emulator.knobs("micmap-api", db_latency_ms=0, db_down=True)
    down = playbook("health.yml", "micmap-api", {"heroku_health_timeout": 3})
    assert down.rc != 0 and "micmap-api is unhealthy" in down.output, down.output


def test_restart_config_and_cache_flush(emulator, playbook):
    restarted_before = emulator.state("micmap-api")["dynos_booted_at"]
    run = playbook("restart.yml", "micmap-api", {"type": "web"})
    assert run.rc == 0, run.output
    assert emulator.state("micmap-api")["dynos_booted_at"] > restarted_before

    releases = len(emulator.state("micmap-api")["releases"])
    config = {"config": {"SHEET_ID": "sheet-from-test-5521"}, "absent_keys": ["CACHE_TTL_SECONDS"]}
    assert playbook("config.yml", "micmap-api", config).changed >= 1
    state = emulator.state("micmap-api")
    assert state["config_vars"]["SHEET_ID"] == "sheet-from-test-5521" and "CACHE_TTL_SECONDS" not in state["config_vars"]
    assert len(state["releases"]) == releases + 1
    again = playbook("config.yml", "micmap-api", config)
    assert again.rc == 0 and again.changed == 0 and len(emulator.state("micmap-api")["releases"]) == releases + 1

    cache = redis.Redis.from_url(emulator.config_var("micmap-api", "REDIS_URL"))
    cache.set("mics:monday", "stale")
    flushed = playbook("cache_flush.yml", "micmap-api")
    assert flushed.rc == 0 and flushed.changed == 1, flushed.output
    assert cache.dbsize() == 0
    assert playbook("cache_flush.yml", "micmap-api").changed == 0
