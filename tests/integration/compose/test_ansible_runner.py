# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks run through ansible-runner, the way AWX/Tower runs a job template: project dir,
inventory, limit, extra vars and job type (run or check) given to the runner, results read from
its events and stats."""
from __future__ import annotations

import json
import os
import sys
import typing as t
from pathlib import Path

import ansible_runner
import pytest

from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    APP, BACKUPS as ROOT_BACKUPS, MAINTENANCE, ROOT, canary_present, http_get, plant_canary)

pytestmark = pytest.mark.integration


def run_job(tmp_path, playbook: str, extravars: dict[str, t.Any], check: bool = False) -> ansible_runner.Runner:
    """One job: AWX passes the limit and, for a job template of type Check, --check."""
    private_data_dir = tmp_path / playbook.replace("/", "_")
    private_data_dir.mkdir(parents=True)
    return ansible_runner.run(
        private_data_dir=str(private_data_dir),
        project_dir=str(ROOT),
        playbook=playbook,
        inventory=str(ROOT / "inventories" / "lab" / "hosts.yml"),
        limit=APP,
        extravars=extravars,
        cmdline="--check" if check else None,
        # The venv's ansible-playbook first, as an execution environment would have it.
        envvars={"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
                 "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
                 "ANSIBLE_NOCOLOR": "1"},
        quiet=True,
    )


def debug_messages(runner: ansible_runner.Runner) -> list[str]:
    return [" ".join(str(event["event_data"]["res"].get("msg", "")).split()) for event in runner.events
            if event.get("event") == "runner_on_ok" and event["event_data"].get("task_action") == "ansible.builtin.debug"]


def test_maintenance_as_a_job_template(tmp_path, maintenance_off):
    switched_on = run_job(tmp_path, "playbooks/maintenance.yml", {"state": "on"})
    assert switched_on.status == "successful" and switched_on.rc == 0
    assert switched_on.stats["changed"].get(APP, 0) > 0
    assert MAINTENANCE.exists() and http_get("/")[0] == 503

    again = run_job(tmp_path / "again", "playbooks/maintenance.yml", {"state": "on"})
    assert again.status == "successful" and again.stats["changed"].get(APP, 0) == 0

    switched_off = run_job(tmp_path / "off", "playbooks/maintenance.yml", {"state": "off"})
    assert switched_off.status == "successful"
    assert not MAINTENANCE.exists() and http_get("/")[0] == 200


@pytest.fixture(scope="module")
def backup_job(lab_up, tmp_path_factory) -> ansible_runner.Runner:
    """A backup run as a job, shared by the module's tests: its artifacts and the backup it made."""
    job = run_job(tmp_path_factory.mktemp("backup-job"), "playbooks/backup.yml", {})
    assert job.status == "successful", job.stdout.read()[-3000:]
    return job


def test_restore_as_a_check_job_reports_the_plan_and_a_run_job_needs_confirm(tmp_path, backup_job):
    backup_id = job_artifacts(backup_job)["appops"][APP]["backup_id"]
    marker = plant_canary()  # not in the backup: a restore would remove it

    checked = run_job(tmp_path, "playbooks/restore.yml", {"backup_id": backup_id}, check=True)
    assert checked.status == "successful", checked.stdout.read()[-3000:]
    assert any(message.startswith(f"WOULD RESTORE {APP} from backup {backup_id}") for message in debug_messages(checked))
    assert checked.stats["changed"].get(APP, 0) > 0

    refused = run_job(tmp_path / "prod", "playbooks/restore.yml",
                      {"backup_id": backup_id, "app_environment": "production"})
    assert refused.status == "failed" and refused.rc != 0
    assert "needs confirm=coffee-tracker" in " ".join(refused.stdout.read().split())
    assert canary_present(marker) == (True, True) and not MAINTENANCE.exists()


def job_artifacts(runner: ansible_runner.Runner) -> dict[str, t.Any]:
    """The job's artifacts as AWX stores them: the global set_stats of the run, carried by the
    playbook_on_stats event (artifact_data) that ansible-runner writes to artifacts/<ident>/job_events."""
    events_dir = Path(runner.config.artifact_dir) / "job_events"
    stats_events = [json.loads(path.read_text(encoding="utf-8")) for path in events_dir.glob("*.json")]
    stats_events = [event for event in stats_events if event.get("event") == "playbook_on_stats"]
    assert len(stats_events) == 1, f"{len(stats_events)} playbook_on_stats events in {events_dir}"
    return stats_events[0]["event_data"]["artifact_data"]


def test_backup_and_restore_jobs_carry_their_outcome_as_artifacts(tmp_path, backup_job, maintenance_off):
    taken = job_artifacts(backup_job)["appops"][APP]
    assert (taken["app"], taken["procedure"], taken["changed"], taken["failed"]) == (APP, "backup", True, False)
    assert (ROOT_BACKUPS / taken["backup_id"] / "manifest.json").exists() and taken["stores"]

    marker = plant_canary()  # not in the backup: the restore has work to do
    restore = run_job(tmp_path / "restore", "playbooks/restore.yml", {"backup_id": taken["backup_id"]})
    assert restore.status == "successful", restore.stdout.read()[-3000:]
    restored = job_artifacts(restore)["appops"][APP]
    assert (restored["procedure"], restored["backup_id"], restored["failed"], restored["health"]) == (
        "restore", taken["backup_id"], False, "healthy")
    assert sorted(restored["stores"]) == sorted(taken["stores"]) and restored["safety_backup"]
    assert restored["rto_seconds"] > 0 and restored["rpo_seconds"] >= 0
    assert canary_present(marker) == (False, False)
