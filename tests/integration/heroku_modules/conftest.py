# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the heroku_* modules through ansible-playbook against a Heroku emulator.

Each test creates its own app through the emulator's admin API (``POST /__lab/apps``) and
deletes it afterwards, so tests never depend on, or disturb, the seed apps. The emulator is the
instance of the Heroku lock tests' group (LOCKS_LAB, tests/conftest.py), or HEROKU_EMULATOR_URL's.
"""

from __future__ import annotations

import os
import secrets
import typing as t
from pathlib import Path

import pytest
import requests

from ansible_collections.appops.runbooks.lab.emulators.heroku.client import healthy, lab_token
# The lock tests' instance and what it needs, as fixtures of this folder too.
from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import (  # noqa: F401 pylint: disable=unused-import
    LOCKS_LAB, locks_heroku_lab, state_up)
from ansible_collections.appops.runbooks.tests.integration.playbooks import Playbooks

API = os.environ.get("HEROKU_EMULATOR_URL", LOCKS_LAB.api)


@pytest.fixture(scope="session")
def emulator(request: pytest.FixtureRequest) -> str:
    """The emulator's URL; the lock tests' instance is started when it is not up."""
    if API == LOCKS_LAB.api:
        request.getfixturevalue("locks_heroku_lab")
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
