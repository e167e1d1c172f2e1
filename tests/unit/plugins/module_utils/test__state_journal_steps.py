# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run journal written by the module runs that do the work: the lock's (start, read, finish)
and the journal_step of the modules at a procedure's steps, on both real backends."""

from __future__ import annotations

import os
import typing as t

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._state import open_backend
from ansible_collections.appops.runbooks.plugins.module_utils._state._journal import (JournalStepFailed, due_step,
                                                                                      record_step)
from ansible_collections.appops.runbooks.plugins.module_utils._state._lock_run import run_lock


@pytest.fixture(params=["local", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path) -> dict[str, t.Any]:
    """The state options of a module for each backend (a folder, or a real state database)."""
    if request.param == "local":
        return {"backend": "local", "state_dir": str(tmp_path / "state"), "dsn": None}
    return {"backend": "postgres", "dsn": request.getfixturevalue("state_dsn"), "state_dir": None}


def lock_params(where: dict[str, t.Any], **changes: t.Any) -> dict[str, t.Any]:
    params = dict(where, path=None, app="shop", state="present", procedure="restore", holder="ops@box",
                  controller=_lock.process_identity(os.getpid()), token=None, max_age=3600, force=False,
                  journal={"step": "locked", "details": {"backup_id": "latest"}, "outcome": None,
                           "best_effort": False, "recovered_token": None})
    params.update(changes)
    return params


def run(where: dict[str, t.Any], params: dict[str, t.Any], check_mode: bool = False) -> dict[str, t.Any]:
    backend = open_backend(where["backend"], where["dsn"], where["state_dir"])
    try:
        return run_lock(params, check_mode, backend, lambda message: None)
    finally:
        backend.close()


def read_run(where: dict[str, t.Any], token: str) -> dict[str, t.Any] | None:
    backend = open_backend(where["backend"], where["dsn"], where["state_dir"])
    try:
        return backend.journal_read(token)
    finally:
        backend.close()


def step(where: dict[str, t.Any], token: str, name: str, at: str = "after", **fields: t.Any) -> dict[str, t.Any]:
    defaults = {"then": None, "maintenance_before": None, "safety_backup": None, "details": None}
    return dict(where, app="shop", token=token, step=name, at=at, **dict(defaults, **fields))


def test_taking_the_lock_starts_the_run_and_finds_a_killed_one(where):
    killed = run(where, lock_params(where, controller={"host": "gone", "pid": 1, "start": 1, "boot_id": "x"},
                                    max_age=0))
    assert killed["journal"]["run"]["step"] == "locked" and killed["journal"]["unfinished"] is None
    # The killed run left its lock and an unfinished record; the next run takes both over.
    taken = run(where, lock_params(where, max_age=0))
    assert taken["taken_over_from"]["token"] == killed["token"]
    assert taken["journal"]["unfinished"]["token"] == killed["token"]
    mine = read_run(where, taken["token"])
    assert (mine["procedure"], mine["step"], mine["details"]) == ("restore", "locked", {"backup_id": "latest"})


def test_a_check_run_records_nothing_but_still_finds_a_killed_run(where):
    first = run(where, lock_params(where))
    checked = run(where, lock_params(where, token=first["token"]), check_mode=True)
    assert checked["journal"] == {"run": None, "unfinished": None}
    other = run(where, lock_params(where, token="probe", max_age=0), check_mode=True)
    assert other["journal"]["unfinished"]["token"] == first["token"] and read_run(where, "probe") is None


def test_releasing_finishes_the_run_and_the_recovered_one(where):
    killed = run(where, lock_params(where))
    taken = run(where, lock_params(where, max_age=0))
    released = run(where, lock_params(where, state="absent", token=taken["token"],
                                      journal={"step": "locked", "details": {}, "outcome": "ok", "best_effort": False,
                                               "recovered_token": killed["token"]}))
    assert released["changed"] is True and not released.get("failed")
    assert read_run(where, taken["token"])["outcome"] == "ok"
    recovered = read_run(where, killed["token"])
    assert recovered["outcome"] == "recovered" and recovered["details"]["recovered_by"] == taken["token"]
    assert run(where, lock_params(where))["taken_over_from"] is None  # the lock is free


def test_a_journal_that_cannot_record_the_end_still_releases_the_lock(where):
    taken = run(where, lock_params(where, journal=None))  # a run with no journal record
    failed = run(where, lock_params(where, state="absent", token=taken["token"],
                                    journal={"step": "locked", "details": {}, "outcome": "ok", "best_effort": False,
                                             "recovered_token": None}))
    assert failed["failed"] is True and "released" in failed["msg"] and "no journal record" in failed["msg"]
    # best_effort (the end of a failed run) only reports it.
    taken = run(where, lock_params(where, journal=None))
    quiet = run(where, lock_params(where, state="absent", token=taken["token"],
                                   journal={"step": "locked", "details": {"failed_step": "x"}, "outcome": "failed",
                                            "best_effort": True, "recovered_token": None}))
    assert not quiet.get("failed") and "no journal record" in quiet["journal"]["error"]
    assert run(where, lock_params(where))["taken_over_from"] is None


def test_a_lock_whose_start_cannot_be_recorded_is_given_back(tmp_path):
    # The local backend keeps the journal in state_dir: a lock path alone cannot hold it.
    lock_path = str(tmp_path / "lock.json")
    where = {"backend": "local", "state_dir": None, "dsn": None}
    params = lock_params(where, path=lock_path)
    backend = open_backend("local", None, None, lock_path)
    result = run_lock(params, False, backend, lambda message: None)
    assert result["failed"] is True and "lock was given back" in result["msg"]
    assert backend.read_lock("shop") is None


def test_a_module_records_its_step_before_or_after_its_work(where):
    token = run(where, lock_params(where))["token"]
    before = step(where, token, "maintenance_on", at="before")
    assert due_step(before, "before", False) == "maintenance_on" and due_step(before, "after", False) is None
    assert due_step(before, "before", True) is None  # check mode records nothing
    recorded = record_step(before, "before", False, maintenance_before=True)
    assert (recorded["step"], recorded["maintenance_before"]) == ("maintenance_on", True)
    # A value the caller gives wins over what the module found (a takeover keeps the killed run's).
    recorded = record_step(step(where, token, "maintenance_on", at="before", maintenance_before=False), "before",
                           False, maintenance_before=True)
    assert recorded["maintenance_before"] is False
    gate = step(where, token, "stores_restored", at="before", then="health_passed")
    assert record_step(gate, "before", False)["step"] == "stores_restored"
    assert record_step(gate, "after", False)["step"] == "health_passed"
    assert record_step(step(where, token, "safety_backup_taken"), "after", False, safety_backup="b1")["safety_backup"] == "b1"
    assert record_step(None, "before", False) is None


def test_a_step_that_cannot_be_recorded_fails_naming_it(where):
    with pytest.raises(JournalStepFailed, match="could not record step maintenance_on"):
        record_step(step(where, "no-such-run", "maintenance_on", at="before"), "before", False)


def test_a_state_folder_that_cannot_hold_the_journal_never_keeps_the_lock(tmp_path):
    # runs/ is a file: every journal read or write fails with an OSError, as on a full or broken disk.
    where = {"backend": "local", "state_dir": str(tmp_path / "state"), "dsn": None}
    os.makedirs(where["state_dir"])
    with open(os.path.join(where["state_dir"], "runs"), "w", encoding="utf-8") as handle:
        handle.write("not a folder")
    refused = run(where, lock_params(where))
    assert refused["failed"] is True and "lock was given back" in refused["msg"]
    taken = run(where, lock_params(where, journal=None))
    assert taken["changed"] is True  # the lock was free: the refused run gave it back
    released = run(where, lock_params(where, state="absent", token=taken["token"],
                                      journal={"step": "locked", "details": {"failed_step": "x"}, "outcome": "failed",
                                               "best_effort": True, "recovered_token": None}))
    assert not released.get("failed") and released["journal"]["error"]
    assert run(where, lock_params(where, journal=None))["taken_over_from"] is None  # released despite the error
