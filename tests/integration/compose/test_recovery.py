# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A restore killed half way (kill -9 of the controller) is finished by the next run, with no flags."""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import uuid

import psycopg2
import pytest

from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    APP, MAINTENANCE, ROOT, STATE, canary_present, env_value, http_get, manifest, pg_count, pg_execute,
    plant_canary, run_playbook, switch_maintenance_on)
from ansible_collections.appops.runbooks.tests.integration.killing import kill_when, start_playbook

pytestmark = pytest.mark.integration

RUNS = STATE / "runs"


def journal(token: str) -> dict:
    return json.loads((RUNS / f"{token}.json").read_text(encoding="utf-8"))


def start_restore(backup_id: str) -> subprocess.Popen:
    """ansible-playbook restore.yml in a process group of its own, its output read line by line."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
    return start_playbook([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "playbooks/restore.yml", "-l", APP,
                           "-e", f"backup_id={backup_id}"], ROOT, env)


def wait_for_step(token: str, steps: set[str], timeout: float = 60) -> None:
    """Until the run's journal record reached one of steps (the run is still going meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (RUNS / f"{token}.json").exists() and journal(token)["step"] in steps:
            return
        time.sleep(0.05)
    pytest.fail(f"run {token} did not reach {sorted(steps)} in {timeout} s: {journal(token)}")


def token_of_lock_left() -> str:
    """The token of the run whose lock is in place (the killed one)."""
    return json.loads((STATE / "lock.json").read_text(encoding="utf-8"))["token"]


@pytest.fixture(scope="module")
def backup_with_a_canary(lab_up) -> tuple[str, str]:
    """A backup holding a canary row, shared by the module's tests (each restores it)."""
    kept = plant_canary()
    run = run_playbook("backup")
    assert run.rc == 0, run.output[-4000:]
    return re.findall(r"manual backup (\d{8}T\d{6}Z(?:-\d+)?)", run.output)[-1], kept


@pytest.fixture
def backup_with_canaries(backup_with_a_canary):
    """The module's backup with its canary, and a canary written after it (a restore removes that one)."""
    backup_id, kept = backup_with_a_canary
    later = plant_canary()
    # Rows the backup holds go missing: the stores need the restore.
    pg_execute("DELETE FROM coffee_logs WHERE id IN (SELECT id FROM coffee_logs WHERE notes IS DISTINCT FROM "
               f"'{kept}' LIMIT 10)")
    runs_before = set(RUNS.glob("*.json")) if RUNS.is_dir() else set()
    yield backup_id, kept, later
    # A test that failed half way must not leave a killed run behind for the tests after it
    # (every procedure would refuse to work over it).
    for path in set(RUNS.glob("*.json")) - runs_before:
        if json.loads(path.read_text(encoding="utf-8")).get("finished_at") is None:
            lock = STATE / "lock.json"
            if lock.exists() and json.loads(lock.read_text(encoding="utf-8")).get("token") == path.stem:
                lock.unlink()
            path.unlink()
    MAINTENANCE.unlink(missing_ok=True)


def test_a_restore_killed_in_its_health_gate_is_finished_by_the_next_run(backup_with_canaries):
    backup_id, kept, later = backup_with_canaries
    expected_logs = {store["name"]: store for store in manifest(backup_id)["stores"]}["main"]["row_counts"]
    assert not MAINTENANCE.exists()

    killed = start_restore(backup_id)
    # The health check's module run records stores_restored before it asks the app (and
    # health_passed once the app answered): the kill comes once the journal says so.
    kill_when(killed, r"^TASK \[appops.runbooks.compose : Wait for the app to be healthy",
              before_kill=lambda: wait_for_step(token_of_lock_left(), {"stores_restored", "health_passed"}))
    token = token_of_lock_left()
    # What the kill left: maintenance on, the lock of a dead process, an unfinished journal.
    assert MAINTENANCE.exists()
    record = journal(token)
    assert record["procedure"] == "restore" and record["finished_at"] is None
    assert record["step"] in ("stores_restored", "health_passed") and record["maintenance_before"] is False
    safety_id = record["safety_backup"]
    assert safety_id and record["details"]["backup_id"] == backup_id

    # The re-run, with no extra flags.
    rerun = run_playbook("restore", "-e", f"backup_id={backup_id}")
    assert rerun.rc == 0, rerun.output[-5000:]
    assert "Took over a stale lock" in rerun.text and token in rerun.text
    # The health check's module on the compose host may still record health_passed after its
    # controller died (the SSH session ends; the remote module finishes): either step is reported.
    assert f"RECOVERING {APP}: run {token} by " in rerun.text, rerun.output[-5000:]
    assert re.search(r"was killed at step (stores_restored|health_passed): maintenance was off before it, "
                     rf"safety backup {safety_id}\.", rerun.text), rerun.output[-5000:]
    assert f"RESTORED {APP} from backup {backup_id}" in rerun.text
    # The data is the backup's, maintenance is as before the killed run, the lock is free.
    assert canary_present(kept) == (True, True) and canary_present(later) == (False, False)
    assert pg_count("coffee_logs") >= expected_logs["public.coffee_logs"]
    assert not MAINTENANCE.exists() and http_get("/")[0] == 200
    assert not (STATE / "lock.json").exists()
    finished = journal(token)
    assert finished["outcome"] == "recovered" and finished["finished_at"]
    new_token = finished["details"]["recovered_by"]
    assert journal(new_token)["outcome"] == "ok" and journal(new_token)["step"] == "maintenance_restored"


