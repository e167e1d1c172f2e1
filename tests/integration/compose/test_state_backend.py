# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""coffee-tracker with its state in the lab's state PostgreSQL (app_state_backend=postgres).

The lock and the run journal are taken from the controller; the compose store's restore marker
and the heartbeat of its long steps are written by the modules on the compose host (reached over
SSH), which must reach the state database too (in the lab: the same machine).
"""
from __future__ import annotations

import threading
import time
import typing as t

import psycopg2
import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._state._postgres import PostgresBackend
from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    APP, LAB, MAINTENANCE, STATE, canary_present, newest_backup_id, plant_canary, run_playbook)

pytestmark = pytest.mark.integration

POSTGRES_BACKEND = ("-e", "app_state_backend=postgres")


def state_dsn() -> str:
    return (LAB / "state" / "dsn").read_text(encoding="utf-8").strip()


def state_rows(sql: str, args: tuple[t.Any, ...] = ()) -> list[tuple[t.Any, ...]]:
    connection = psycopg2.connect(state_dsn(), connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def forget_the_app_s_shared_state() -> None:
    """No lock, document or journal of coffee-tracker in the state database (the compose tests
    keep their state in the project folder; only this test uses the database for it)."""
    for table in ("appops_locks", "appops_documents", "appops_runs"):
        state_rows(f"DELETE FROM {table} WHERE app = %s", (APP,))


@pytest.fixture
def shared_state(lab_up) -> t.Iterator[None]:
    PostgresBackend(state_dsn()).close()  # creates the tables on a state database no run used yet
    forget_the_app_s_shared_state()
    yield
    forget_the_app_s_shared_state()
    MAINTENANCE.unlink(missing_ok=True)


def watch_lock_rows(seen: list[tuple[t.Any, ...]], running: threading.Event) -> None:
    while running.is_set():
        seen.extend(state_rows("SELECT procedure, token, holder, since, alive_at FROM appops_locks WHERE app = %s",
                               (APP,)))
        time.sleep(0.2)


def test_backup_and_restore_keep_lock_journal_and_marker_in_the_state_database(shared_state):
    kept = plant_canary()
    backup = run_playbook("backup", *POSTGRES_BACKEND)
    assert backup.rc == 0, backup.output[-4000:]
    backup_id = newest_backup_id(backup.output)
    later = plant_canary()
    lock_files_before = sorted(path.name for path in STATE.glob("lock.json*"))

    seen: list[tuple[t.Any, ...]] = []
    running = threading.Event()
    running.set()
    watcher = threading.Thread(target=watch_lock_rows, args=(seen, running), daemon=True)
    watcher.start()
    try:
        # A heartbeat every second: the compose host's module marks the lock row alive while it restores.
        restore = run_playbook("restore", *POSTGRES_BACKEND, "-e", f"backup_id={backup_id}", "-e", "app_lock_heartbeat=1")
    finally:
        running.clear()
        watcher.join(10)
    assert restore.rc == 0, restore.output[-5000:]
    assert f"RESTORED {APP} from backup {backup_id}" in restore.text

    # The restored rows: the backup's canary is there, the one written after it is gone.
    assert canary_present(kept) == (True, True) and canary_present(later) == (False, False)
    assert not MAINTENANCE.exists()

    # The lock was a row of the state database while the restore ran, and is gone now.
    assert {row[0] for row in seen} == {"restore"}, seen
    restore_token = seen[0][1]
    assert state_rows("SELECT count(*) FROM appops_locks WHERE app = %s", (APP,)) == [(0,)]
    assert sorted(path.name for path in STATE.glob("lock.json*")) == lock_files_before

    # The journal: both runs finished ok; the restore names its backup and its safety backup.
    runs = {row[0]: row[1:] for row in state_rows(
        "SELECT token, procedure, step, outcome, safety_backup, details FROM appops_runs WHERE app = %s", (APP,))}
    assert sorted(run[0] for run in runs.values()) == ["backup", "restore"], runs
    assert all(run[2] == "ok" for run in runs.values()), runs
    procedure, step, outcome, safety, details = runs[restore_token]
    assert (procedure, step, outcome) == ("restore", "maintenance_restored", "ok")
    assert details["backup_id"] == backup_id and safety and safety != backup_id
    assert not any((STATE / "runs" / f"{token}.json").exists() for token in runs)

    # The compose host wrote the store's marker into the state database, not into the project folder.
    marker = state_rows("SELECT value FROM appops_documents WHERE app = %s AND key = 'restore-main'", (APP,))
    assert marker and marker[0][0]["backup_id"] == backup_id, marker
    local_marker = STATE / "restore-main.json"
    assert not local_marker.exists() or backup_id not in local_marker.read_text(encoding="utf-8")
    # The heartbeat from the compose host moved the lock row's alive_at during the restore.
    assert len({row[4] for row in seen if row[1] == restore_token}) >= 2, seen
