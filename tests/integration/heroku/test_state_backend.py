# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Heroku apps of the lab keep their lock in the lab's state PostgreSQL (postgres backend).

Two controllers are two HOME directories with state folders of their own (as two AWX jobs in
two execution-environment containers): they share nothing but the state database, and still
see each other's lock. The restores are slowed by the emulator's transfer delay so that they
overlap for certain.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import (
    LOCKS_LAB,
    REPO,
    HerokuLab,
    Run,
)

PROD = "sc-mvp-production"
# The emulator instance of this file's group (tests/conftest.py), where lock rows of its own live.
LAB = LOCKS_LAB


@pytest.fixture
def heroku_lab(locks_heroku_lab: HerokuLab) -> HerokuLab:
    return locks_heroku_lab


def controller(home: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The environment and extra vars of a controller with its own HOME and state folder."""
    home.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home)}, {"app_state_dir": str(home / ".appops" / PROD)}


def restores_started(emulator: t.Any) -> list[dict[str, t.Any]]:
    return [t for t in emulator.state(PROD)["transfers"] if t["to_type"] == "pg_restore"]


def wait_for_lock(procedure: str, timeout: float = 120) -> dict[str, t.Any]:
    """The app's lock row (holder, procedure, token) once a run of procedure holds it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lock = LAB.state_lock(PROD)
        if lock is not None and lock[1] == procedure:
            return {"holder": lock[0], "procedure": lock[1], "token": lock[2]}
        time.sleep(0.2)
    raise AssertionError(f"no {procedure} lock on {PROD} after {timeout} s")


def test_two_restores_from_two_controllers_at_once_one_runs(emulator, tmp_path):
    emulator.knobs(PROD, transfer_delay_ms=6000)
    runs: dict[str, Run] = {}
    start = threading.Barrier(2)

    def restore(name: str) -> None:
        env, extra = controller(tmp_path / name)
        start.wait()
        runs[name] = LAB.run_playbook("restore.yml", PROD, {"confirm": PROD, "backup_id": "b001", **extra}, env=env)

    threads = [threading.Thread(target=restore, args=(name,)) for name in ("awx-job-1", "awx-job-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    finished = sorted(runs.values(), key=lambda run: run.rc)
    assert [run.rc == 0 for run in finished] == [True, False], [run.output[-2000:] for run in finished]
    done, refused = finished
    assert "RESTORED sc-mvp-production from backup b001" in done.output
    assert f"{PROD} is locked by" in refused.output and "(procedure restore) since" in refused.output
    assert "refusing to run restore" in refused.output
    assert len(restores_started(emulator)) == 1, "exactly one restore reached the database"
    assert emulator.state(PROD)["maintenance"] is False
    assert LAB.state_lock(PROD) is None, "the winner released the lock"
    # Neither controller wrote a lock into its own folder: the lock lived only in the database.
    assert not list(tmp_path.glob("*/.appops/*/lock.json"))


def test_a_backup_during_a_restore_is_refused_naming_the_restore(emulator, tmp_path):
    emulator.knobs(PROD, transfer_delay_ms=8000)
    env, extra = controller(tmp_path / "awx-job-1")
    results: dict[str, Run] = {}
    restorer = threading.Thread(target=lambda: results.update(restore=LAB.run_playbook(
        "restore.yml", PROD, {"confirm": PROD, "backup_id": "b001", **extra}, env=env)))
    restorer.start()
    holder = wait_for_lock("restore")["holder"]
    other_env, other_extra = controller(tmp_path / "awx-job-2")
    backup = LAB.run_playbook("backup.yml", PROD, other_extra, env=other_env)
    restorer.join(600)
    assert backup.rc != 0
    assert f"{PROD} is locked by {holder}" in backup.output and "(procedure restore) since" in backup.output
    assert "refusing to run backup" in backup.output
    assert results["restore"].rc == 0, results["restore"].output[-3000:]
    assert len(restores_started(emulator)) == 1
    assert LAB.state_lock(PROD) is None


def test_the_lock_of_a_controller_killed_with_sigkill_is_taken_over_without_flags(emulator, tmp_path):
    emulator.knobs(PROD, transfer_delay_ms=8000)
    env, extra = controller(tmp_path / "controller")
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                       ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), **LAB.env(), **env)
    environment.pop("HEROKU_API_KEY", None)
    killed = subprocess.Popen(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(REPO / "inventories" / "lab" / "hosts.yml"),
         str(REPO / "playbooks" / "restore.yml"), "-l", PROD, "-e", f"confirm={PROD} backup_id=b001",
         "-e", f"app_state_dir={extra['app_state_dir']}"],
        cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    dead_token = wait_for_lock("restore")["token"]
    os.killpg(killed.pid, signal.SIGKILL)  # the controller and its workers die at once
    killed.wait(30)
    assert (LAB.state_lock(PROD) or ())[2:] == (dead_token,), "the killed run's lock stays behind"

    emulator.knobs(PROD, transfer_delay_ms=0)
    # Same host, no -e common_lock_max_age=0: the holder's process is gone, so the lock is taken over.
    backup = LAB.run_playbook("backup.yml", PROD, extra, env=env)
    assert backup.rc == 0, backup.output[-3000:]
    assert "Took over a stale lock on sc-mvp-production because its controller process" in backup.output
    assert "is gone" in backup.output and f"run token {dead_token}" in backup.output
    assert LAB.state_lock(PROD) is None
    assert LAB.state_query("SELECT count(*) FROM appops_locks WHERE token = %s", (dead_token,)) == [(0,)]


def safety_list(app: str) -> t.Any:
    rows = LAB.state_query("SELECT value FROM appops_documents WHERE app = %s AND key = 'heroku_postgres.safety_backups'",
                           (app,))
    return rows[0][0] if rows else None


def test_a_second_controller_skips_the_first_s_safety_backup_and_sees_what_the_database_holds(emulator, tmp_path):
    before = emulator.rows(PROD)
    with emulator.db(PROD) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM assignments WHERE id > 100")
    env_a, extra_a = controller(tmp_path / "awx-job-1")
    first = LAB.run_playbook("restore.yml", PROD, {"confirm": PROD, "backup_id": "latest", **extra_a}, env=env_a)
    assert first.rc == 0, first.output[-3000:]
    assert "RESTORED sc-mvp-production from backup b001" in first.output
    transfers = emulator.state(PROD)["transfers"]
    assert len(transfers) == 3 and emulator.rows(PROD) == before
    # The safety backup (b002, the damaged rows) is recorded in the state database, not in A's folder.
    assert safety_list(PROD) == ["b002"]
    assert not list((tmp_path / "awx-job-1").rglob("safety-backups.json"))

    # Another container: its own HOME and state folder, nothing shared but the state database.
    env_b, extra_b = controller(tmp_path / "awx-job-2")
    second = LAB.run_playbook("restore.yml", PROD, {"confirm": PROD, "backup_id": "latest", **extra_b}, env=env_b)
    assert second.rc == 0, second.output[-3000:]
    # "latest" is b001, not A's newer safety backup b002, and the database already holds it.
    assert "already holds backup b001" in second.output
    # Nothing changed for the app (filling this controller's own download cache is no change of it).
    assert second.changed == 0
    assert list((tmp_path / "awx-job-2").rglob("*.dump")), "B verified b001 from a download of its own"
    assert emulator.state(PROD)["transfers"] == transfers, "no capture, no restore"
    assert emulator.rows(PROD) == before and emulator.state(PROD)["maintenance"] is False
    assert LAB.state_lock(PROD) is None


def test_a_long_capture_marks_the_lock_row_alive_in_the_state_database(emulator, tmp_path):
    emulator.knobs(PROD, transfer_delay_ms=6000)
    env, extra = controller(tmp_path / "awx-job-1")
    seen: list[tuple[t.Any, t.Any]] = []
    results: dict[str, Run] = {}
    backup = threading.Thread(target=lambda: results.update(run=LAB.run_playbook(
        "backup.yml", PROD, {"app_lock_heartbeat": 1, **extra}, env=env)))
    backup.start()
    while backup.is_alive():
        rows = LAB.state_query("SELECT since, alive_at FROM appops_locks WHERE app = %s AND procedure = 'backup'", (PROD,))
        seen.extend(rows)
        time.sleep(0.2)
    backup.join()
    assert results["run"].rc == 0, results["run"].output[-3000:]
    assert seen, "the backup held a lock row in the state database"
    since = seen[0][0]
    beats = sorted({alive_at for _since, alive_at in seen})
    # The capture's heartbeat (every second through a 6 s wait) moved alive_at in the database.
    assert len(beats) >= 4, beats
    assert (beats[-1] - since).total_seconds() >= 4
    assert LAB.state_lock(PROD) is None
