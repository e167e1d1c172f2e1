# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the atlas_* module tests: their own Atlas emulator instance, its admin API, documents.

The instance (API 18330, clusters 18331/18332, state under .lab/tests-atlas-modules) is started with
the emulator tests' helper (lab/atlas/lab-up.sh with other ports), so neither the lab's Atlas on
18300 nor the emulator tests' instance is reset or faulted by these tests. Each test starts from
the seed (``POST /__lab/reset``) with quick timings.
"""

from __future__ import annotations

import os
import sys
import typing as t
from pathlib import Path

import requests
from pymongo import MongoClient

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "emulators"))
import atlas_lab_helpers  # noqa: E402  the emulator tests' starter and spec helpers

PORTS = {"ATLAS_EMU_API_PORT": os.environ.get("ATLAS_MODULES_API_PORT", "18330"),
         "ATLAS_EMU_MICMAP_PORT": os.environ.get("ATLAS_MODULES_MICMAP_PORT", "18331"),
         "ATLAS_EMU_FIXZIT_PORT": os.environ.get("ATLAS_MODULES_FIXZIT_PORT", "18332")}
LAB_DIR = Path(os.environ.get("ATLAS_MODULES_LAB_DIR") or REPO / ".lab" / "tests-atlas-modules")
API = f"http://127.0.0.1:{PORTS['ATLAS_EMU_API_PORT']}"
MICMAP_PORT = int(PORTS["ATLAS_EMU_MICMAP_PORT"])
FIXZIT_PORT = int(PORTS["ATLAS_EMU_FIXZIT_PORT"])
atlas = atlas_lab_helpers.atlas
GROUP = atlas.GROUP_ID
QUICK = {"cluster_update_seconds": 1, "snapshot_queued_seconds": 0.3, "snapshot_progress_seconds": 0.5,
         "restore_seconds": 0.5, "access_pending_seconds": 0.2, "journal_interval": 1}
# Every module of the group gets these once, as playbooks of this collection do.
DIGEST_DEFAULTS = {"group/appops.runbooks.atlas": {
    "project_id": GROUP, "public_key": atlas.PUBLIC_KEY, "private_key": atlas.PRIVATE_KEY, "api_url": API}}


def start_instance() -> None:
    result = atlas_lab_helpers.lab_script("lab-up.sh", PORTS, LAB_DIR)
    assert result.returncode == 0, f"lab-up.sh failed:\n{result.stdout}\n{result.stderr}"


def admin(method: str, path: str, body: t.Any = None) -> t.Any:
    response = requests.request(method, f"{API}/__lab/{path}", json=body, timeout=120)
    response.raise_for_status()
    return response.json() if response.content else None


def api(method: str, path: str, body: t.Any = None, version: str = "2023-01-01") -> requests.Response:
    """The Admin API itself (Digest), for what the tests read or set up outside the modules."""
    media = f"application/vnd.atlas.{version}+json"
    headers = {"Accept": media, **({"Content-Type": media} if body is not None else {})}
    return requests.request(method, f"{API}/api/atlas/v2/groups/{GROUP}/{path}", json=body, headers=headers,
                            auth=atlas_lab_helpers.digest(), timeout=30)


class Lab:
    """The instance as the tests see it: state, request log, documents."""

    def __init__(self) -> None:
        self.mark = admin("GET", "health")["last_seq"]

    @staticmethod
    def state() -> dict[str, t.Any]:
        return admin("GET", "state")

    def requests(self, method: str | None = None, contains: str = "") -> list[dict[str, t.Any]]:
        """Requests since the last ``remember()`` (or the test's start)."""
        return [r for r in admin("GET", f"requests?since={self.mark}")
                if (method is None or r["method"] == method) and contains in r["path"]]

    def remember(self) -> None:
        self.mark = admin("GET", "health")["last_seq"]

    @staticmethod
    def mongo(port: int) -> MongoClient:
        return MongoClient(f"mongodb://127.0.0.1:{port}/", directConnection=True, serverSelectionTimeoutMS=5000)

    def restore_jobs(self) -> list[dict[str, t.Any]]:
        return self.state()["restore"]
