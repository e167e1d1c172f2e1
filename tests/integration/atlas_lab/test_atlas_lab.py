"""The lab's own Atlas part (make lab): lab/cli.env aims the runbooks' MongoDB lines and the
Admin API at it, and they answer. Read-only: the lab's state is left as it is."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests
from pymongo import MongoClient
from requests.auth import HTTPDigestAuth

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
CLI_ENV = REPO / "lab" / "cli.env"
TOOLS = REPO / ".lab" / "tools"
GUARD = REPO / "tests" / "emulators" / "node_loopback_guard.cjs"


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    values = {}
    for line in CLI_ENV.read_text().splitlines():
        if not line.startswith("#"):
            key, separator, value = line.partition("=")
            if separator:
                values[key] = value
    return values


def test_cli_env_has_the_atlas_block_and_stays_private(env: dict[str, str]) -> None:
    assert (CLI_ENV.resolve().stat().st_mode & 0o777) == 0o600
    assert env["MICMAP_MONGODB_URI"] == "mongodb://127.0.0.1:18310/micmap"
    assert env["FIXZIT_MONGODB_URI"] == "mongodb://127.0.0.1:18311/fixzit"
    assert env["ATLAS_API_URL"] == "http://127.0.0.1:18300"
    for key in ("ATLAS_PUBLIC_KEY", "ATLAS_PRIVATE_KEY", "ATLAS_CLIENT_ID", "ATLAS_CLIENT_SECRET", "ATLAS_GROUP_ID"):
        assert env[key]


def test_runbook_mongosh_ping_against_each_cluster(env: dict[str, str], tmp_path: Path) -> None:
    guard_log = tmp_path / "guard.log"
    for uri in (env["MICMAP_MONGODB_URI"], env["FIXZIT_MONGODB_URI"]):
        ping = subprocess.run([str(TOOLS / "mongosh" / "node_modules" / ".bin" / "mongosh"), uri, "--quiet", "--eval",
                               "db.adminCommand('ping')"], capture_output=True, text=True, timeout=120, check=False,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NODE_OPTIONS": f"--require {GUARD}",
                                   "APPOPS_GUARD_LOG": str(guard_log)})
        assert ping.returncode == 0 and "ok: 1" in ping.stdout, ping.stderr
    assert not guard_log.exists()
    with MongoClient(env["MICMAP_MONGODB_URI"], serverSelectionTimeoutMS=5000) as client:
        assert client.micmap.mics.count_documents({}) > 0


def test_admin_api_answers_with_digest_and_with_a_service_account(env: dict[str, str]) -> None:
    cluster = f"{env['ATLAS_API_URL']}/api/atlas/v2/groups/{env['ATLAS_GROUP_ID']}/clusters/fixzit-cluster"
    accept = {"Accept": "application/vnd.atlas.2024-08-05+json"}
    digest = requests.get(cluster, headers=accept, timeout=10,
                          auth=HTTPDigestAuth(env["ATLAS_PUBLIC_KEY"], env["ATLAS_PRIVATE_KEY"]))
    assert digest.status_code == 200 and digest.json()["name"] == "fixzit-cluster"
    token = requests.post(f"{env['ATLAS_API_URL']}/api/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(env["ATLAS_CLIENT_ID"], env["ATLAS_CLIENT_SECRET"]), timeout=10).json()
    bearer = requests.get(cluster, headers={**accept, "Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert bearer.status_code == 200
    assert bearer.json()["connectionStrings"]["standard"] == env["FIXZIT_MONGODB_URI"].rsplit("/", 1)[0]
