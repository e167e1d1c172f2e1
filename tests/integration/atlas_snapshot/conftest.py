# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the atlas store's snapshot method: an Atlas emulator instance of its own, micmap-api aimed at it.

The instance (API 18350, clusters 18351 micmap and 18352 fixzit, state under .lab/tests-atlas-snapshot)
is started with the emulator tests' helper (lab/atlas/lab-up.sh with other ports), so the lab's Atlas
on 18300 and the other suites' instances are never reset by these tests. micmap-api's Heroku app in
the lab's Heroku emulator (18100, shared: run these tests under the lab lock) has its MONGODB_URI
aimed at this instance's micmap cluster; the value before is put back afterwards.
"""

from __future__ import annotations

import os
import sys
import typing as t
from pathlib import Path

import pytest
import requests

from ansible_collections.appops.runbooks.tests.integration.atlas_store.conftest import HEROKU_API, heroku

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "emulators"))
import atlas_lab_helpers  # noqa: E402  the emulator tests' starter

PORTS = {"ATLAS_EMU_API_PORT": os.environ.get("ATLAS_SNAPSHOT_API_PORT", "18350"),
         "ATLAS_EMU_MICMAP_PORT": os.environ.get("ATLAS_SNAPSHOT_MICMAP_PORT", "18351"),
         "ATLAS_EMU_FIXZIT_PORT": os.environ.get("ATLAS_SNAPSHOT_FIXZIT_PORT", "18352")}
LAB_DIR = REPO / ".lab" / "tests-atlas-snapshot"
API = f"http://127.0.0.1:{PORTS['ATLAS_EMU_API_PORT']}"
MICMAP_URI = f"mongodb://127.0.0.1:{PORTS['ATLAS_EMU_MICMAP_PORT']}/micmap"
# Snapshots and restore jobs settle in about a second; the journal samples every second.
QUICK = {"cluster_update_seconds": 0.5, "snapshot_queued_seconds": 0.2, "snapshot_progress_seconds": 0.3,
         "restore_seconds": 0.3, "journal_interval": 1}


def admin(method: str, path: str, body: t.Any = None) -> t.Any:
    response = requests.request(method, f"{API}/__lab/{path}", json=body, timeout=120)
    response.raise_for_status()
    return response.json() if response.content else None


@pytest.fixture(scope="session")
def atlas_instance() -> t.Iterator[str]:
    """The instance, from the seed (60 mics, 12 venues in micmap), quick timings."""
    started = atlas_lab_helpers.lab_script("lab-up.sh", PORTS, LAB_DIR)
    assert started.returncode == 0, f"lab-up.sh failed:\n{started.stdout}\n{started.stderr}"
    admin("POST", "reset")
    admin("POST", "knobs", QUICK)
    yield API
    atlas_lab_helpers.lab_script("lab-down.sh", PORTS, LAB_DIR)


@pytest.fixture(scope="module")
def micmap_app(atlas_instance: str) -> t.Iterator[str]:
    """micmap-api's MONGODB_URI aimed at the instance's micmap cluster; the value before is put back."""
    session = heroku()
    answer = session.get(f"{HEROKU_API}/apps/micmap-api/config-vars", timeout=10)
    assert answer.status_code == 200, f"the lab's Heroku emulator does not answer ({answer.status_code})"
    before = answer.json().get("MONGODB_URI")
    assert session.patch(f"{HEROKU_API}/apps/micmap-api/config-vars", json={"MONGODB_URI": MICMAP_URI},
                         timeout=10).status_code == 200
    yield MICMAP_URI
    session.patch(f"{HEROKU_API}/apps/micmap-api/config-vars", json={"MONGODB_URI": before}, timeout=10)