def dead_restore_record(token: str, backup_id: str, safety_id: str) -> None:
    """The journal of a restore killed during its pg_restore, as such a run leaves it."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RUNS.mkdir(mode=0o700, exist_ok=True)
    (RUNS / f"{token}.json").write_text(json.dumps({
        "token": token, "app": APP, "procedure": "restore", "maintenance_before": False,
        "safety_backup": safety_id, "step": "store_restoring:main",
        "details": {"holder": "alice@ops-box", "backup_id": backup_id}, "started_at": now, "updated_at": now,
        "finished_at": None, "outcome": None}), encoding="utf-8")


class Session(threading.Thread):
    """A database session tagged as the killed run's restore, busy for `seconds`."""

    def __init__(self, application_name: str, seconds: int) -> None:
        super().__init__(daemon=True)
        self.connection = psycopg2.connect(host="127.0.0.1", port=15432, dbname="coffee_db", user="coffee",
                                           password=env_value("POSTGRES_PASSWORD"),
                                           application_name=application_name, connect_timeout=5)
        self.seconds = seconds
        self.pid = self.connection.get_backend_pid()

    def run(self) -> None:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(%s)", (self.seconds,))
        except psycopg2.Error:
            pass  # terminated by the test
        finally:
            self.connection.close()


def test_a_takeover_waits_for_the_killed_run_s_database_session(backup_with_canaries):
    backup_id, kept, later = backup_with_canaries
    token = uuid.uuid4().hex
    dead_restore_record(token, backup_id, "20000101T000000Z")
    MAINTENANCE.parent.mkdir(exist_ok=True)
    switch_maintenance_on(by="restore")  # as the killed run left it
    name = f"appops-restore-{token}"

    # Still restoring after the wait: the re-run refuses naming the session, restores nothing.
    busy = Session(name, 300)
    busy.start()
    try:
        refused = run_playbook("restore", "-e", f"backup_id={backup_id}", "-e", "common_recover_session_wait=5")
        assert refused.rc != 0
        assert f"the killed run {token} still has sessions in the database" in refused.text, refused.output[-4000:]
        assert f"{name} pid {busy.pid}" in refused.text
        assert canary_present(later) == (True, True)  # nothing restored
        assert journal(token)["finished_at"] is None
        assert not (STATE / "lock.json").exists()
    finally:
        pg_execute(f"SELECT pg_terminate_backend({busy.pid})")
        busy.join(10)

    # The session ends while the re-run waits: it restores once it has, maintenance back off.
    short = Session(name, 20)
    short.start()
    started = time.monotonic()
    rerun = run_playbook("restore", "-e", f"backup_id={backup_id}", "-e", "common_recover_session_wait=120")
    short.join(10)
    assert rerun.rc == 0, rerun.output[-5000:]
    assert f"RECOVERING {APP}: run {token} by alice@ops-box" in rerun.text
    assert "killed at step store_restoring:main" in rerun.text
    assert time.monotonic() - started >= 15
    assert re.search(rf"Wait for the database sessions of killed run {token}\] \**\s*ok:", rerun.output)
    assert f"RESTORED {APP} from backup {backup_id}" in rerun.text
    assert canary_present(kept) == (True, True) and canary_present(later) == (False, False)
    assert not MAINTENANCE.exists() and journal(token)["outcome"] == "recovered"


def test_a_backup_refuses_to_work_over_a_killed_restore_and_names_the_re_run(lab_up):
    """A restore killed with maintenance on and the stores not verified: a backup would copy data
    nobody verified; it refuses, names the restore that finishes the killed one, changes nothing."""
    token = uuid.uuid4().hex
    backup_id = "20261201T000000Z"
    dead_restore_record(token, backup_id, "20000101T000000Z")
    backups_before = sorted(path.name for path in (STATE.parent / "backups").iterdir())
    try:
        run = run_playbook("backup")
        assert run.rc != 0
        assert f"refusing to run backup: restore run {token} was killed at step store_restoring:main" in run.text
        assert f"ansible-playbook playbooks/restore.yml -l {APP} -e backup_id={backup_id}" in run.text
        assert sorted(path.name for path in (STATE.parent / "backups").iterdir()) == backups_before
        assert not (STATE / "lock.json").exists()
        assert journal(token)["finished_at"] is None  # still there for the restore re-run
    finally:
        (RUNS / f"{token}.json").unlink(missing_ok=True)
