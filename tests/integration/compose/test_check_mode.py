# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""--check runs of the data procedures against the running lab: every check runs for real, and
nothing is written (no backup, no lock, no maintenance, no data change)."""
from __future__ import annotations

import json
import re
import time

import pytest

from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    APP, BACKUPS, MAINTENANCE, PROJECT, STATE, canary_present, http_get, plant_canary, run_playbook)

pytestmark = pytest.mark.integration

LOCK = STATE / "lock.json"


def catalog() -> list[str]:
    return sorted(path.name for path in BACKUPS.iterdir())


def complete_full_backups() -> list[str]:
    """Complete backups that are not a restore's safety backup."""
    return [name for name in catalog() if re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?", name)
            and (BACKUPS / name / "manifest.json").is_file() and not (BACKUPS / name / ".incomplete").exists()
            and json.loads((BACKUPS / name / "manifest.json").read_text(encoding="utf-8"))["kind"] != "safety"]


def test_backup_check_mode_names_the_backup_and_its_retention_and_writes_nothing(module_backup):
    before = catalog()
    # Only keep_last (no age limit) for full backups, safety backups' retention off (0, here given as
    # the string "0" of -e key=value, turns a rule off).
    run = run_playbook("backup", "--check", "-e", "common_backup_keep_last=1", "-e", "common_backup_max_age_days=0",
                       "-e", "common_backup_safety_keep_last=0", "-e", "common_backup_safety_max_age_days=0")
    assert run.rc == 0, run.output[-4000:]
    found = re.search(r"check mode, nothing written: a manual backup (\S+) would go to \S+ \(main, secondary\);"
                      r" retention \(keep last 1, max \S+ days\) would delete (\d+) \(([^)]*)\)", run.text)
    assert found, run.text[-3000:]
    would_delete = found.group(3).split(", ")
    # keep_last=1 keeps only the backup the run would take: every complete full backup would go.
    assert sorted(would_delete) == complete_full_backups() and int(found.group(2)) == len(would_delete)
    assert module_backup in would_delete and found.group(1) not in before
    assert run.changed > 0
    assert catalog() == before and not LOCK.exists()


def test_restore_check_mode_reports_the_plan_and_changes_nothing(module_backup, maintenance_off):
    backup_id = module_backup
    marker = plant_canary()  # not in the backup: a real restore would remove it
    before = catalog()
    run = run_playbook("restore", "--check", "-e", f"backup_id={backup_id}")
    assert run.rc == 0, run.output[-4000:]
    assert f"WOULD RESTORE {APP} from backup {backup_id} stores=main,secondary (check mode, nothing changed)" in run.text
    assert "RESTORED" not in run.text and run.changed > 0
    assert canary_present(marker) == (True, True)
    assert catalog() == before and not LOCK.exists() and not MAINTENANCE.exists()
    assert http_get("/health")[0] == 200

    # Once the stores hold the backup, a check run says so and reports no change.
    restored = run_playbook("restore", "-e", f"backup_id={backup_id}")
    assert restored.rc == 0, restored.output[-4000:]
    again = run_playbook("restore", "--check", "-e", f"backup_id={backup_id}")
    assert again.rc == 0, again.output[-4000:]
    assert f"already holds backup {backup_id} in every store; nothing restored" in again.text
    assert again.changed == 0


def test_restore_check_mode_keeps_the_guards(module_backup):
    marker = plant_canary()
    refused = run_playbook("restore", "--check", "-e", "app_environment=production")
    assert refused.rc != 0 and "needs confirm=coffee-tracker" in refused.text

    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    LOCK.write_text(json.dumps({"app": APP, "holder": "alice@ops-box", "procedure": "restore", "since": since,
                                "token": "someone-else"}), encoding="utf-8")
    try:
        locked = run_playbook("restore", "--check", "-e", f"backup_id={module_backup}")
        assert locked.rc != 0 and "locked by alice@ops-box" in locked.text
        assert json.loads(LOCK.read_text(encoding="utf-8"))["token"] == "someone-else"
    finally:
        LOCK.unlink()
    assert canary_present(marker) == (True, True)


def test_deploy_and_scale_check_mode_refuse_bad_input_and_change_nothing(lab_up):
    history = (STATE / "deployments.json").read_text(encoding="utf-8")
    current = json.loads(history)["current"]["ref"]
    env = (PROJECT / ".env").read_text(encoding="utf-8")
    other = "v1.1.0" if current == "v1.0.0" else "v1.0.0"

    deploy = run_playbook("deploy", "--check", "-e", f"ref={other}")
    assert deploy.rc == 0, deploy.output[-4000:]
    assert deploy.changed > 0
    unknown = run_playbook("deploy", "--check", "-e", "ref=v9.9.9")
    assert unknown.rc != 0 and "ref 'v9.9.9' is not a tag or branch" in unknown.text

    scale = run_playbook("scale", "--check", "-e", "service=coffee-tracker", "-e", "replicas=2")
    assert scale.rc == 0, scale.output[-4000:]
    assert scale.changed > 0
    not_a_service = run_playbook("scale", "--check", "-e", "service=nosuch", "-e", "replicas=2")
    assert not_a_service.rc != 0 and "'nosuch' is not a service of" in not_a_service.text

    assert (STATE / "deployments.json").read_text(encoding="utf-8") == history
    assert (PROJECT / ".env").read_text(encoding="utf-8") == env
    assert http_get("/health")[1]["version"] == current and not LOCK.exists()
