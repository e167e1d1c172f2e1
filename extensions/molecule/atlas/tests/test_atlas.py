# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What converge left in the scenario's Atlas instance and its micmap cluster."""
from __future__ import annotations

import json
import os
import urllib.request

from pymongo import MongoClient

API = f"http://127.0.0.1:{os.environ.get('ATLAS_MOLECULE_API_PORT', '18375')}"
URI = f"mongodb://127.0.0.1:{os.environ.get('ATLAS_MOLECULE_MICMAP_PORT', '18376')}/micmap"
CLUSTER = "micmap-cluster"


def state() -> dict:
    with urllib.request.urlopen(f"{API}/__lab/state", timeout=30) as answer:
        return json.load(answer)


def of_cluster(kind: str) -> list[dict]:
    return [item for item in state()[kind] if item.get("_cluster", CLUSTER) == CLUSTER]


def test_one_restore_job_from_the_backups_snapshot_and_none_from_the_rerun(host):
    (snapshot,) = [s for s in of_cluster("snapshot") if s["snapshotType"] == "onDemand"]
    assert snapshot["status"] == "completed" and snapshot["description"].startswith("appops manual backup molecule")
    (job,) = of_cluster("restore")
    assert job["deliveryType"] == "automated" and job["snapshotId"] == snapshot["id"] and job.get("finishedAt")


def test_the_documents_are_back_as_the_snapshot_holds_them(host):
    with MongoClient(URI, serverSelectionTimeoutMS=5000) as client:
        assert client.micmap.mics.count_documents({}) == 60
        assert client.micmap.venues.count_documents({}) == 12
        assert client.micmap.venues.find_one({"_id": "venue-99"}) is None
