# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the coffee-tracker procedures publish (the global stat appops), read as CI reads it with
the ansible.posix.json stdout callback, after real runs against the lab."""
from __future__ import annotations

import shutil

import pytest

from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    APP, BACKUPS, MAINTENANCE, Run, canary_present, manifest, plant_canary, run_playbook)
from ansible_collections.appops.runbooks.tests.integration.results import published

pytestmark = pytest.mark.integration


def run_json(name: str, *args: str) -> Run:
    return run_playbook(name, *args, stdout_callback="ansible.posix.json")


@pytest.fixture(scope="module")
def backup_run(lab_up) -> tuple[Run, str]:
    """A backup whose outcome the tests read; a canary planted before it is in the backup."""
    plant_canary()
    run = run_json("backup")
    assert run.rc == 0, run.output[-4000:]
    return run, published(run.output)[APP]["backup_id"]


def test_a_backup_publishes_its_id_and_stores(backup_run):
    run, backup_id = backup_run
    outcome = published(run.output)[APP]
    described = manifest(backup_id)  # the backup the outcome names is there, complete
    assert outcome["procedure"] == "backup" and outcome["changed"] is True and outcome["failed"] is False
    assert outcome["stores"] == [store["name"] for store in described["stores"]] and outcome["stores"]
    assert described["kind"] == "manual"


def test_a_restore_publishes_backup_stores_safety_backup_rto_rpo_and_health(backup_run, maintenance_off):
    backup_id = backup_run[1]
    marker = plant_canary()  # not in the backup: the restore has work to do and removes it

    checked = run_json("restore", "-e", f"backup_id={backup_id}", "--check")
    assert checked.rc == 0, checked.output[-4000:]
    would = published(checked.output)[APP]
    assert would["changed"] is True and would["stores"] and would["safety_backup"] == ""
    assert canary_present(marker) == (True, True)

    run = run_json("restore", "-e", f"backup_id={backup_id}")
    assert run.rc == 0, run.output[-4000:]
    outcome = published(run.output)[APP]
    assert (outcome["procedure"], outcome["backup_id"], outcome["changed"], outcome["failed"]) == (
        "restore", backup_id, True, False)
    assert sorted(outcome["stores"]) == sorted(would["stores"])
    assert manifest(outcome["safety_backup"])["kind"] == "safety"
    assert outcome["health"] == "healthy"
    assert outcome["rto_seconds"] > 0 and isinstance(outcome["rpo_seconds"], int) and outcome["rpo_seconds"] >= 0
    assert canary_present(marker) == (False, False) and not MAINTENANCE.exists()


def test_a_failed_restore_publishes_the_failure_and_still_fails(backup_run, tmp_path):
    """A backup damaged on disk: the restore refuses it, says so in its outcome, and fails."""
    # A copy of the module's backup under an id of its own, damaged: the module's stays whole.
    damaged_id = "20000104T000000Z"
    backup_dir = BACKUPS / damaged_id
    shutil.copytree(BACKUPS / backup_run[1], backup_dir)
    dump = next(path for path in backup_dir.iterdir() if path.name != "manifest.json" and path.is_file())
    try:
        with dump.open("ab") as handle:
            handle.write(b"damage")
        marker = plant_canary()
        failed = run_json("restore", "-e", f"backup_id={damaged_id}")
        assert failed.rc != 0
        outcome = published(failed.output)[APP]
        assert outcome["failed"] is True and outcome["changed"] is False and outcome["procedure"] == "restore"
        assert outcome["failed_step"].startswith("Resolve the backup and verify its checksums")
        assert "refusing to use it" in outcome["message"]
        assert canary_present(marker) == (True, True) and not MAINTENANCE.exists()
    finally:
        shutil.rmtree(backup_dir, ignore_errors=True)


def test_health_publishes_the_status():
    run = run_json("health")
    assert run.rc == 0, run.output[-4000:]
    outcome = published(run.output)[APP]
    assert (outcome["procedure"], outcome["health"], outcome["changed"], outcome["failed"]) == (
        "health", "healthy", False, False)
    assert outcome["details"]["http_status"] == 200
