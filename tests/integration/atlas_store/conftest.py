# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the atlas store tests: MongoDB clusters of their own, micmap-api's Heroku app aimed at one.

The clusters are the Atlas lab's (lab/atlas/lab-up.sh: nx-27017 servers, the real mongodump and
mongorestore) on ports of these tests' own, 18340 (micmap) and 18341 (fixzit), state under
.lab/tests-mongostore, so the lab's clusters (18310, 18311) are never changed. micmap-api's store
reads its connection string from the app's MONGODB_URI config var in the lab's Heroku emulator
(18100, shared: run these tests under the lab lock); the tests point it at their micmap cluster
and put the value back afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import requests

from ansible_collections.appops.runbooks.lab.emulators.heroku.client import lab_token

REPO = Path(__file__).resolve().parents[3]
LAB_DIR = REPO / ".lab" / "tests-mongostore"
PORTS = {"ATLAS_EMU_API_PORT": os.environ.get("ATLAS_STORE_TEST_API_PORT", "18342"),
         "ATLAS_EMU_MICMAP_PORT": os.environ.get("ATLAS_STORE_TEST_MICMAP_PORT", "18340"),
         "ATLAS_EMU_FIXZIT_PORT": os.environ.get("ATLAS_STORE_TEST_FIXZIT_PORT", "18341")}
MICMAP_URI = f"mongodb://127.0.0.1:{PORTS['ATLAS_EMU_MICMAP_PORT']}/micmap"
FIXZIT_URI = f"mongodb://127.0.0.1:{PORTS['ATLAS_EMU_FIXZIT_PORT']}/fixzit"
TOOLS_DIR = REPO / ".lab" / "tools"
HEROKU_API = os.environ.get("HEROKU_API_URL", "http://127.0.0.1:18100").rstrip("/")

sys.path.insert(0, str(REPO / "lab" / "emulators"))
from atlas.seed import seed_cluster  # noqa: E402  the lab's own seed of the clusters


def lab_env() -> dict[str, str]:
    return {**os.environ, **PORTS, "APPOPS_LAB_DIR": str(LAB_DIR), "ATLAS_EMU_CLI_ENV": str(LAB_DIR / "cli.env"),
            "ATLAS_EMU_TOOLS_DIR": str(TOOLS_DIR)}


def lab_script(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(REPO / "lab" / "atlas" / name)], capture_output=True, text=True,
                          check=False, timeout=900, env=lab_env())


@pytest.fixture(scope="session")
def clusters() -> t.Iterator[dict[str, str]]:
    """The tests' own clusters, seeded afresh (60 mics, 12 venues; fixzit's 544 documents)."""
    started = lab_script("lab-up.sh")
    assert started.returncode == 0, f"lab-up.sh failed:\n{started.stdout}\n{started.stderr}"
    seed_cluster(int(PORTS["ATLAS_EMU_MICMAP_PORT"]), "micmap")
    seed_cluster(int(PORTS["ATLAS_EMU_FIXZIT_PORT"]), "fixzit")
    yield {"micmap": MICMAP_URI, "fixzit": FIXZIT_URI}
    lab_script("lab-down.sh")


def heroku() -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {lab_token()}",
                            "Accept": "application/vnd.heroku+json; version=3"})
    return session


@pytest.fixture(scope="module")
def micmap_app(clusters: dict[str, str]) -> t.Iterator[str]:
    """micmap-api's MONGODB_URI aimed at the tests' micmap cluster; the value before is put back."""
    session = heroku()
    answer = session.get(f"{HEROKU_API}/apps/micmap-api/config-vars", timeout=10)
    assert answer.status_code == 200, f"the lab's Heroku emulator does not answer ({answer.status_code})"
    before = answer.json().get("MONGODB_URI")
    assert session.patch(f"{HEROKU_API}/apps/micmap-api/config-vars", json={"MONGODB_URI": clusters["micmap"]},
                         timeout=10).status_code == 200
    yield clusters["micmap"]
    session.patch(f"{HEROKU_API}/apps/micmap-api/config-vars", json={"MONGODB_URI": before}, timeout=10)
