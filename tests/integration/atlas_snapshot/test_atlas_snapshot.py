# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The atlas store's snapshot method through the procedure playbooks: micmap-api's runbook section 3
("Data Loss / Database Corrupted") as one command. Backup = an on-demand Atlas snapshot; restore =
maintenance on (Heroku) -> safety snapshot -> an Atlas restore job from the snapshot or a point in
time -> documents checked -> health gate -> maintenance off; a re-run after it finished changes
nothing and starts no second restore job. Drives the lab's Heroku emulator (maintenance, health,
MONGODB_URI): run under the lab lock."""

from __future__ import annotations

import datetime as dt
import json
import time
import typing as t
from pathlib import Path

import pytest
import requests
from pymongo import MongoClient

from ansible_collections.appops.runbooks.tests.integration.atlas_store.conftest import HEROKU_API
from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import Run, run_playbook

from .conftest import API, admin, atlas_lab_helpers

pytestmark = pytest.mark.integration
APP = "micmap-api"
CLUSTER = "micmap-cluster"
SEEN: dict[str, t.Any] = {}


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's state folder for these runs (the backup catalog); lock and records stay in the lab's state database."""
    return tmp_path_factory.mktemp("micmap-api-snapshots")


def playbook(name: str, state_dir: Path, extra: dict[str, t.Any] | None = None) -> Run:
    return run_playbook(name, APP, {"app_state_dir": str(state_dir), **(extra or {})},
                        env={"MONGODB_ATLAS_BASE_URL": API})


def documents(uri: str, collection: str) -> list[dict[str, t.Any]]:
    with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        return list(client.micmap[collection].find({}).sort("_id", 1))


def snapshots() -> list[dict[str, t.Any]]:
    return [s for s in admin("GET", "state")["snapshot"] if s.get("_cluster", CLUSTER) == CLUSTER]


def restore_jobs() -> list[dict[str, t.Any]]:
    return [job for job in admin("GET", "state")["restore"] if job.get("_cluster", CLUSTER) == CLUSTER]


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def maintenance_switches(since: str) -> list[bool]:
    """What micmap-api's maintenance was switched to after ``since``, in order, from the app's log in
    the Heroku emulator (each change logs "Enable/Disable maintenance mode")."""
    lines = requests.get(f"{HEROKU_API}/__lab/apps/{APP}/logs", params={"n": 2000}, timeout=30).text.splitlines()
    return ["Enable maintenance" in line for line in lines if "maintenance mode" in line and line[:26] >= since[:26]]


def test_backup_takes_an_on_demand_snapshot(micmap_app: str, state_dir: Path) -> None:
    run = playbook("backup.yml", state_dir)
    assert run.rc == 0, run.raw[-4000:]
    assert micmap_app not in run.raw, "the connection string was shown"
    (taken,) = [s for s in snapshots() if s["snapshotType"] == "onDemand"]
    assert taken["status"] == "completed" and taken["description"].startswith("appops manual backup ")
    (backup,) = (state_dir / "backups").iterdir()
    store = json.loads((backup / "manifest.json").read_text())["stores"][0]
    assert store["method"] == "snapshot" and store["snapshot_id"] == taken["id"] and store["files"] == []
    assert store["row_counts"] == {"micmap.mics": 60, "micmap.venues": 12}
    assert "unchanged during the snapshot" in store["verification"]["documents"]
    # RPO against the policy: the free tier's daily snapshot.
    assert store["policy"]["interval_seconds"] == 86400 and "The backup policy snapshots every 24.0 h" in run.output
    SEEN.update(snapshot=taken["id"], mics=documents(micmap_app, "mics"), venues=documents(micmap_app, "venues"))


def test_restore_from_the_snapshot_brings_the_documents_back(micmap_app: str, state_dir: Path) -> None:
    assert SEEN, "needs the backup of the test before"
    with MongoClient(micmap_app) as client:
        client.micmap.mics.delete_many({})
        client.micmap.venues.insert_one({"_id": "venue-99", "name": "Venue 99", "borough": "Queens"})
    before_snapshots, since = {s["id"] for s in snapshots()}, now_iso()

    run = playbook("restore.yml", state_dir, {"confirm": APP, "backup_id": SEEN["snapshot"]})
    assert run.rc == 0, run.raw[-4000:]
    assert f"RESTORED {APP} from backup {SEEN['snapshot']}" in run.output and "health=healthy" in run.output
    assert documents(micmap_app, "mics") == SEEN["mics"] and documents(micmap_app, "venues") == SEEN["venues"]
    (job,) = restore_jobs()
    assert job["deliveryType"] == "automated" and job["snapshotId"] == SEEN["snapshot"] and job.get("finishedAt")
    # The safety backup is a snapshot of the damaged cluster, taken before the restore job.
    (safety,) = [s for s in snapshots() if s["id"] not in before_snapshots]
    assert safety["description"].startswith("appops safety backup") and safety["status"] == "completed"
    assert maintenance_switches(since) == [True, False]
    assert micmap_app not in run.raw
    SEEN["safety"] = safety["id"]


