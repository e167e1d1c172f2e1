# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mongodb_dump and mongodb_restore against a real wire-protocol cluster with the real tools:
the runbook's mongodump before a migration, mongorestore --drop --nsInclude of one collection."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from pymongo import MongoClient

from .conftest import REPO, TOOLS_DIR

pytestmark = pytest.mark.integration


def module(name: str, args: dict[str, t.Any], check: bool = False) -> dict[str, t.Any]:
    """One module run through ansible (ad hoc, localhost), its result as JSON."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i", "localhost,",
               "-e", f"ansible_python_interpreter={sys.executable}", "-m", f"appops.runbooks.{name}",
               "-a", json.dumps(args), *(["--check"] if check else [])]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    try:
        return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(done.stdout[-3000:] + done.stderr[-3000:]) from None


def documents(uri: str, collection: str) -> list[dict[str, t.Any]]:
    with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        return list(client.get_default_database()[collection].find({}).sort("_id", 1))


def counts(uri: str) -> dict[str, int]:
    with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        database = client.get_default_database()
        return {f"{database.name}.{name}": database[name].count_documents({}) for name in database.list_collection_names()}


def test_dump_then_restore_one_collection_alone(clusters: dict[str, str], tmp_path: Path) -> None:
    uri = clusters["fixzit"]
    tools = str(TOOLS_DIR / "bin")
    archive = tmp_path / "main.archive.gz"

    dumped = module("mongodb_dump", {"uri": uri, "dest": str(archive), "bin_dir": tools})
    assert dumped.get("changed") is True, dumped
    assert archive.stat().st_mode & 0o777 == 0o600
    assert dumped["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert dumped["row_counts"] == counts(uri) == {"fixzit.organizations": 4, "fixzit.users": 40,
                                                   "fixzit.workOrders": 200, "fixzit.auditLogs": 300}
    assert dumped["verification"]["crc64"] == "ok" and dumped["tool_versions"]["mongodump"] == "100.7.0"
    assert uri not in json.dumps(dumped)
    saved_orders, saved_users = documents(uri, "workOrders"), documents(uri, "users")

    # The migration goes wrong: work orders closed and deleted; users change too, and must keep that.
    with MongoClient(uri) as client:
        client.fixzit.workOrders.update_many({"status": "open"}, {"$set": {"status": "closed"}})
        client.fixzit.workOrders.delete_many({"priority": "low"})
        client.fixzit.users.insert_one({"email": "new@fixzit.lab", "organizationId": "org-0", "role": "admin"})
    changed_orders, newer_users = documents(uri, "workOrders"), documents(uri, "users")
    restore = {"uri": uri, "src": str(archive), "sha256": dumped["sha256"], "collections": ["fixzit.workOrders"],
               "bin_dir": tools}

    checked = module("mongodb_restore", restore, check=True)
    assert checked["changed"] is True and checked["restored"] == ["fixzit.workOrders"], checked
    assert documents(uri, "workOrders") == changed_orders, "check mode changed documents"

    restored = module("mongodb_restore", restore)
    assert restored["changed"] is True and restored["content_matches"] is True, restored
    assert documents(uri, "workOrders") == saved_orders
    assert documents(uri, "users") == newer_users != saved_users
    assert restored["row_counts"]["fixzit.workOrders"] == 200

    again = module("mongodb_restore", restore)
    assert again["changed"] is False and again["restored"] == [], again
    assert "already hold" in again["plan"]["reason"]


def test_a_damaged_archive_is_refused_before_anything_changes(clusters: dict[str, str], tmp_path: Path) -> None:
    uri = clusters["fixzit"]
    archive = tmp_path / "main.archive.gz"
    archive.write_bytes(b"\x1f\x8b" + os.urandom(64))
    before = counts(uri)
    failed = module("mongodb_restore", {"uri": uri, "src": str(archive), "bin_dir": str(TOOLS_DIR / "bin")})
    assert failed.get("failed") is True and "cannot be read back" in failed["msg"], failed
    assert counts(uri) == before
