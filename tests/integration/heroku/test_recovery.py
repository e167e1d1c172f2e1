# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A restore of a Heroku app killed half way (kill -9 of its controller) is finished by a run on
another controller (another HOME, as another AWX container), with no flags, through the state
database: the lock, the run journal and what the killed run left at Heroku."""
from __future__ import annotations

import json
import os
import sys
import threading
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import LOCKS_LAB, REPO, HerokuLab
from ansible_collections.appops.runbooks.tests.integration.killing import follow, kill_when, start_playbook

pytestmark = pytest.mark.integration

PROD = "sc-mvp-production"
# The emulator instance of this file's group (tests/conftest.py), where lock rows of its own live.
LAB = LOCKS_LAB
# The killed run's lease (common_lock_max_age): short, so the test need not wait for the default's 2 h.
LEASE = 8


@pytest.fixture
def heroku_lab(locks_heroku_lab: HerokuLab) -> HerokuLab:
    return locks_heroku_lab


def controller(home: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The environment and extra vars of a controller with its own HOME and state folder."""
    home.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home)}, {"app_state_dir": str(home / ".appops" / PROD)}


def start_restore(home: Path, **extra: t.Any) -> t.Any:
    env, folder = controller(home)
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                       ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), **LAB.env(), **env)
    environment.pop("HEROKU_API_KEY", None)
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(REPO / "inventories/lab/hosts.yml"),
               str(REPO / "playbooks" / "restore.yml"), "-l", PROD, "-e", f"confirm={PROD} backup_id=b001",
               "-e", f"app_state_dir={folder['app_state_dir']}"]
    if extra:
        command += ["-e", json.dumps(extra)]
    return start_playbook(command, REPO, environment)


def journal(token: str) -> dict[str, t.Any]:
    rows = LAB.state_query("SELECT step, maintenance_before, safety_backup, details, finished_at, outcome "
                           "FROM appops_runs WHERE token = %s", (token,))
    assert rows, f"no journal record of run {token}"
    step, maintenance_before, safety_backup, details, finished_at, outcome = rows[0]
    return {"step": step, "maintenance_before": maintenance_before, "safety_backup": safety_backup,
            "details": details, "finished_at": finished_at, "outcome": outcome}


def lock_token() -> str:
    lock = LAB.state_lock(PROD)
    assert lock is not None, "the killed run's lock stays behind"
    return lock[2]


def wait_for_lease_end(token: str, timeout: float = 60) -> None:
    """Until the lock row of run token is past its lease by the state database's clock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if LAB.state_query("SELECT 1 FROM appops_locks WHERE token = %s"
                           " AND alive_at + make_interval(secs => lease_seconds) < clock_timestamp()", (token,)):
            return
        time.sleep(0.5)
    raise AssertionError(f"the lease of run {token} did not end in {timeout} s")


def restores(emulator: t.Any) -> list[dict[str, t.Any]]:
    """The restore transfers of the app in the emulator (pg:backups:restore), running or finished."""
    return [tr for tr in emulator.state(PROD)["transfers"] if tr["to_type"] == "pg_restore"]


@pytest.fixture
def damaged(emulator: t.Any) -> t.Iterator[dict[str, str]]:
    """The app's data as backup b001 holds it (its digest), and then rows deleted from it."""
    before = emulator.digests(PROD)
    with emulator.db(PROD) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM assignments WHERE id > 100")
    assert emulator.digests(PROD) != before
    yield before
    # A test that failed half way leaves no killed run for the tests after it to refuse over.
    LAB.state_query("UPDATE appops_runs SET finished_at = clock_timestamp(), outcome = 'abandoned' "
                    "WHERE app = %s AND finished_at IS NULL", (PROD,))


def test_a_restore_killed_in_its_health_gate_is_finished_from_another_controller(emulator, damaged, tmp_path):
    assert emulator.state(PROD)["maintenance"] is False
    # The killed run stands for a job in another container: its controller names another host, so
    # only its lease can tell that it is gone (its pid means nothing here).
    other_host = {"host": "awx-job-1-7c9f", "boot_id": "0" * 32, "pid": 7, "start": 1}
    killed = start_restore(tmp_path / "awx-job-1", common_lock_max_age=LEASE, common_lock_controller=other_host)
    output = kill_when(killed, r"^TASK \[Health gate\]")
    assert "Run journal, step stores_restored" in output
    token = lock_token()
    # What the kill left: maintenance on, the lock, an unfinished journal naming the safety backup.
    assert emulator.state(PROD)["maintenance"] is True
    record = journal(token)
    assert record["step"] == "stores_restored" and record["maintenance_before"] is False
    assert record["finished_at"] is None and record["details"]["backup_id"] == "b001"
    safety = record["safety_backup"]
    assert safety and safety != "b001"
    assert len(restores(emulator)) == 1 and emulator.digests(PROD) == damaged

    wait_for_lease_end(token)
    env, extra = controller(tmp_path / "awx-job-2")
    rerun = LAB.run_playbook("restore.yml", PROD, {"confirm": PROD, "backup_id": "b001", **extra}, env=env)
    assert rerun.rc == 0, rerun.output[-5000:]
    assert (f"Took over a stale lock on {PROD} because its lease of {LEASE} s expired" in rerun.output
            and f"run token {token}" in rerun.output), rerun.output[-5000:]
    assert (f"RECOVERING {PROD}: run {token} by " in rerun.output
            and "(restore of backup b001, started " in rerun.output
            and f"was killed at step stores_restored: maintenance was off before it, safety backup {safety}."
            in rerun.output), rerun.output[-5000:]
    assert f"RESTORED {PROD} from backup b001" in rerun.output
    # The data is the backup's, restored once; maintenance is as before the killed run; the lock is free.
    assert emulator.digests(PROD) == damaged
    assert len(restores(emulator)) == 1
    assert emulator.state(PROD)["maintenance"] is False
    assert LAB.state_lock(PROD) is None
    finished = journal(token)
    assert finished["outcome"] == "recovered" and finished["finished_at"] is not None
    new = journal(finished["details"]["recovered_by"])
    assert new["outcome"] == "ok" and new["step"] == "maintenance_restored"
    # The second controller kept its downloads in its own folder; nothing went to the first one's.
    assert not list((tmp_path / "awx-job-1").rglob("lock.json"))


