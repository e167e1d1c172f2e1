# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance playbook's fleet path for Vercel: eleven projects switched by one task.

On an own emulator instance (ports 18295-18299, state under .lab/tests-vercel-fleet), started
once for the file: maintenance on, a re-run that writes nothing, off with the values on replaced
put back, and one redeploy per changed project each way, counted in the emulator's state.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import requests

from ansible_collections.appops.runbooks.tests.integration.results import published

TESTS = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TESTS / "emulators"))

import vercel_lab_helpers  # noqa: E402

pytestmark = pytest.mark.integration

REPO = vercel_lab_helpers.REPO
PORTS = {"VERCEL_EMU_API_PORT": "18295", "VERCEL_EMU_DOMAIN_PORT": "18296", "HEROKU_EMU_PG_PORT": "18297",
         "HEROKU_EMU_REDIS_PORT": "18298", "ATLAS_EMU_FIXZIT_PORT": "18299"}
API = f"http://127.0.0.1:{PORTS['VERCEL_EMU_API_PORT']}"
FLEET = [f"fleet-v-{index:02d}" for index in range(11)]
# One project had a message of its own before maintenance: off must put it back.
OWN_MESSAGE = {"fleet-v-03": "Scheduled work on Sunday"}


@pytest.fixture(scope="module")
def vercel_api() -> t.Iterator[str]:
    with vercel_lab_helpers.own_instance(PORTS, REPO / ".lab" / "tests-vercel-fleet") as api:
        yield api


@pytest.fixture
def fleet(vercel_api: str, tmp_path: Path) -> Path:
    assert requests.post(f"{API}/__lab/reset", timeout=60).status_code == 200
    requests.post(f"{API}/__lab/knobs", json={"queue_ms": 100, "build_ms": 400, "alias_job_ms": 100},
                  timeout=5).raise_for_status()
    for name in FLEET:
        env = [{"key": "MAINTENANCE_MESSAGE", "value": OWN_MESSAGE[name], "type": "plain", "target": ["production"]}
               ] if name in OWN_MESSAGE else []
        requests.post(f"{API}/__lab/projects", json={"name": name, "env": env, "deployments": 2},
                      timeout=10).raise_for_status()
    inventory = tmp_path / "fleet.json"
    inventory.write_text(json.dumps({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "app_environment": "lab", "vercel_token": vercel_lab_helpers.TOKEN,
                 "vercel_team_id": vercel_lab_helpers.TEAM_ID, "vercel_api_url": API,
                 "vercel_poll_interval": 0.2, "app_state_dir": str(tmp_path / "state")},
        "children": {"vercel_apps": {"vars": {"app_platform": "vercel"}, "hosts": {name: None for name in FLEET}}},
    }}), encoding="utf-8")
    return inventory


def maintenance(inventory: Path, *options: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
               str(REPO / "playbooks" / "maintenance.yml"), "-e", json.dumps(extra), *options]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def state(name: str) -> dict[str, t.Any]:
    answer = requests.get(f"{API}/__lab/projects/{name}", timeout=10)
    answer.raise_for_status()
    return answer.json()


def builds(project: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """Deployments built since the project was made (the seeded history excluded), oldest first."""
    return sorted((d for d in project["deployments"] if not d.get("seeded")), key=lambda d: d["createdAt"])


def last_seq() -> int:
    return int(requests.get(f"{API}/__lab/health", timeout=5).json()["last_request_seq"])


def writes_since(seq: int) -> list[str]:
    records = requests.get(f"{API}/__lab/requests", params={"since": seq}, timeout=10).json()
    return [f"{r['method']} {r['path']}" for r in records if r["method"] != "GET"]


def test_fleet_on_noop_off_puts_values_back_with_one_redeploy_each(fleet: Path):
    before = {name: state(name)["env"] for name in FLEET}
    seq = last_seq()
    checked = maintenance(fleet, "--check", state="on", message="Back at 10:00 UTC")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]
    assert "maintenance on: 11 of 11 projects changed, 0 redeployed" in " ".join(checked.stdout.split())
    assert writes_since(seq) == [] and all(builds(state(name)) == [] for name in FLEET)

    on = maintenance(fleet, state="on", message="Back at 10:00 UTC")
    assert on.returncode == 0, on.stdout[-3000:] + on.stderr[-2000:]
    # The fleet path: one task for the play, its summary naming every project.
    assert "maintenance on: 11 of 11 projects changed, 11 redeployed" in " ".join(on.stdout.split()), on.stdout[-3000:]
    outcomes = published(on.stdout)
    assert sorted(outcomes) == FLEET and all(o["changed"] for o in outcomes.values())
    for name in FLEET:
        project = state(name)
        assert project["env"]["MAINTENANCE_MODE@production"] == "true"
        assert project["env"]["MAINTENANCE_MESSAGE@production"] == "Back at 10:00 UTC"
        made = builds(project)
        # One redeploy, READY, serving production, built with the new values.
        assert len(made) == 1 and made[0]["readyState"] == "READY", made
        assert project["productionDeploymentId"] == made[0]["id"]
        assert made[0]["env"]["MAINTENANCE_MODE"] == "true"

    seq = last_seq()
    again = maintenance(fleet, state="on", message="Back at 10:00 UTC")
    assert again.returncode == 0, again.stdout[-3000:]
    assert writes_since(seq) == []
    assert not any(o["changed"] for o in published(again.stdout).values())
    assert all(len(builds(state(name))) == 1 for name in FLEET)

    off = maintenance(fleet, state="off")
    assert off.returncode == 0, off.stdout[-3000:] + off.stderr[-2000:]
    for name in FLEET:
        project = state(name)
        assert project["env"] == before[name], name
        made = builds(project)
        assert len(made) == 2 and project["productionDeploymentId"] == made[1]["id"]
        assert "MAINTENANCE_MODE" not in made[1]["env"]
    assert state("fleet-v-03")["env"]["MAINTENANCE_MESSAGE@production"] == OWN_MESSAGE["fleet-v-03"]


def test_failed_builds_keep_what_on_replaced_so_off_puts_it_back(fleet: Path):
    before = {name: state(name)["env"] for name in FLEET}
    production = {name: state(name)["productionDeploymentId"] for name in FLEET}
    requests.post(f"{API}/__lab/knobs", json={"next_builds": ["fail"] * len(FLEET)}, timeout=5).raise_for_status()
    on = maintenance(fleet, state="on", message="Back at 10:00 UTC")
    assert on.returncode != 0
    assert f"{len(FLEET)} of {len(FLEET)} Vercel projects failed" in on.stdout, on.stdout[-3000:]
    for name in FLEET:
        project = state(name)
        # The values were written, the build failed, production stayed where it was.
        assert project["env"]["MAINTENANCE_MODE@production"] == "true"
        assert [d["readyState"] for d in builds(project)] == ["ERROR"]
        assert project["productionDeploymentId"] == production[name]

    off = maintenance(fleet, state="off")
    assert off.returncode == 0, off.stdout[-3000:] + off.stderr[-2000:]
    assert {name: state(name)["env"] for name in FLEET} == before
