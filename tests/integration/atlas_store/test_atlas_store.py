# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The atlas store's logical way (method: logical) through the procedure playbooks, for micmap-api (Heroku app,
its MONGODB_URI config var aimed at the tests' own cluster): backup, a one-collection restore that
leaves the other collection's newer documents, and a re-run that finds nothing to restore.
Drives the lab's Heroku emulator (maintenance, health, config vars): run under the lab lock."""

from __future__ import annotations

import hashlib
import json
import typing as t
from pathlib import Path

import pytest
import requests
from pymongo import MongoClient

from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import Run, run_playbook

from .conftest import HEROKU_API, heroku

pytestmark = pytest.mark.integration
APP = "micmap-api"
SEEN: dict[str, t.Any] = {}


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's state folder for these runs (backups); the lock stays in the lab's state database."""
    return tmp_path_factory.mktemp("micmap-api-state")


# micmap-api's store in the lab inventory takes Atlas snapshots; these runs take the logical way
# (method: logical), which any atlas store can name.
LOGICAL_STORE = {"name": "main", "kind": "atlas", "method": "logical", "database": "micmap", "config_var": "MONGODB_URI"}


def playbook(name: str, state_dir: Path, extra: dict[str, t.Any] | None = None) -> Run:
    return run_playbook(name, APP, {"app_state_dir": str(state_dir), "app_data_stores": [LOGICAL_STORE], **(extra or {})})


def documents(uri: str, collection: str) -> list[dict[str, t.Any]]:
    with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        return list(client.micmap[collection].find({}).sort("_id", 1))


def backups(state_dir: Path) -> dict[str, dict[str, t.Any]]:
    root = state_dir / "backups"
    return {path.name: json.loads((path / "manifest.json").read_text()) for path in sorted(root.iterdir())
            if (path / "manifest.json").exists()} if root.exists() else {}


def maintenance() -> bool:
    answer = heroku().get(f"{HEROKU_API}/apps/{APP}", timeout=10)
    answer.raise_for_status()
    return bool(answer.json()["maintenance"])


def test_backup_reads_mongodb_uri_and_writes_a_verified_archive(micmap_app: str, state_dir: Path) -> None:
    run = playbook("backup.yml", state_dir)
    assert run.rc == 0, run.raw[-4000:]
    assert micmap_app not in run.raw, "the connection string was shown"
    (backup_id, manifest), = backups(state_dir).items()
    (store,) = manifest["stores"]
    assert store["kind"] == "atlas" and store["method"] == "logical" and store["name"] == "main"
    archive = state_dir / "backups" / backup_id / "main.archive.gz"
    assert store["files"][0]["name"] == archive.name
    assert store["files"][0]["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    for path in (archive, archive.parent / "manifest.json"):
        assert path.stat().st_mode & 0o777 == 0o600, path
    with MongoClient(micmap_app) as client:
        live = {f"micmap.{name}": client.micmap[name].count_documents({}) for name in ("mics", "venues")}
    assert store["row_counts"] == live == {"micmap.mics": 60, "micmap.venues": 12}
    assert store["verification"]["crc64"] == "ok" and store["tool_versions"]["mongorestore"] == "100.7.0"
    SEEN.update(backup_id=backup_id, mics=documents(micmap_app, "mics"), venues=documents(micmap_app, "venues"))


def test_one_collection_restore_leaves_the_others_newer_documents(micmap_app: str, state_dir: Path) -> None:
    assert SEEN, "needs the backup of the test before"
    with MongoClient(micmap_app) as client:
        client.micmap.mics.delete_many({"day": "Monday"})
        client.micmap.mics.update_many({"cost": "free"}, {"$set": {"cost": "$10"}})
        client.micmap.venues.insert_one({"_id": "venue-99", "name": "Venue 99", "borough": "Queens"})
    newer_venues = documents(micmap_app, "venues")
    before = set(backups(state_dir))

    run = playbook("restore.yml", state_dir, {"confirm": APP, "backup_id": SEEN["backup_id"],
                                              "collections": "micmap.mics"})
    assert run.rc == 0, run.raw[-4000:]
    assert f"RESTORED {APP} from backup {SEEN['backup_id']}" in run.output and "health=healthy" in run.output
    assert documents(micmap_app, "mics") == SEEN["mics"]
    assert documents(micmap_app, "venues") == newer_venues != SEEN["venues"]
    # The safety backup holds the store as it was before, the newer venue and the damaged mics included.
    (safety_id,) = set(backups(state_dir)) - before
    safety = backups(state_dir)[safety_id]
    assert safety["kind"] == "safety"
    assert safety["stores"][0]["row_counts"] == {"micmap.mics": 51, "micmap.venues": 13}
    assert maintenance() is False
    assert micmap_app not in run.raw


def test_rerun_finds_nothing_to_restore(micmap_app: str, state_dir: Path) -> None:
    assert SEEN, "needs the backup of the first test"
    before = set(backups(state_dir))
    run = playbook("restore.yml", state_dir, {"confirm": APP, "backup_id": SEEN["backup_id"],
                                              "collections": "micmap.mics"})
    assert run.rc == 0, run.raw[-4000:]
    assert f"already holds backup {SEEN['backup_id']} in every store; nothing restored" in run.output
    assert "micmap.mics already hold the documents of backup" in run.output
    assert set(backups(state_dir)) == before, "a re-run took a safety backup"
    assert documents(micmap_app, "mics") == SEEN["mics"]
    assert requests.get(f"{HEROKU_API}/__lab/apps/{APP}", timeout=10).json()["maintenance"] is False
