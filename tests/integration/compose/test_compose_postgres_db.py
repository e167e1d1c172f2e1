# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""compose_postgres_db against the lab's PostgreSQL service: dump, plan (check mode), restore, re-run."""
from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import uuid

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.modules import compose_postgres_db
from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    BACKUPS, PROJECT, ROOT, pg_connect, pg_count, pg_execute)
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module

pytestmark = pytest.mark.integration

DATABASE = {"project_dir": str(PROJECT), "service": "postgres", "database": "coffee_db", "user": "coffee", "port": 15432}


def heart_rates_columns() -> set[str]:
    with pg_connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'heart_rates'")
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def dump(lab_up):
    """A fresh dump of the lab database in a directory of its own under the mounted backups."""
    name = f"module-test-{uuid.uuid4().hex[:8]}"
    (BACKUPS / name).mkdir(mode=0o777)
    (BACKUPS / name).chmod(0o777)
    yield name
    shutil.rmtree(BACKUPS / name, ignore_errors=True)


def test_dump_then_restore_is_planned_done_and_idempotent(dump, tmp_path):
    path = f"/backups/{dump}/main.dump"
    dumped = run_module(compose_postgres_db, {**DATABASE, "state": "dumped", "path": path})
    assert dumped["changed"] is True
    assert dumped["verification"] == {"pg_restore_list": "ok", "rows_read_back": True, "rows_counted_live": False}
    assert dumped["row_counts"]["public.heart_rates"] == pg_count("heart_rates")
    assert dumped["server_version"].startswith("15.") and dumped["tool_versions"]["pg_restore"].startswith("pg_restore")
    assert (BACKUPS / dump / "main.dump").stat().st_size > 0

    marker = tmp_path / "restore-main.json"
    restore = {**DATABASE, "state": "restored", "path": path, "backup_id": dump, "sha256": "a" * 64,
               "marker": str(marker), "expected_row_counts": dumped["row_counts"],
               "pgoptions": "-c wal_compression=off"}
    # Check mode is the plan: no marker yet, so a restore is needed, and nothing is written.
    planned = run_module(compose_postgres_db, restore, check_mode=True)
    assert planned["changed"] is True and planned["plan"]["reason"] == "no record of a previous restore"
    assert not marker.exists()

    pg_execute("INSERT INTO heart_rates (bpm) VALUES (61)")
    restored = run_module(compose_postgres_db, restore)
    assert restored["changed"] is True, restored
    assert pg_count("heart_rates") == dumped["row_counts"]["public.heart_rates"]
    written = json.loads(marker.read_text(encoding="utf-8"))
    assert written["backup_id"] == dump and written["tables"]["public.heart_rates"]["rows"] == pg_count("heart_rates")

    again = run_module(compose_postgres_db, restore)
    assert again["changed"] is False and "still holds" in again["plan"]["reason"]

    # A row written after the restore is seen by transaction id, even with the same count elsewhere.
    pg_execute("INSERT INTO heart_rates (bpm) VALUES (62)")
    replan = run_module(compose_postgres_db, restore, check_mode=True)
    assert replan["changed"] is True and "heart_rates" in replan["plan"]["reason"]
    run_module(compose_postgres_db, restore)
    assert pg_count("heart_rates") == dumped["row_counts"]["public.heart_rates"]
    assert run_module(compose_postgres_db, restore)["changed"] is False

    # A dropped column loses data while every table keeps its oid and its row count.
    pg_execute("ALTER TABLE heart_rates DROP COLUMN bpm")
    schema_plan = run_module(compose_postgres_db, restore, check_mode=True)
    assert schema_plan["changed"] is True and "schema changed" in schema_plan["plan"]["reason"]
    assert run_module(compose_postgres_db, restore)["changed"] is True
    assert heart_rates_columns() >= {"bpm"}
    assert run_module(compose_postgres_db, restore)["changed"] is False

    # So does a dropped default.
    pg_execute("ALTER TABLE coffee_logs ALTER COLUMN consumed_at DROP DEFAULT")
    assert "schema changed" in run_module(compose_postgres_db, restore, check_mode=True)["plan"]["reason"]
    assert run_module(compose_postgres_db, restore)["changed"] is True
    assert run_module(compose_postgres_db, restore)["changed"] is False


def test_row_counts_that_differ_fail_and_leave_no_marker(dump, tmp_path):
    path = f"/backups/{dump}/main.dump"
    dumped = run_module(compose_postgres_db, {**DATABASE, "state": "dumped", "path": path})
    marker = tmp_path / "restore-main.json"
    wrong = dict(dumped["row_counts"], **{"public.heart_rates": dumped["row_counts"]["public.heart_rates"] + 5})
    failed = run_module(compose_postgres_db, {
        **DATABASE, "state": "restored", "path": path, "backup_id": dump, "sha256": "b" * 64,
        "marker": str(marker), "expected_row_counts": wrong, "force": True})
    assert failed["failed"] is True and "public.heart_rates" in failed["msg"] and "expected" in failed["msg"]
    assert not marker.exists()


def test_a_service_that_is_not_running_fails_clearly(tmp_path):
    result = run_module(compose_postgres_db, {**DATABASE, "project_dir": str(tmp_path), "state": "dumped",
                                              "path": "/backups/x/main.dump"})
    assert result["failed"] is True and "is not running" in result["msg"]


def test_module_defaults_of_the_compose_action_group_reach_the_module(dump, tmp_path):
    # The connection options come only from module_defaults for group/appops.runbooks.compose.
    playbook = tmp_path / "dump.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "module_defaults": {"group/appops.runbooks.compose": DATABASE},
        "tasks": [{"name": "Dump", "appops.runbooks.compose_postgres_db": {
            "state": "dumped", "path": f"/backups/{dump}/main.dump"}, "register": "dumped"},
            {"name": "Show", "ansible.builtin.debug": {"msg": "HEART_RATES={{ dumped.row_counts['public.heart_rates'] }}"}}],
    }]), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_NOCOLOR="1")
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", str(playbook)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"HEART_RATES={pg_count('heart_rates')}" in done.stdout
    assert (BACKUPS / dump / "main.dump").stat().st_size > 0


def test_a_dump_marks_the_run_s_lock_alive_and_leaves_another_run_s_alone(dump, tmp_path):
    lock = tmp_path / "lock.json"
    three_hours_ago = _lock.utc_now() - datetime.timedelta(hours=3)
    _lock.acquire(str(lock), "coffee-tracker", "backup", "ops@host", "mine", 7200, now=three_hours_ago)
    assert _lock.lock_age_seconds(_lock.read_lock(str(lock)), _lock.utc_now()) > 7200

    dumped = run_module(compose_postgres_db, {**DATABASE, "state": "dumped", "path": f"/backups/{dump}/main.dump",
                                              "lock_path": str(lock), "lock_token": "mine"})
    assert dumped["changed"] is True, dumped
    held = _lock.read_lock(str(lock))
    assert held["token"] == "mine" and _lock.lock_age_seconds(held, _lock.utc_now()) < 60

    other = run_module(compose_postgres_db, {**DATABASE, "state": "dumped", "path": f"/backups/{dump}/other.dump",
                                             "lock_path": str(lock), "lock_token": "not-mine"})
    assert other["changed"] is True and _lock.read_lock(str(lock)) == held
