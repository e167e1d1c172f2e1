# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mysetlist's database recovery (seed 001) through the playbooks: backup.yml, rows lost, then
restore.yml of that backup, with the Vercel project put into maintenance (MAINTENANCE_MODE and one
redeploy each way) and back as it was, on a flaky API (20 % 5xx, 429 bursts) without a duplicate
deployment, and also when the Vercel API goes away while maintenance goes on. The supabase store
restores the logical way over the URL of the lab's PostgreSQL database that stands in for the
Supabase project (the project's DATABASE_URL)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg2
import pytest

# The Heroku procedures' flaky API (the same fault knobs) and outage (a TCP relay that can drop
# every connection), reused.
from ansible_collections.appops.runbooks.tests.integration.faults import FlakyApi, Relay
from ansible_collections.appops.runbooks.tests.integration.vercel.conftest import (
    API, Lab, builds, run_playbooks, state_dsn)

pytestmark = pytest.mark.integration

MYSETLIST = "mysetlist-sonnet"
DATABASE_URL = "DATABASE_URL@production,preview"


def row_counts(url: str) -> dict[str, int]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM shows), (SELECT count(*) FROM songs),"
                       " (SELECT count(*) FROM setlists), (SELECT sum(votes) FROM setlists)")
        shows, songs, setlists, votes = cursor.fetchone()
    connection.close()
    return {"shows": shows, "songs": songs, "setlists": setlists, "votes": votes}


def lose_rows(url: str) -> None:
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM setlists WHERE votes > 10")
    connection.close()


def test_backup_then_restore_brings_the_rows_back_with_maintenance_put_back(lab: Lab, tmp_path: Path) -> None:
    project = lab.project(MYSETLIST)
    url = project["env"][DATABASE_URL]
    env_before, serving_before = project["env"], project["productionDeploymentId"]
    seeded = row_counts(url)
    state = {"app_state_dir": str(tmp_path)}

    backed_up = run_playbooks(["backup.yml"], "mysetlist", state)
    assert backed_up.rc == 0, backed_up.raw[-4000:]
    backup_id = backed_up.published["mysetlist"]["backup_id"]
    lose_rows(url)
    lost = row_counts(url)
    assert lost["setlists"] < seeded["setlists"]

    seq = lab.last_seq()
    restore = {**state, "confirm": "mysetlist", "backup_id": backup_id}
    # On a flaky API (20 % 5xx, 429 bursts), as maintenance on and off must outlast one.
    with FlakyApi(lab, error_rate=0.2, burst=3, every_s=10.0):
        restored = run_playbooks(["restore.yml"], "mysetlist", restore)
    assert restored.rc == 0, restored.raw[-4000:]
    absorbed = lab.faults_met(seq)
    assert absorbed["429"] >= 3 and absorbed["5xx"] >= 1, absorbed
    assert row_counts(url) == seeded
    # Maintenance on and off: one redeploy each way, the first one built with the flag, the
    # project's env vars afterwards exactly as before, and the app served again.
    assert len(builds(lab.writes_since(seq))) == 2
    project = lab.project(MYSETLIST)
    new = [d for d in project["deployments"] if d["createdAt"] > lab.deployment(MYSETLIST, serving_before)["createdAt"]]
    assert sorted(d["env"].get("MAINTENANCE_MODE", "") for d in new) == ["", "true"], new
    assert project["env"] == env_before
    assert lab.get("mysetlist-sonnet.vercel.app", "/").status_code == 200
    db_health = lab.get("mysetlist-sonnet.vercel.app", "/api/health/db")
    assert db_health.status_code == 200
    assert db_health.json()["tables"] == {k: seeded[k] for k in ("shows", "setlists", "songs")}
    outcome = restored.published["mysetlist"]
    assert (outcome["procedure"], outcome["changed"], outcome["failed"]) == ("restore", True, False), outcome
    assert outcome["backup_id"] == backup_id and outcome["safety_backup"] and outcome["health"] == "healthy"
    assert outcome["rto_met"] is True and outcome["rpo_met"] is True
    assert url not in backed_up.raw + restored.raw and url.rsplit("@", 1)[0] not in restored.raw

    # The same restore again: the database holds that backup already, nothing is switched or built.
    seq = lab.last_seq()
    again = run_playbooks(["restore.yml"], "mysetlist", restore)
    assert again.rc == 0, again.raw[-4000:]
    assert lab.writes_since(seq) == [] and row_counts(url) == seeded
    assert again.published["mysetlist"]["changed"] is False

    # The API goes away while the maintenance redeploy is awaited: the restore fails clearly before
    # the database is touched, and puts maintenance back (env vars and a redeploy) once the API is back.
    lose_rows(url)
    seq, known = lab.last_seq(), {d["id"] for d in lab.project(MYSETLIST)["deployments"]}
    outage = restore_during_an_api_outage(lab, known, {**restore, "vercel_task_retries": 1})
    assert outage.rc != 0
    assert row_counts(url) == lost, "the database was touched"
    project = lab.project(MYSETLIST)
    assert project["env"] == env_before, outage.raw[-4000:]
    assert lab.get("mysetlist-sonnet.vercel.app", "/").status_code == 200
    new = [d for d in project["deployments"] if d["id"] not in known]
    assert len(builds(lab.writes_since(seq))) == len(new) == 2, new  # on, then back; none twice
    production = lab.deployment(MYSETLIST, project["productionDeploymentId"])
    assert production == max(new, key=lambda d: d["createdAt"]) and "MAINTENANCE_MODE" not in production["env"]
    assert not state_rows("SELECT 1 FROM appops_locks WHERE app = %s", "mysetlist"), "the lock was kept"
    failed = outage.published["mysetlist"]
    assert (failed["procedure"], failed["failed"], failed["changed"]) == ("restore", True, False), failed
    assert "Connection" in failed["message"] or "connection" in failed["message"], failed["message"]


def restore_during_an_api_outage(lab: Lab, known: set[str], extra: dict[str, object], outage_s: float = 8.0):
    """restore.yml through a relay that drops every connection for ``outage_s`` seconds as soon as the
    maintenance redeploy exists; the modules try each request once, so the outage is not outlasted
    there, only by the maintenance switch's own, longer, retries."""

    def break_once_maintenance_builds(relay: Relay) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not [
                d for d in lab.project(MYSETLIST)["deployments"]
                if d["id"] not in known and d["env"].get("MAINTENANCE_MODE") == "true"]:
            time.sleep(0.05)
        relay.broken.set()
        time.sleep(outage_s)
        relay.broken.clear()

    with Relay(API) as relay:
        watcher = threading.Thread(target=break_once_maintenance_builds, args=(relay,), daemon=True)
        watcher.start()
        run = run_playbooks(["restore.yml"], "mysetlist", extra,
                            env={"VERCEL_API_URL": relay.url, "APPOPS_API_RETRIES": "1", "APPOPS_API_RETRY_MAX_WAIT": "0"})
        watcher.join(150)
    return run


def state_rows(sql: str, *args: object) -> list[tuple[object, ...]]:
    connection = psycopg2.connect(state_dsn())
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()
    finally:
        connection.close()
