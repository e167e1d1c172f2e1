# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance playbook's fleet path: many Heroku apps switched by one task, against the emulator."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import (
    API, REPO, Emulator, lab_token, run_playbook)
from ansible_collections.appops.runbooks.tests.integration.results import JSON_CALLBACK, json_report, published

pytestmark = pytest.mark.integration

FLEET = [f"fleet-test-{index:02d}" for index in range(12)]


@pytest.fixture
def fleet(emulator: Emulator, tmp_path: Path) -> Path:
    """Twelve emulated apps (above the fleet threshold of 10) and an inventory of them."""
    for name in FLEET:
        requests.delete(f"{API}/__lab/apps/{name}", timeout=10)
        requests.post(f"{API}/__lab/apps", json={"name": name, "releases": 1}, timeout=10).raise_for_status()
    inventory = tmp_path / "fleet.json"
    inventory.write_text(json.dumps({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": str(REPO / ".venv" / "bin" / "python"),
                 "app_environment": "lab", "heroku_api_key": lab_token(), "heroku_api_url": API,
                 "heroku_data_api_url": API},
        "children": {"heroku_apps": {"vars": {"app_platform": "heroku"}, "hosts": {name: None for name in FLEET}}},
    }}), encoding="utf-8")
    yield inventory
    for name in FLEET:
        requests.delete(f"{API}/__lab/apps/{name}", timeout=10)


def maintenance(emulator: Emulator) -> dict[str, bool]:
    return {name: emulator.state(name)["maintenance"] for name in FLEET}


def fleet_writes(emulator: Emulator, seq: int) -> list[str]:
    return [write for write in emulator.writes_since(seq) if "/fleet-test-" in write]


def test_fleet_on_off_in_one_task_each_and_idempotent(emulator: Emulator, fleet: Path):
    seq = emulator.last_seq()
    on = run_playbook("maintenance.yml", "all", {"state": "on"}, inventory=fleet)
    assert on.rc == 0, on.output[-3000:]
    assert "maintenance on: 12 of 12 apps changed" in on.output
    # One fleet task ran once for the play: the recap shows the first host only (the custom stats
    # after it name every app).
    assert "fleet-test-01 " not in on.raw.split("PLAY RECAP", 1)[1].split("CUSTOM STATS", 1)[0]
    assert all(maintenance(emulator).values())
    assert len(fleet_writes(emulator, seq)) == len(FLEET)

    seq = emulator.last_seq()
    again = run_playbook("maintenance.yml", "all", {"state": "on"}, inventory=fleet)
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    assert fleet_writes(emulator, seq) == []

    off = run_playbook("maintenance.yml", "all", {"state": "off"}, inventory=fleet)
    assert off.rc == 0 and "maintenance off: 12 of 12 apps changed" in off.output
    assert not any(maintenance(emulator).values())


def test_a_later_import_one_app_at_a_time_does_not_rerun_the_fleet(emulator: Emulator, fleet: Path,
                                                                   tmp_path: Path):
    """The fleet play's group outlives its play: a second import that decides against the fleet
    switches the apps one at a time, and the first import's fleet run is not repeated."""
    wrapper = tmp_path / "twice.yml"
    wrapper.write_text(json.dumps([
        {"import_playbook": str(REPO / "playbooks" / "maintenance.yml"), "vars": {"state": "on"}},
        {"import_playbook": str(REPO / "playbooks" / "maintenance.yml"), "vars": {"state": "off", "fleet_min_apps": 100}},
    ]), encoding="utf-8")
    seq = emulator.last_seq()
    run = run_playbook(str(wrapper), "all", inventory=fleet)
    assert run.rc == 0, run.output[-3000:]
    assert run.output.count("apps changed") == 1 and "maintenance on: 12 of 12 apps changed" in run.output
    assert not any(maintenance(emulator).values())
    # On for the fleet, then off app by app: every app written twice, nothing more.
    assert sorted(fleet_writes(emulator, seq)) == sorted(2 * [f"PATCH /apps/{name}" for name in FLEET])


def test_fleet_publishes_one_outcome_per_app_from_one_task(emulator: Emulator, fleet: Path):
    requests.patch(f"{API}/apps/{FLEET[0]}", json={"maintenance": True}, timeout=10,
                   headers={"Authorization": f"Bearer {lab_token()}",
                            "Accept": "application/vnd.heroku+json; version=3"}).raise_for_status()
    on = run_playbook("maintenance.yml", "all", {"state": "on"}, inventory=fleet, env=JSON_CALLBACK)
    assert on.rc == 0, on.raw[-3000:]
    outcomes = published(on.raw)
    assert sorted(outcomes) == FLEET
    # The app already on is the one that did not change.
    assert [name for name in FLEET if outcomes[name]["changed"]] == FLEET[1:]
    assert all(outcome["procedure"] == "maintenance" and outcome["details"] == {"state": "on"}
               and outcome["failed"] is False for outcome in outcomes.values())
    publish_tasks = [task for play in json_report(on.raw)["plays"]
                     for task in play["tasks"] if task["task"]["name"].endswith("Publish the outcome of every app of the fleet")]
    assert len(publish_tasks) == 1 and len(publish_tasks[0]["hosts"]) == 1


def test_fleet_bad_state_fails_before_any_request(emulator: Emulator, fleet: Path):
    seq = emulator.last_seq()
    run = run_playbook("maintenance.yml", "all", {"state": "maybe"}, inventory=fleet, env=JSON_CALLBACK)
    assert run.rc != 0 and "maintenance needs state=on or state=off, got 'maybe'; nothing was done." in run.output
    # No fleet run for a state it cannot set: every app of the play is refused by the one-app
    # path's validation, and has its outcome, failed, with the reason.
    assert not [task for play in json_report(run.raw)["plays"] for task in play["tasks"]
                if task["task"]["name"].startswith("Switch maintenance of the fleet")]
    outcomes = published(run.raw)
    assert sorted(outcomes) == FLEET and all(outcome["failed"] and not outcome["changed"] for outcome in outcomes.values())
    assert {name: outcome["message"] for name, outcome in outcomes.items()} == {
        name: f"{name}: maintenance needs state=on or state=off, got 'maybe'; nothing was done." for name in FLEET}
    assert [r for r in emulator.requests_since(seq) if "/fleet-test-" in r["path"]] == []
    assert not any(maintenance(emulator).values())


def test_a_fleet_with_an_app_that_fails_publishes_which_one(emulator: Emulator, fleet: Path):
    """One app of the fleet is gone from the account: the others are switched, the run fails, and its
    outcomes say which app failed and why, not that every app did."""
    gone = FLEET[3]
    requests.delete(f"{API}/__lab/apps/{gone}", timeout=10).raise_for_status()
    run = run_playbook("maintenance.yml", "all", {"state": "on"}, inventory=fleet, env=JSON_CALLBACK)
    assert run.rc != 0 and f"1 of 12 Heroku apps failed ({gone})" in run.output
    outcomes = published(run.raw)
    assert sorted(outcomes) == FLEET
    assert [name for name, outcome in outcomes.items() if outcome["failed"]] == [gone]
    assert "HTTP 404" in outcomes[gone]["message"] and not outcomes[gone]["changed"]
    assert all(outcomes[name]["changed"] and outcomes[name]["message"] == "" for name in FLEET if name != gone)
    assert all(emulator.state(name)["maintenance"] for name in FLEET if name != gone)
