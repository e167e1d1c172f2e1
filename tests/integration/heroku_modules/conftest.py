# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the heroku_* modules through ansible-playbook against the lab's Heroku emulator.

Each test creates its own app through the emulator's admin API (``POST /__lab/apps``) and
deletes it afterwards, so tests never depend on, or disturb, the seed apps.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import typing as t
from pathlib import Path

import pytest
import requests

from ansible_collections.appops.runbooks.lab.emulators.heroku.client import healthy, lab_token
from ansible_collections.appops.runbooks.tests.integration.playbooks import Playbooks

REPO = Path(__file__).resolve().parents[3]
API = os.environ.get("HEROKU_EMULATOR_URL", "http://127.0.0.1:18100")


@pytest.fixture(scope="session")
def emulator() -> str:
    """The emulator's URL; starts the lab's emulators when they are not up."""
    if not healthy(API):
        started = subprocess.run([str(REPO / "lab" / "emulators" / "lab-up.sh")], capture_output=True,
                                 text=True, check=False, timeout=300)
        assert started.returncode == 0, f"lab-up.sh failed:\n{started.stdout}\n{started.stderr}"
    assert healthy(API), f"the Heroku emulator does not answer on {API}"
    return API


class LabApps:
    """Creates apps in the emulator and reads their state through the admin API."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self, purpose: str, **spec: t.Any) -> str:
        name = f"it-{purpose}-{secrets.token_hex(3)}"
        answer = requests.post(f"{API}/__lab/apps", json={"name": name, **spec}, timeout=60)
        assert answer.status_code == 201, answer.text
        self.created.append(name)
        return name

    @staticmethod
    def state(name: str) -> dict[str, t.Any]:
        answer = requests.get(f"{API}/__lab/apps/{name}", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    @staticmethod
    def knobs(name: str, **knobs: t.Any) -> None:
        assert requests.post(f"{API}/__lab/apps/{name}/knobs", json=knobs, timeout=10).status_code == 200

    def cleanup(self) -> None:
        for name in self.created:
            requests.delete(f"{API}/__lab/apps/{name}", timeout=60)


@pytest.fixture
def lab_apps(emulator: str) -> t.Iterator[LabApps]:
    apps = LabApps()
    yield apps
    apps.cleanup()


@pytest.fixture
def playbooks(tmp_path: Path, emulator: str) -> Playbooks:
    # Credentials once for the whole group, as playbooks of this collection do.
    return Playbooks.for_group(tmp_path, "heroku", {"api_key": lab_token(), "api_url": API, "data_api_url": API})
