"""The real MongoDB clients run the runbooks' lines against the lab's clusters: mongosh (npm
2.12.0) pings and counts, mongodump/mongorestore (Database Tools 100.7.0, pinned by sha256)
dump to a folder or a gzipped archive and restore one collection with --drop --nsInclude.
Outcomes are read back with pymongo from the cluster's own server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import bson
import pytest
from atlas_lab_helpers import FIXZIT_PORT, MICMAP_PORT, REPO, lab_env
from pymongo import MongoClient

pytestmark = pytest.mark.integration

TOOLS = REPO / ".lab" / "tools"
MONGOSH = TOOLS / "mongosh" / "node_modules" / ".bin" / "mongosh"
MICMAP_URI = f"mongodb://127.0.0.1:{MICMAP_PORT}/micmap"
FIXZIT_URI = f"mongodb://127.0.0.1:{FIXZIT_PORT}/fixzit"


HOME = REPO / ".lab" / "tests" / "atlas" / "home"
GUARD = Path(__file__).resolve().parent / "node_loopback_guard.cjs"
GUARD_LOG = HOME / "guard.log"


def run(args: list[str | Path], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """Run a tool; mongosh (Node) loads the loopback guard, which refuses and records any other address."""
    config = HOME / ".mongodb" / "mongosh" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('{"enableTelemetry":false}')  # mongosh's own setting; the guard proves the rest
    GUARD_LOG.unlink(missing_ok=True)
    env = {**lab_env(), "HOME": str(HOME), "NODE_OPTIONS": f"--require {GUARD}", "APPOPS_GUARD_LOG": str(GUARD_LOG)}
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False,
                            env=env)
    outside = GUARD_LOG.read_text() if GUARD_LOG.exists() else ""
    assert not outside, f"{args[0]} tried to leave loopback: {outside}"
    return result


@pytest.fixture
def fixzit(atlas_lab: object) -> MongoClient:
    return MongoClient(f"mongodb://127.0.0.1:{FIXZIT_PORT}/", serverSelectionTimeoutMS=5000, directConnection=True)


def test_tools_are_the_pinned_ones(atlas_emulator: str) -> None:
    from atlas.tools import TOOLS_SHA256, sha256_of  # lab/emulators is on sys.path (atlas_lab_helpers)
    for name, digest in TOOLS_SHA256.items():
        assert sha256_of(TOOLS / "bin" / name) == digest
    assert "100.7.0" in run([TOOLS / "bin" / "mongodump", "--version"]).stdout
    assert run([MONGOSH, "--version"]).stdout.strip() == "2.12.0"


def test_mongosh_ping_and_count(fixzit: MongoClient) -> None:
    ping = run([MONGOSH, MICMAP_URI, "--quiet", "--eval", "db.adminCommand('ping')"])
    assert ping.returncode == 0, ping.stderr
    assert "ok: 1" in ping.stdout
    count = run([MONGOSH, MICMAP_URI, "--quiet", "--eval", "db.mics.countDocuments()"])
    assert count.returncode == 0 and count.stdout.strip() == "60"
    fixzit.fixzit.workOrders.insert_one({"number": 501})
    assert run([MONGOSH, FIXZIT_URI, "--quiet", "--eval", "db.workOrders.countDocuments()"]).stdout.strip() == "201"


def test_mongosh_fails_when_the_cluster_is_down() -> None:
    down = run([MONGOSH, "mongodb://127.0.0.1:18329/x?serverSelectionTimeoutMS=1500", "--quiet", "--eval",
                "db.adminCommand('ping')"])
    assert down.returncode != 0


def test_mongodump_out_then_mongorestore_drop_one_collection(fixzit: MongoClient, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    dumped = run([TOOLS / "bin" / "mongodump", f"--uri={FIXZIT_URI}", f"--out={out}"])
    assert dumped.returncode == 0, dumped.stderr
    assert len(bson.decode_all((out / "fixzit" / "workOrders.bson").read_bytes())) == 200
    db = fixzit.fixzit
    db.workOrders.delete_many({"status": "open"})
    db.users.insert_one({"email": "new@fixzit.lab"})
    restored = run([TOOLS / "bin" / "mongorestore", f"--uri=mongodb://127.0.0.1:{FIXZIT_PORT}/", "--drop",
                    "--nsInclude=fixzit.workOrders", out])
    assert restored.returncode == 0, restored.stderr
    assert "200 document(s) restored successfully" in restored.stderr
    assert db.workOrders.count_documents({}) == 200 and db.workOrders.count_documents({"status": "open"}) == 67
    assert db.users.count_documents({}) == 41, "the other collections keep their newer documents"


def test_runbook_single_file_restore(fixzit: MongoClient, tmp_path: Path) -> None:
    """Runbook 004: mongorestore --nsInclude fixzit.workOrders <dump>/fixzit/workOrders.bson."""
    out = tmp_path / "manual"
    assert run([TOOLS / "bin" / "mongodump", f"--uri={FIXZIT_URI}", f"--out={out}"]).returncode == 0
    fixzit.fixzit.workOrders.delete_many({})
    restored = run([TOOLS / "bin" / "mongorestore", f"--uri={FIXZIT_URI}", "--nsInclude=fixzit.workOrders",
                    out / "fixzit" / "workOrders.bson"])
    assert restored.returncode == 0, restored.stderr
    assert fixzit.fixzit.workOrders.count_documents({}) == 200


def test_mongodump_archive_gzip_round_trip(fixzit: MongoClient, tmp_path: Path) -> None:
    archive = tmp_path / "fixzit.archive.gz"
    dumped = run([TOOLS / "bin" / "mongodump", f"--uri={FIXZIT_URI}", f"--archive={archive}", "--gzip"])
    assert dumped.returncode == 0, dumped.stderr
    assert archive.read_bytes()[:2] == b"\x1f\x8b"
    fixzit.drop_database("fixzit")
    restored = run([TOOLS / "bin" / "mongorestore", f"--uri=mongodb://127.0.0.1:{FIXZIT_PORT}/", "--drop",
                    f"--archive={archive}", "--gzip"])
    assert restored.returncode == 0, restored.stderr
    db = fixzit.fixzit
    assert {n: db[n].count_documents({}) for n in ("organizations", "users", "workOrders", "auditLogs")} == {
        "organizations": 4, "users": 40, "workOrders": 200, "auditLogs": 300}


def test_a_tools_bundle_with_other_binaries_is_refused(tmp_path: Path) -> None:
    import zipfile

    from atlas.tools import ToolInstallError, extract_tools
    bundle = tmp_path / "bin.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("bin/mongodump", b"#!/bin/sh\necho not the real tool\n")
        archive.writestr("bin/mongorestore", b"#!/bin/sh\n")
    with pytest.raises(ToolInstallError, match="refusing"):
        extract_tools(bundle, tmp_path / "bin")
    assert not list((tmp_path / "bin").iterdir()), "nothing of a refused bundle stays"


def test_cli_env_writer_replaces_only_its_block_and_keeps_0600(tmp_path: Path) -> None:
    from atlas.services import cli_env_lines, write_cli_env
    env_file = tmp_path / "cli.env"
    env_file.write_text("HEROKU_HOST=http://127.0.0.1:18100\nAPPOPS_STATE_DSN=x\n")
    env_file.chmod(0o644)
    link = tmp_path / "link.env"
    link.symlink_to(env_file)
    write_cli_env(link)
    write_cli_env(link)
    lines = env_file.read_text().splitlines()
    assert lines[:2] == ["HEROKU_HOST=http://127.0.0.1:18100", "APPOPS_STATE_DSN=x"]
    assert lines[2:] == cli_env_lines(), "one block, written once however often lab-up runs"
    assert link.is_symlink() and (env_file.stat().st_mode & 0o777) == 0o600
    assert {line.split("=")[0] for line in lines if "=" in line} >= {
        "ATLAS_PUBLIC_KEY", "ATLAS_PRIVATE_KEY", "ATLAS_CLIENT_ID", "ATLAS_CLIENT_SECRET", "ATLAS_API_URL",
        "ATLAS_GROUP_ID", "MICMAP_MONGODB_URI", "FIXZIT_MONGODB_URI"}
