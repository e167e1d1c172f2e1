# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Both state backends against real things: a directory, and a real PostgreSQL (see conftest)."""

from __future__ import annotations

import json
import os
import time
import typing as t

import psycopg2
import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._state import StateError, open_backend


@pytest.fixture(params=["local", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path) -> t.Iterator[t.Any]:
    if request.param == "local":
        store = open_backend("local", state_dir=str(tmp_path / "state"))
    else:
        store = open_backend("postgres", dsn=request.getfixturevalue("state_dsn"))
    yield store
    store.close()


def test_a_free_lock_is_taken_and_records_its_holder(backend):
    me = _lock.process_identity(os.getpid())
    taken = backend.acquire("app", "restore", "ops@box", "t1", 3600, controller=me)
    assert taken["changed"] is True and taken["taken_over_from"] is None
    lock = backend.read_lock("app")
    assert (lock["holder"], lock["procedure"], lock["token"], lock["lease"]) == ("ops@box", "restore", "t1", 3600)
    assert lock["controller"] == me and lock["since"].endswith("Z")
    again = backend.acquire("app", "deploy", "ops@box", "t1", 3600, controller=me)
    assert again["changed"] is False and again["reentrant"] is True


def test_a_live_holder_is_refused_with_its_name_procedure_and_since(backend):
    backend.acquire("app", "restore", "alice@box", "t1", 3600, controller=_lock.process_identity(os.getpid()))
    with pytest.raises(_lock.LockHeld) as held:
        backend.acquire("app", "backup", "bob@box", "t2", 3600)
    message = str(held.value)
    assert "alice@box" in message and "procedure restore" in message and "since 20" in message
    assert f"pid {os.getpid()}" in message
    assert backend.read_lock("app")["token"] == "t1"


def test_a_holder_killed_with_sigkill_is_taken_over_without_flags(backend, killed_controller):
    dead = killed_controller()
    backend.acquire("app", "restore", "alice@box", "t1", 3600, controller=dead)
    taken = backend.acquire("app", "restore", "bob@box", "t2", 3600, controller=_lock.process_identity(os.getpid()))
    assert taken["changed"] is True
    assert taken["taken_over_from"]["token"] == "t1" and taken["taken_over_from"]["holder"] == "alice@box"
    assert f"process {dead['pid']}" in taken["taken_over_reason"] and "gone" in taken["taken_over_reason"]
    assert backend.read_lock("app")["token"] == "t2"


def test_a_reused_pid_counts_as_gone(backend):
    # Our own pid, but a start time it never had: another process than the holder.
    impostor = dict(_lock.process_identity(os.getpid()), start=1)
    backend.acquire("app", "restore", "alice@box", "t1", 3600, controller=impostor)
    taken = backend.acquire("app", "restore", "bob@box", "t2", 3600)
    assert "another process" in taken["taken_over_reason"]


def test_a_holder_on_another_host_is_not_judged_by_its_pid(backend, killed_controller):
    elsewhere = dict(killed_controller(), host="awx-job-1234")
    backend.acquire("app", "restore", "alice@awx", "t1", 3600, controller=elsewhere)
    with pytest.raises(_lock.LockHeld):
        backend.acquire("app", "restore", "bob@box", "t2", 3600)


def test_an_expired_lease_is_taken_over_and_max_age_zero_forces_it(backend):
    backend.acquire("app", "deploy", "alice@box", "t1", 1)
    time.sleep(2.1)
    taken = backend.acquire("app", "restore", "bob@box", "t2", 3600)
    assert taken["taken_over_from"]["token"] == "t1" and "lease of 1 s expired" in taken["taken_over_reason"]
    forced = backend.acquire("app", "restore", "carol@box", "t3", 0)
    assert forced["taken_over_from"]["token"] == "t2"


def test_refresh_marks_only_its_own_lock_alive(backend):
    backend.acquire("app", "restore", "alice@box", "t1", 3600)
    assert backend.refresh("app", "t1") is True
    assert backend.read_lock("app").get("alive_at")
    assert backend.refresh("app", "other") is False and backend.refresh("app", "") is False
    backend.acquire("app", "restore", "bob@box", "t2", 0)  # taken over
    assert backend.refresh("app", "t1") is False
    assert backend.read_lock("app")["token"] == "t2"


def test_release_removes_only_its_own_lock(backend):
    backend.acquire("app", "restore", "alice@box", "t1", 3600)
    refused = backend.release("app", "t2")
    assert refused["changed"] is False and refused["held_by_other"]["token"] == "t1"
    assert backend.release("app", "t1")["changed"] is True and backend.read_lock("app") is None
    assert backend.release("app", "t1")["changed"] is False


def test_documents_round_trip_per_key(backend):
    assert backend.get_document("app", "deploy_history") is None
    backend.put_document("app", "deploy_history", [{"release": "v12", "at": "2025-01-01T00:00:00Z"}])
    backend.put_document("app", "restore_marker", {"backup": "b003"})
    assert backend.get_document("app", "deploy_history") == [{"release": "v12", "at": "2025-01-01T00:00:00Z"}]
    backend.put_document("app", "restore_marker", {"backup": "b004"})
    assert backend.get_document("app", "restore_marker") == {"backup": "b004"}
    assert backend.delete_document("app", "restore_marker") is True
    assert backend.delete_document("app", "restore_marker") is False
    assert backend.get_document("app", "restore_marker") is None
    with pytest.raises(StateError):
        backend.put_document("app", "../escape", 1)


def test_the_journal_keeps_what_a_run_had_done(backend):
    assert backend.journal_latest_unfinished("app") is None
    started = backend.journal_start("app", "run1", {"procedure": "restore", "maintenance_before": {"enabled": False}})
    assert (started["step"], started["finished_at"], started["outcome"]) == ("started", None, None)
    backend.journal_update("run1", {"step": "safety_backup", "safety_backup": "b007", "details": {"a": 1}})
    backend.journal_update("run1", {"step": "maintenance_on", "details": {"b": 2}})
    backend.journal_start("app", "run2", {"procedure": "backup"})
    backend.journal_finish("run2", "ok", {})
    latest = backend.journal_latest_unfinished("app")
    assert latest["token"] == "run1" and latest["step"] == "maintenance_on" and latest["safety_backup"] == "b007"
    assert latest["maintenance_before"] == {"enabled": False} and latest["details"] == {"a": 1, "b": 2}
    assert backend.journal_latest_unfinished("app", exclude_token="run1") is None
    assert backend.journal_latest_unfinished("other-app") is None
    finished = backend.journal_finish("run1", "undone", {"step": "maintenance_restored"})
    assert finished["outcome"] == "undone" and finished["finished_at"]
    assert backend.journal_latest_unfinished("app") is None
    assert backend.journal_update("no-such-run", {"step": "x"}) is None


def test_the_local_lock_file_is_complete_and_private(tmp_path):
    store = open_backend("local", state_dir=str(tmp_path / "state"))
    store.acquire("app", "restore", "alice@box", "t1", 3600)
    path = tmp_path / "state" / "lock.json"
    assert json.loads(path.read_text())["token"] == "t1"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert sorted(os.listdir(tmp_path / "state")) == ["lock.json"]


def test_the_postgres_tables_are_created_on_first_use(state_dsn):
    store = open_backend("postgres", dsn=state_dsn)
    connection = psycopg2.connect(state_dsn)
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                       "ORDER BY 1")
        assert [row[0] for row in cursor.fetchall()] == ["appops_documents", "appops_locks", "appops_runs"]
        cursor.execute("SELECT application_name FROM pg_stat_activity WHERE application_name = 'appops-state'")
        assert cursor.fetchall()
    connection.close()
    store.close()
    open_backend("postgres", dsn=state_dsn).close()  # a second first use finds them


def test_a_bad_dsn_names_the_failure_never_the_password():
    with pytest.raises(StateError) as failed:
        open_backend("postgres", dsn="postgresql://someone:s3cret-pw@127.0.0.1:1/nothing")
    assert "s3cret-pw" not in str(failed.value) and "cannot connect" in str(failed.value)


def test_the_heartbeat_of_a_module_marks_the_postgres_lock_alive(state_dsn):
    store = open_backend("postgres", dsn=state_dsn)
    store.acquire("app", "restore", "ops@box", "t1", 3600)
    params = {"lock_path": None, "lock_token": "t1", "lock_heartbeat": 1, "lock_backend": "postgres",
              "lock_dsn": state_dsn}
    connection = psycopg2.connect(state_dsn)
    connection.autocommit = True

    def alive_at() -> t.Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT alive_at FROM appops_locks WHERE app = 'app'")
            return cursor.fetchone()[0]

    first = alive_at()
    with _lock.module_heartbeat(params, check_mode=False):
        time.sleep(0.2)
        second = alive_at()
        time.sleep(1.3)
        third = alive_at()
    assert first < second < third
    with _lock.module_heartbeat(params, check_mode=True):
        pass
    assert alive_at() == third
    connection.close()
    store.close()
