# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the maintenance procedure publishes (the global stat appops) for a Heroku app, read as CI
reads it with the ansible.posix.json stdout callback, against the emulator."""
from __future__ import annotations

import pytest

from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import Emulator, run_playbook
from ansible_collections.appops.runbooks.tests.integration.results import JSON_CALLBACK, published

pytestmark = pytest.mark.integration

APP = "micmap-api"


def test_maintenance_of_a_heroku_app_publishes_the_change_and_check_mode_what_it_would_do(emulator: Emulator):
    checked = run_playbook("maintenance.yml", APP, {"state": "on"}, env=JSON_CALLBACK, check=True)
    assert checked.rc == 0, checked.raw[-3000:]
    assert published(checked.raw)[APP]["changed"] is True
    assert emulator.state(APP)["maintenance"] is False

    on = run_playbook("maintenance.yml", APP, {"state": "on"}, env=JSON_CALLBACK)
    assert on.rc == 0, on.raw[-3000:]
    outcome = published(on.raw)[APP]
    assert (outcome["procedure"], outcome["changed"], outcome["failed"]) == ("maintenance", True, False)
    assert outcome["details"] == {"state": "on", "before": False}
    assert emulator.state(APP)["maintenance"] is True

    again = run_playbook("maintenance.yml", APP, {"state": "on"}, env=JSON_CALLBACK)
    assert again.rc == 0 and published(again.raw)[APP]["changed"] is False

    off = run_playbook("maintenance.yml", APP, {"state": "off"}, env=JSON_CALLBACK)
    assert off.rc == 0 and published(off.raw)[APP]["changed"] is True
    assert emulator.state(APP)["maintenance"] is False


def test_a_failed_maintenance_run_publishes_the_failure(emulator: Emulator):
    bad = run_playbook("maintenance.yml", APP, {"state": "maybe"}, env=JSON_CALLBACK)
    assert bad.rc != 0
    outcome = published(bad.raw)[APP]
    assert outcome["failed"] is True and "maintenance needs state=on or state=off" in outcome["message"]
    assert outcome["failed_step"].startswith("Check the app and the inputs")
