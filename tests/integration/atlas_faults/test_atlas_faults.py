# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The atlas store's snapshot restore (micmap-api's runbook section 3) when the Atlas Admin API
misbehaves, through playbooks/restore.yml. The API gone while the restore job is waited for: the run
fails naming the job and the safety snapshot, maintenance stays on (the store was being replaced)
and the message gives the commands to go on. The re-run, through bursts of 503 and 429, attaches to
the same job (no second restore job), keeps the run's lock alive while it waits, and finishes.
Drives the lab's Heroku emulator (maintenance, health, MONGODB_URI) and its state database (the
lock): run under the lab lock."""

from __future__ import annotations

import threading
import time
import typing as t
from pathlib import Path

import pytest
import requests
from pymongo import MongoClient

from ansible_collections.appops.runbooks.tests.integration.atlas_snapshot.conftest import AtlasInstance
from ansible_collections.appops.runbooks.tests.integration.atlas_store.conftest import HEROKU_API, heroku
from ansible_collections.appops.runbooks.tests.integration.faults import FlakyApi, Relay
from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import Run, run_playbook, state_query

pytestmark = pytest.mark.integration
APP = "micmap-api"
SEEN: dict[str, t.Any] = {}


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("micmap-api-faults")


@pytest.fixture(scope="module", autouse=True)
def maintenance_off_around() -> t.Iterator[None]:
    """micmap-api starts with maintenance off and ends so, whatever a failed run left."""
    maintenance_off()
    yield
    maintenance_off()


def restore(state_dir: Path, api: str, **extra: t.Any) -> Run:
    extra = {"app_state_dir": str(state_dir), "confirm": APP, "backup_id": SEEN["snapshot"], "atlas_poll_interval": 1,
             **extra}
    return run_playbook("restore.yml", APP, extra, env={"MONGODB_ATLAS_BASE_URL": api})


def in_background(runs: dict[str, Run], name: str, start: t.Callable[[], Run]) -> threading.Thread:
    thread = threading.Thread(target=lambda: runs.update({name: start()}), daemon=True)
    thread.start()
    return thread


def mics(uri: str) -> list[dict[str, t.Any]]:
    with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        return list(client.micmap.mics.find({}).sort("_id", 1))


def restore_jobs(atlas: AtlasInstance) -> list[dict[str, t.Any]]:
    return atlas.admin("GET", "state")["restore"]


def maintenance() -> bool:
    return bool(requests.get(f"{HEROKU_API}/__lab/apps/{APP}", timeout=10).json()["maintenance"])


def maintenance_off() -> None:
    assert heroku().patch(f"{HEROKU_API}/apps/{APP}", json={"maintenance": False}, timeout=10).status_code == 200


def wait_for(probe: t.Callable[[], t.Any], what: str, timeout: float = 120) -> t.Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, f"no {what} in {timeout} s"
        time.sleep(0.2)
    return found


def test_api_gone_mid_wait_fails_naming_the_job_and_the_safety_snapshot(
        atlas_instance: AtlasInstance, micmap_app: str, state_dir: Path) -> None:
    # The snapshot restored is one of Atlas's schedule (the backup procedure's own is proven by
    # tests/integration/atlas_snapshot); its documents are the seed's.
    snapshot = atlas_instance.admin("POST", "clusters/micmap-cluster/scheduled-snapshot")
    SEEN.update(snapshot=snapshot["id"], mics=mics(micmap_app))
    with MongoClient(micmap_app) as client:
        client.micmap.mics.delete_many({"day": {"$in": ["Monday", "Tuesday"]}})
    taken_before = {s["id"] for s in atlas_instance.admin("GET", "state")["snapshot"]}
    # The emulator keeps the restore job running until the test lets it go (the re-run's test).
    atlas_instance.admin("POST", "knobs", {"restore_hold": 1})
    runs: dict[str, Run] = {}
    with Relay(atlas_instance.api) as relay:
        # Retries give up after about a second: the outage outlasts them.
        first = in_background(runs, "first", lambda: restore(state_dir, relay.url, atlas_api_retries=1,
                                                             atlas_api_retry_max_wait=1))
        # Lock, maintenance and the safety snapshot come first: slow on a busy machine, so the wait
        # ends on the job or on the run ending without one, not on a guess of how long they take.
        job = wait_for(lambda: next(iter(restore_jobs(atlas_instance)), None) or not first.is_alive(),
                       "restore job of the run", timeout=600)
        assert isinstance(job, dict), f"the run ended before it started a restore job: {runs['first'].raw[-4000:]}"
        relay.broken.set()
        first.join(300)
    failed = runs["first"]
    assert failed.rc != 0 and relay.dropped.is_set(), failed.raw[-4000:]
    (safety,) = [s for s in atlas_instance.admin("GET", "state")["snapshot"] if s["id"] not in taken_before]
    assert safety["description"].startswith("appops safety backup")
    assert (f"restore job {job['id']} of cluster micmap-cluster did not finish here" in failed.output
            and f"safety snapshot {safety['id']}" in failed.output
            and f"Restore job {job['id']} may still be running at Atlas: a re-run of this restore attaches to it"
            in failed.output), failed.raw[-4000:]
    # The store was being replaced: maintenance stays on, and the message says how to go on.
    assert maintenance() is True
    assert "Maintenance stays ON" in failed.output
    assert f"then switch maintenance off: ansible-playbook playbooks/maintenance.yml -l {APP} -e state=off" in failed.output
    assert len(restore_jobs(atlas_instance)) == 1
    SEEN["job"] = job["id"]


def test_rerun_through_503_and_429_bursts_attaches_to_the_job_and_keeps_the_lock_alive(
        atlas_instance: AtlasInstance, micmap_app: str, state_dir: Path) -> None:
    assert SEEN.get("job"), "needs the failed run of the test before"
    runs: dict[str, Run] = {}
    since = atlas_instance.admin("GET", "health")["last_seq"]
    # A fifth of the requests answer 503 (a fixed sequence), and every 10 s three answer 429
    # (Retry-After: 1); the lock is marked alive every second.
    atlas_instance.faults(seed=17)
    with FlakyApi(atlas_instance):
        rerun = in_background(runs, "rerun", lambda: restore(state_dir, atlas_instance.api, app_lock_heartbeat=1))
        # The job is still held: the re-run waits for it, and its heartbeat moves the lock's alive_at.
        waited = f"/backup/restoreJobs/{SEEN['job']}"
        wait_for(lambda: not rerun.is_alive() or any(entry["path"].endswith(waited) and entry["status"] == 200
                                                     for entry in atlas_instance.admin("GET", f"requests?since={since}")),
                 "request of the re-run for the job", timeout=240)
        assert rerun.is_alive(), runs["rerun"].raw[-6000:]
        beats: set[t.Any] = set()
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            beats.update(row[0] for row in state_query(
                "SELECT alive_at FROM appops_locks WHERE app = %s AND procedure = 'restore'", (APP,)))
            time.sleep(0.25)
        atlas_instance.admin("POST", "knobs", {"restore_hold": 0})
        rerun.join(300)
    done = runs["rerun"]
    assert done.rc == 0, done.raw[-4000:]
    statuses = {entry["status"] for entry in atlas_instance.admin("GET", f"requests?since={since}")}
    assert {503, 429} <= statuses, "the faults did not reach the re-run"
    assert len(beats) >= 3, f"the lock was not marked alive while the job was waited for: {beats}"
    (job,) = restore_jobs(atlas_instance)
    assert job["id"] == SEEN["job"] and job["snapshotId"] == SEEN["snapshot"] and job.get("finishedAt")
    assert mics(micmap_app) == SEEN["mics"]
    assert f"RESTORED {APP} from backup {SEEN['snapshot']}" in done.output
    # The re-run puts maintenance back as it found it: on, as the failed run left it; the failed
    # run's message said how to switch it off.
    assert maintenance() is True
