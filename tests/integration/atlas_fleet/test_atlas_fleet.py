# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/backup.yml on a play of 12 apps whose one store is an atlas store of method snapshot:
the fleet path (atlas backup_fleet, one atlas_snapshot_fleet task) against an Atlas emulator of its
own (API 18395, empty clusters, state in a temporary folder; no lab lock). Every cluster ends with a
completed on-demand snapshot, a cluster whose snapshot was already running is attached to rather
than given a second, and a re-run writes nothing."""

from __future__ import annotations

import os
import sys
import tempfile
import typing as t
from pathlib import Path

import pytest
import requests
from requests.auth import HTTPDigestAuth

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "bench"))
import fleet_atlas  # noqa: E402  the bench's private emulator instance and inventory

pytestmark = pytest.mark.integration
PORT = int(os.environ.get("ATLAS_FLEET_TEST_API_PORT", "18395"))
NAMES = fleet_atlas.cluster_names(12)
BUSY = "fleet-003"
SNAPSHOT_SECONDS = 2.0
# The other run's snapshot outlasts the playbook's start on a loaded machine, so it is still running
# when the fleet task lists the cluster.
BUSY_SECONDS = 15.0


@pytest.fixture(scope="module")
def instance() -> t.Iterator[fleet_atlas.Instance]:
    with fleet_atlas.private_instance(PORT, NAMES, SNAPSHOT_SECONDS) as running:
        yield running


@pytest.fixture(scope="module")
def inventory(instance: fleet_atlas.Instance) -> t.Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield fleet_atlas.write_inventory(Path(folder), instance.url, NAMES, concurrency=8, poll_interval=0.25)


def start_snapshot(instance: fleet_atlas.Instance, cluster: str) -> str:
    """An on-demand snapshot another run started, straight through the API, running BUSY_SECONDS."""
    instance.admin("POST", "knobs", {"snapshot_progress_seconds": BUSY_SECONDS})
    try:
        answer = requests.post(f"{instance.url}{fleet_atlas.snapshots_path(cluster)}", timeout=30,
                               auth=HTTPDigestAuth(fleet_atlas.atlas.PUBLIC_KEY, fleet_atlas.atlas.PRIVATE_KEY),
                               headers={"Accept": fleet_atlas.V2023, "Content-Type": fleet_atlas.V2023},
                               json={"description": "another run", "retentionInDays": 1})
    finally:
        instance.admin("POST", "knobs", {"snapshot_progress_seconds": SNAPSHOT_SECONDS * 3 / 4})
    answer.raise_for_status()
    return str(answer.json()["id"])


def snapshot_posts(records: list[dict[str, t.Any]]) -> list[str]:
    """Clusters whose snapshot was asked for (POST answered 200), in order."""
    return [r["path"].split("/clusters/")[1].split("/")[0] for r in records
            if r["method"] == "POST" and r["path"].endswith("/backup/snapshots") and r["status"] == 200]


def test_check_mode_takes_nothing(instance: fleet_atlas.Instance, inventory: Path) -> None:
    seq = instance.last_seq()
    fleet = fleet_atlas.run_backup_playbook(inventory, check=True)[1]
    assert sorted(fleet["changed_clusters"]) == NAMES
    assert fleet_atlas.writes(instance.requests_since(seq)) == 0 and instance.on_demand_snapshots() == []


def test_fleet_backup_snapshots_every_cluster_and_attaches_to_a_running_one(
        instance: fleet_atlas.Instance, inventory: Path) -> None:
    running = start_snapshot(instance, BUSY)
    seq = instance.last_seq()
    fleet = fleet_atlas.run_backup_playbook(inventory)[1]
    posts = snapshot_posts(instance.requests_since(seq))
    # One snapshot asked for per cluster but the busy one, whose running snapshot was waited for.
    assert sorted(posts) == sorted(set(NAMES) - {BUSY})
    assert fleet["attached_clusters"] == [BUSY] and fleet["writes"] == len(NAMES) - 1
    snapshots = instance.on_demand_snapshots()
    by_cluster = {name: [s for s in snapshots if s["_cluster"] == name] for name in NAMES}
    assert all(len(found) == 1 and found[0]["status"] == "completed" for found in by_cluster.values()), by_cluster
    assert by_cluster[BUSY][0]["id"] == running
    # What the run published: each app's backup is its cluster's snapshot.
    published = fleet["published"]
    assert sorted(published) == [f"app-{name}" for name in NAMES]
    for name in NAMES:
        outcome = published[f"app-{name}"]
        assert outcome["procedure"] == "backup" and outcome["backup_id"] == by_cluster[name][0]["id"]
        assert outcome["changed"] is (name != BUSY) and outcome["details"]["attached"] is (name == BUSY)
        assert outcome["stores"] == ["db"] and not outcome["failed"]


def test_re_run_writes_nothing(instance: fleet_atlas.Instance, inventory: Path) -> None:
    before = instance.on_demand_snapshots()
    seq = instance.last_seq()
    fleet = fleet_atlas.run_backup_playbook(inventory)[1]
    assert fleet_atlas.writes(instance.requests_since(seq)) == 0
    assert fleet["changed_clusters"] == [] and fleet["writes"] == 0
    assert not any(outcome["changed"] for outcome in fleet["published"].values())
    assert instance.on_demand_snapshots() == before
