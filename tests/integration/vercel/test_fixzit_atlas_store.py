# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fixzit's atlas store (seed 004): the runbook's mongodump, then its mongorestore --nsInclude of one
collection, on the lab's fixzit cluster (lab/atlas, 127.0.0.1:18311), whose connection string the
playbooks read from the project's MONGODB_URI env var in the lab's Vercel emulator."""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

import pytest
from pymongo import MongoClient

from ansible_collections.appops.runbooks.tests.integration.vercel.conftest import Lab, run_playbooks

pytestmark = pytest.mark.integration

FIXZIT_URI = f"mongodb://127.0.0.1:{os.environ.get('ATLAS_EMU_FIXZIT_PORT') or 18311}/fixzit"


def documents(collection: str) -> list[dict[str, t.Any]]:
    with MongoClient(FIXZIT_URI, serverSelectionTimeoutMS=5000) as client:
        return list(client.fixzit[collection].find({}).sort("_id", 1))


def test_one_collection_restore_brings_work_orders_back_and_leaves_the_others(lab: Lab, tmp_path: Path) -> None:
    db_health = lab.get("fixzit.com", "/api/health/db")
    assert db_health.status_code == 200 and db_health.json()["mongodb"] == "connected", db_health.text
    state = {"app_state_dir": str(tmp_path)}
    backed_up = run_playbooks(["backup.yml"], "fixzit", state)
    assert backed_up.rc == 0, backed_up.raw[-4000:]
    work_orders = documents("workOrders")

    with MongoClient(FIXZIT_URI, serverSelectionTimeoutMS=5000) as client:
        damaged = client.fixzit.workOrders.delete_many({"_id": {"$in": [d["_id"] for d in work_orders[:50]]}})
        newer = client.fixzit.auditLogs.insert_one({"action": "after the backup", "marker": "fixzit-restore-test"})
    try:
        assert damaged.deleted_count == 50
        audit_logs = documents("auditLogs")
        restored = run_playbooks(["restore.yml"], "fixzit",
                                 {**state, "confirm": "fixzit", "collections": "fixzit.workOrders"})
        assert restored.rc == 0, restored.raw[-4000:]
        assert documents("workOrders") == work_orders
        # The other collections keep what they hold now, the document written after the backup included.
        assert documents("auditLogs") == audit_logs
        assert FIXZIT_URI not in restored.raw, "the connection string was shown"
        # Maintenance ended off, and the health gate read the database for real.
        assert lab.get("fixzit.com", "/").status_code == 200
        assert lab.get("fixzit.com", "/api/health/db").json()["workOrders"] == len(work_orders)
        outcome = restored.published["fixzit"]
        assert (outcome["procedure"], outcome["failed"]) == ("restore", False), outcome
        assert outcome["health"] == "healthy", outcome
        assert "/api/health/db" in restored.raw
    finally:
        # The lab's cluster as it was: no test document, no work order missing even after a failure.
        with MongoClient(FIXZIT_URI, serverSelectionTimeoutMS=5000) as client:
            client.fixzit.auditLogs.delete_one({"_id": newer.inserted_id})
            present = {d["_id"] for d in client.fixzit.workOrders.find({}, {"_id": 1})}
            missing = [d for d in work_orders if d["_id"] not in present]
            if missing:
                client.fixzit.workOrders.insert_many(missing)