def test_rerun_after_the_restore_changes_nothing(micmap_app: str, state_dir: Path) -> None:
    # The runbook's plain command: "latest" is the backup's snapshot, not the newer safety snapshot,
    # and the cluster was restored from it already: no maintenance, no snapshot, no second restore job.
    assert SEEN.get("safety"), "needs the restore of the test before"
    before_snapshots, since = {s["id"] for s in snapshots()}, now_iso()
    run = playbook("restore.yml", state_dir, {"confirm": APP})
    assert run.rc == 0, run.raw[-4000:]
    assert f"already holds backup {SEEN['snapshot']} in every store; nothing restored" in run.output
    assert len(restore_jobs()) == 1, "a re-run started a second restore job"
    assert {s["id"] for s in snapshots()} == before_snapshots, "a re-run took a snapshot"
    assert maintenance_switches(since) == []
    assert documents(micmap_app, "mics") == SEEN["mics"]


def test_point_in_time_restores_the_state_of_that_second(micmap_app: str, state_dir: Path) -> None:
    # Continuous Cloud Backup needs a dedicated tier: M0 -> M10, then point in time on (the runbook's
    # "consider upgrading to M10").
    upgrade_for_point_in_time()
    with MongoClient(micmap_app) as client:
        client.micmap.mics.update_many({"day": "Monday"}, {"$set": {"cost": "$5"}})
    time.sleep(1.5)  # a journal sample of this state
    wanted, moment = documents(micmap_app, "mics"), int(time.time())
    time.sleep(1.2)
    with MongoClient(micmap_app) as client:
        client.micmap.mics.delete_many({"day": {"$in": ["Tuesday", "Wednesday"]}})
        client.micmap.mics.insert_one({"_id": "mic-999", "name": "Late mic", "day": "Sunday"})
    time.sleep(1.5)
    assert documents(micmap_app, "mics") != wanted

    run = playbook("restore.yml", state_dir, {"confirm": APP, "point_in_time": str(moment)})
    assert run.rc == 0, run.raw[-4000:]
    assert f"RESTORED {APP} from backup point-in-time-{moment}" in run.output
    assert documents(micmap_app, "mics") == wanted
    newest = max(restore_jobs(), key=lambda job: job["finishedAt"])
    assert newest["deliveryType"] == "pointInTime" and newest["pointInTimeUTCSeconds"] == moment
    assert len(restore_jobs()) == 2


def atlas_api(method: str, path: str, body: t.Any = None, version: str = "2024-08-05") -> requests.Response:
    """The instance's Admin API itself (Digest), for the tier change the test sets up."""
    media = f"application/vnd.atlas.{version}+json"
    headers = {"Accept": media, **({"Content-Type": media} if body is not None else {})}
    return requests.request(method, f"{API}/api/atlas/v2/groups/{atlas_lab_helpers.GROUP}/{path}", json=body,
                            headers=headers, auth=atlas_lab_helpers.digest(), timeout=30)


def upgrade_for_point_in_time() -> None:
    answer = atlas_api("POST", "clusters/tenantUpgrade", version="2023-01-01",
                       body={"name": CLUSTER, "providerSettings": {"providerName": "AWS", "instanceSizeName": "M10"}})
    assert answer.status_code < 300, answer.text
    wait_idle()
    answer = atlas_api("PATCH", f"clusters/{CLUSTER}", body={"pitEnabled": True})
    assert answer.status_code < 300, answer.text
    wait_idle()


def wait_idle(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while atlas_api("GET", f"clusters/{CLUSTER}").json()["stateName"] != "IDLE":
        assert time.monotonic() < deadline, f"{CLUSTER} did not become IDLE in {timeout} s"
        time.sleep(0.25)
