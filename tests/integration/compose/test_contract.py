# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract's skeletons and primitives against the coffee-tracker lab: the restore skeleton's
outcome, its second verification under the lock, and the compose platform's config_var."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    APP, BACKUPS, MAINTENANCE, ROOT, STATE, canary_present, env_value, plant_canary)

pytestmark = pytest.mark.integration


def ansible_playbook(playbook: Path | str, *args: str, callback: str = "default") -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_STDOUT_CALLBACK=callback)
    return subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(playbook), "-l", APP, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


def facts_set(report: dict[str, Any], fact: str) -> list[Any]:
    """Every value the json callback shows a task setting for fact, in order."""
    return [result["ansible_facts"][fact]
            for play in report["plays"] for task in play["tasks"]
            for result in task["hosts"].values() if fact in result.get("ansible_facts", {})]


def write_playbook(path: Path, tasks: list[dict[str, Any]], play_vars: dict[str, Any] | None = None) -> Path:
    path.write_text(json.dumps([{"name": "Contract test", "hosts": "all", "gather_facts": False,
                                 "vars": play_vars or {}, "tasks": tasks}]), encoding="utf-8")
    return path


def test_the_restore_skeleton_leaves_its_outcome(module_backup, maintenance_off):
    marker = plant_canary()
    run = ansible_playbook("playbooks/restore.yml", "-e", f"backup_id={module_backup}", callback="json")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    outcome = facts_set(json.loads(run.stdout), "appops_outcome")[-1]
    safety = outcome.pop("safety_backup")
    rto, rpo = outcome.pop("rto_seconds"), outcome.pop("rpo_seconds")
    assert rto > 0 and isinstance(rpo, int) and rpo >= 0
    # coffee-tracker's inventory sets no recovery targets.
    assert (outcome.pop("rto_met"), outcome.pop("rpo_met")) == (None, None)
    assert outcome == {"app": APP, "procedure": "restore", "changed": True, "backup_id": module_backup,
                       "stores": ["main", "secondary"], "health": outcome["health"], "release": {}, "failed": False,
                       "failed_step": "", "message": ""}
    assert outcome["health"] in ("healthy", "degraded")
    manifest = json.loads((BACKUPS / safety / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "safety" and canary_present(marker) == (False, False)

    again = ansible_playbook("playbooks/restore.yml", "-e", f"backup_id={module_backup}", callback="json")
    assert again.returncode == 0, again.stdout[-4000:]
    outcome = facts_set(json.loads(again.stdout), "appops_outcome")[-1]
    assert outcome["changed"] is False and outcome["stores"] == [] and outcome["safety_backup"] == ""


def test_the_backup_is_verified_again_under_the_lock(module_backup, tmp_path, maintenance_off):
    # The dump damaged after a check made before the lock (by another run, or an operator): the
    # verification under the lock must stop the restore before maintenance, safety backup or pg_restore.
    dump = BACKUPS / module_backup / "main.dump"
    original = dump.read_bytes()
    playbook = write_playbook(tmp_path / "damaged.yml", [
        {"name": "Resolve and verify", "ansible.builtin.include_role": {
            "name": "appops.runbooks.common", "tasks_from": "resolve_backup"}},
        {"name": "Damage the dump after the first check", "ansible.builtin.command": {
            "argv": ["dd", "of=" + str(dump), "bs=1", "seek=64", "count=8", "conv=notrunc", "if=/dev/urandom"]}},
        {"name": "Restore under the lock", "ansible.builtin.include_role": {
            "name": "appops.runbooks.common", "tasks_from": "locked"},
         "vars": {"common_locked_role": "appops.runbooks.common", "common_locked_tasks": "_restore_body"}},
    ], {"appops_procedure": "restore", "appops_backup_id": module_backup})
    marker = plant_canary()
    try:
        run = ansible_playbook(playbook)
    finally:
        dump.write_bytes(original)
    assert run.returncode != 0
    text = " ".join(run.stdout.split())
    assert "Resolve and verify the backup under the lock" in text and "main.dump sha256" in text
    assert "Switch maintenance on" not in text and "RESTORED" not in text
    assert canary_present(marker) == (True, True)
    assert not MAINTENANCE.exists() and not (STATE / "lock.json").exists()


def test_compose_config_var_reads_the_env_without_showing_it(lab_up, tmp_path):
    playbook = write_playbook(tmp_path / "config_var.yml", [
        {"name": "Read", "ansible.builtin.include_role": {"name": "appops.runbooks.compose", "tasks_from": "config_var"},
         "vars": {"appops_config_var_name": "{{ wanted }}"}},
        {"name": "Digest", "ansible.builtin.debug": {"msg": "DIGEST {{ appops_config_var.value | hash('sha256') }}"}},
    ])
    run = ansible_playbook(playbook, "-e", "wanted=POSTGRES_PASSWORD")
    assert run.returncode == 0, run.stdout[-3000:]
    password = env_value("POSTGRES_PASSWORD")
    assert f"DIGEST {hashlib.sha256(password.encode()).hexdigest()}" in run.stdout
    assert password not in run.stdout + run.stderr

    missing = ansible_playbook(playbook, "-e", "wanted=NO_SUCH_KEY")
    assert missing.returncode != 0 and "sets no NO_SUCH_KEY" in missing.stdout
