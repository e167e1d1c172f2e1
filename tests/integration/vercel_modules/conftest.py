# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the vercel_* modules through ansible-playbook against an own Vercel emulator instance.

The instance (ports 18230-18233, state under .lab/tests-vercel-modules) is started once per
session with the emulator tests' helper and reset before every test, so these tests never
disturb the lab's shared instance on 18200 or the emulator tests' one on 18210.
"""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import pytest
import requests

from ansible_collections.appops.runbooks.tests.integration.playbooks import Playbooks

TESTS = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TESTS / "emulators"))

import vercel_lab_helpers  # noqa: E402

PORTS = {"VERCEL_EMU_API_PORT": "18230", "VERCEL_EMU_DOMAIN_PORT": "18231", "HEROKU_EMU_PG_PORT": "18232",
         "HEROKU_EMU_REDIS_PORT": "18233"}
LAB_DIR = vercel_lab_helpers.REPO / ".lab" / "tests-vercel-modules"
API = f"http://127.0.0.1:{PORTS['VERCEL_EMU_API_PORT']}"
TOKEN = vercel_lab_helpers.TOKEN
TEAM_ID = vercel_lab_helpers.TEAM_ID
# Short builds and alias jobs keep the file's wall time small.
FAST = {"queue_ms": 100, "build_ms": 500, "alias_job_ms": 200}


class Lab:
    """The emulator's admin API: knobs, faults, the request log and each project's real state."""

    @staticmethod
    def knobs(**values: t.Any) -> None:
        assert requests.post(f"{API}/__lab/knobs", json=values, timeout=5).status_code == 200

    @staticmethod
    def faults(**values: t.Any) -> None:
        assert requests.post(f"{API}/__lab/faults", json=values, timeout=5).status_code == 200

    @staticmethod
    def state(project: str) -> dict[str, t.Any]:
        answer = requests.get(f"{API}/__lab/projects/{project}", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    @staticmethod
    def last_seq() -> int:
        return int(requests.get(f"{API}/__lab/health", timeout=5).json()["last_request_seq"])

    @staticmethod
    def requests_since(seq: int) -> list[dict[str, t.Any]]:
        return requests.get(f"{API}/__lab/requests", params={"since": seq}, timeout=10).json()

    def writes_since(self, seq: int) -> list[dict[str, t.Any]]:
        """Requests that could change something and were answered with success."""
        return [r for r in self.requests_since(seq) if r["method"] != "GET" and r["status"] < 400]


@pytest.fixture(scope="session")
def vercel_api() -> t.Iterator[str]:
    with vercel_lab_helpers.own_instance(PORTS, LAB_DIR) as api:
        yield api


@pytest.fixture
def lab(vercel_api: str) -> t.Iterator[Lab]:
    assert requests.post(f"{API}/__lab/reset", timeout=60).status_code == 200
    Lab.knobs(**FAST)
    yield Lab()
    requests.delete(f"{API}/__lab/faults", timeout=5)
    requests.post(f"{API}/__lab/rate-limit", json={}, timeout=5)


@pytest.fixture
def playbooks(tmp_path: Path, lab: Lab) -> Playbooks:
    # Credentials once for the whole group, as playbooks of this collection do.
    return Playbooks.for_group(tmp_path, "vercel", {"token": TOKEN, "team_id": TEAM_ID, "api_url": API})