def restore_posts(emulator: t.Any, since: int) -> list[str]:
    """The restore requests (pg:backups:restore) the emulator received since request seq."""
    return [write for write in emulator.writes_since(since, succeeded_only=False) if write.endswith("/restores")]


def running_restore(emulator: t.Any, timeout: float = 30) -> dict[str, t.Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [tr for tr in restores(emulator) if not tr["finished"]]
        if running:
            return running[0]
        time.sleep(0.1)
    raise AssertionError(f"no restore of {PROD} was requested in {timeout} s")


@pytest.fixture
def restore_held_back(emulator: t.Any) -> t.Iterator[t.Callable[[], None]]:
    """A transaction that read the assignments table and stays open: a pg:backups:restore started
    meanwhile waits in its DROP TABLE (and stays running at Heroku) until release() is called."""
    reader = emulator.db(PROD)
    reader.autocommit = False
    with reader.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM assignments")
    yield reader.close
    reader.close()


def test_a_takeover_waits_for_the_killed_run_s_restore_transfer_and_restores_once(
        emulator, damaged, restore_held_back, tmp_path):
    seq = emulator.last_seq()
    killed = start_restore(tmp_path / "awx-job-1")
    kill_when(killed, r"^TASK \[.*Restore with pg:backups:restore from b001\]", before_kill=lambda: running_restore(emulator))
    token = lock_token()
    assert journal(token)["step"] == "store_restoring:main"
    in_flight = running_restore(emulator)
    assert len(restore_posts(emulator, seq)) == 1

    # Asked to wait 1 s only: the transfer still runs, so the re-run refuses, naming it, and starts nothing.
    env, extra = controller(tmp_path / "awx-job-2")
    refused = LAB.run_playbook("restore.yml", PROD, {"confirm": PROD, "backup_id": "b001",
                                                     "common_recover_session_wait": 1, **extra}, env=env)
    assert refused.rc != 0
    assert "because its controller process" in refused.output and f"run token {token}" in refused.output
    assert (f"restore r{in_flight['num']:03d} of {PROD} (started by the killed run {token}) is still running after 1 s"
            in refused.output), refused.output[-4000:]
    assert len(restore_posts(emulator, seq)) == 1 and journal(token)["finished_at"] is None
    assert LAB.state_lock(PROD) is None

    # The refused run took the lock over (same host, no flags: the killed run's controller process
    # is gone) and freed it; the killed run's journal is still unfinished. The re-run waits for
    # the killed run's restore, which goes on once the re-run has found it running.
    def release_once_waited_for(line: str) -> None:
        if f"FAILED - RETRYING: [{PROD}]: Wait for the restore transfers left running by killed run {token}" in line:
            restore_held_back()

    # A re-run that does not wait would block behind the held restore: let it go after a while, so
    # that the test fails on what that run did instead of hanging.
    deadline = threading.Timer(180, restore_held_back)
    deadline.start()
    try:
        rerun = follow(start_restore(tmp_path / "awx-job-2"), on_line=release_once_waited_for)
    finally:
        deadline.cancel()
    text = " ".join(rerun.split())
    assert f"RECOVERING {PROD}: run {token} by " in text and "killed at step store_restoring:main" in text
    assert "FAILED - RETRYING: [sc-mvp-production]: Wait for the restore transfers left running by killed run" in text
    assert f"RESTORED {PROD} from backup b001" in text, text[-5000:]
    # One restore reached Heroku: the killed run's, which the re-run waited for instead of starting another.
    assert len(restore_posts(emulator, seq)) == 1
    done = restores(emulator)
    assert len(done) == 1 and done[0]["succeeded"], done
    assert emulator.digests(PROD) == damaged
    assert emulator.state(PROD)["maintenance"] is False and LAB.state_lock(PROD) is None
    assert journal(token)["outcome"] == "recovered"
