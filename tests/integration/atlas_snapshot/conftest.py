# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the atlas store's snapshot method: an Atlas emulator instance of its own, micmap-api aimed at it.

The instance (API 18350, clusters 18351 micmap and 18352 fixzit, state under .lab/tests-atlas-snapshot)
is started with the emulator tests' helper (lab/atlas/lab-up.sh with other ports), so the lab's Atlas
on 18300 and the other suites' instances are never reset by these tests. micmap-api's Heroku app in
the lab's Heroku emulator (18100, shared: run these tests under the lab lock) has its MONGODB_URI
aimed at this instance's micmap cluster; the value before is put back afterwards.
:class:`AtlasInstance` is shared with the fault tests (tests/integration/atlas_faults), which start
one of their own on other ports.
"""

from __future__ import annotations

import contextlib
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

# Snapshots and restore jobs settle in about a second; the journal samples every second.
QUICK = {"cluster_update_seconds": 0.5, "snapshot_queued_seconds": 0.2, "snapshot_progress_seconds": 0.3,
         "restore_seconds": 0.3, "journal_interval": 1}


class AtlasInstance:
    """An Atlas emulator instance on three ports of its own (API, micmap cluster, fixzit cluster)."""

    def __init__(self, first_port: int, lab_dir: Path, env_prefix: str) -> None:
        names = ("API", "MICMAP", "FIXZIT")
        self.ports = {f"ATLAS_EMU_{name}_PORT": os.environ.get(f"{env_prefix}_{name}_PORT", str(first_port + offset))
                      for offset, name in enumerate(names)}
        self.lab_dir = lab_dir
        self.api = f"http://127.0.0.1:{self.ports['ATLAS_EMU_API_PORT']}"
        self.micmap_uri = f"mongodb://127.0.0.1:{self.ports['ATLAS_EMU_MICMAP_PORT']}/micmap"

    def admin(self, method: str, path: str, body: t.Any = None) -> t.Any:
        response = requests.request(method, f"{self.api}/__lab/{path}", json=body, timeout=120)
        response.raise_for_status()
        return response.json() if response.content else None

    @contextlib.contextmanager
    def running(self, knobs: dict[str, float]) -> t.Iterator[str]:
        """Started, reset to the seed (60 mics, 12 venues in micmap), with ``knobs``; stopped afterwards."""
        started = atlas_lab_helpers.lab_script("lab-up.sh", self.ports, self.lab_dir)
        assert started.returncode == 0, f"lab-up.sh failed:\n{started.stdout}\n{started.stderr}"
        try:
            self.admin("POST", "reset")
            self.admin("POST", "knobs", knobs)
            yield self.api
        finally:
            atlas_lab_helpers.lab_script("lab-down.sh", self.ports, self.lab_dir)

    # The fault knobs, as tests/integration/faults.py (FlakyApi) drives them.
    def faults(self, **knobs: t.Any) -> None:
        self.admin("POST", "faults", knobs)

    def clear_faults(self) -> None:
        self.admin("DELETE", "faults")


@contextlib.contextmanager
def micmap_aimed_at(uri: str) -> t.Iterator[str]:
    """micmap-api's MONGODB_URI in the lab's Heroku emulator set to ``uri``; the value before is put back."""
    session = heroku()
    answer = session.get(f"{HEROKU_API}/apps/micmap-api/config-vars", timeout=10)
    assert answer.status_code == 200, f"the lab's Heroku emulator does not answer ({answer.status_code})"
    before = answer.json().get("MONGODB_URI")
    assert session.patch(f"{HEROKU_API}/apps/micmap-api/config-vars", json={"MONGODB_URI": uri},
                         timeout=10).status_code == 200
    try:
        yield uri
    finally:
        session.patch(f"{HEROKU_API}/apps/micmap-api/config-vars", json={"MONGODB_URI": before}, timeout=10)


INSTANCE = AtlasInstance(18350, REPO / ".lab" / "tests-atlas-snapshot", "ATLAS_SNAPSHOT")
API = INSTANCE.api
MICMAP_URI = INSTANCE.micmap_uri
admin = INSTANCE.admin


@pytest.fixture(scope="session")
def atlas_instance() -> t.Iterator[str]:
    """The instance, from the seed, quick timings."""
    with INSTANCE.running(QUICK) as api:
        yield api


@pytest.fixture(scope="module")
def micmap_app(atlas_instance: str) -> t.Iterator[str]:
    """micmap-api's MONGODB_URI aimed at the instance's micmap cluster; the value before is put back."""
    with micmap_aimed_at(MICMAP_URI) as uri:
        yield uri
