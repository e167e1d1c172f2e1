# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime
import json
import os
import time

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _lock

NOW = datetime.datetime(2025, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def test_acquire_creates_the_lock_file_with_holder_and_token(tmp_path):
    path = str(tmp_path / "lock.json")
    result = _lock.acquire(path, "coffee-tracker", "restore", "ops@host", "t1", 3600, now=NOW)
    assert result["changed"] is True
    on_disk = json.loads(open(path, encoding="utf-8").read())
    # The lease is the holder's max_age: every other run reads when the lock expires from it.
    assert on_disk == {"app": "coffee-tracker", "holder": "ops@host", "lease": 3600, "procedure": "restore",
                       "since": "2025-01-01T12:00:00Z", "token": "t1"}


def test_same_token_reenters_without_change(tmp_path):
    path = str(tmp_path / "lock.json")
    _lock.acquire(path, "app", "restore", "ops@host", "t1", 3600, now=NOW)
    again = _lock.acquire(path, "app", "deploy", "ops@host", "t1", 3600, now=NOW)
    assert again["changed"] is False and again["reentrant"] is True
    assert json.loads(open(path, encoding="utf-8").read())["procedure"] == "restore"


def test_lock_held_by_another_run_names_holder_and_since(tmp_path):
    path = str(tmp_path / "lock.json")
    _lock.acquire(path, "coffee-tracker", "restore", "alice@box", "t1", 3600, now=NOW)
    later = NOW + datetime.timedelta(minutes=5)
    with pytest.raises(_lock.LockHeld) as held:
        _lock.acquire(path, "coffee-tracker", "restore", "bob@box", "t2", 3600, now=later)
    message = str(held.value)
    assert "alice@box" in message and "2025-01-01T12:00:00Z" in message and "restore" in message
    assert json.loads(open(path, encoding="utf-8").read())["token"] == "t1"


def test_stale_lock_is_taken_over_and_reported(tmp_path):
    path = str(tmp_path / "lock.json")
    _lock.acquire(path, "app", "deploy", "alice@box", "t1", 3600, now=NOW)
    later = NOW + datetime.timedelta(hours=3)
    result = _lock.acquire(path, "app", "restore", "bob@box", "t2", 3600, now=later)
    assert result["changed"] is True
    assert result["stale_taken_over"]["holder"] == "alice@box"
    assert json.loads(open(path, encoding="utf-8").read())["token"] == "t2"
    assert os.listdir(tmp_path) == ["lock.json"]


def test_a_fresh_lock_that_replaced_the_stale_one_is_put_back(tmp_path, monkeypatch):
    # Two runs saw the same stale lock; the other one was faster and wrote its own. This run's
    # rename then moves that fresh lock, which must go back and keep this run out.
    path = str(tmp_path / "lock.json")
    _lock.acquire(path, "app", "deploy", "alice@box", "t1", 3600, now=NOW)
    stale = json.loads(open(path, encoding="utf-8").read())
    os.unlink(path)
    later = NOW + datetime.timedelta(hours=3)
    _lock.acquire(path, "app", "restore", "carol@box", "t3", 3600, now=later)
    real_read = _lock.read_lock
    reads = []

    def first_read_sees_the_stale_lock(where):
        reads.append(where)
        return stale if len(reads) == 1 else real_read(where)

    monkeypatch.setattr(_lock, "read_lock", first_read_sees_the_stale_lock)
    with pytest.raises(_lock.LockHeld) as held:
        _lock.acquire(path, "app", "restore", "bob@box", "t2", 3600, now=later)
    assert "carol@box" in str(held.value)
    assert json.loads(open(path, encoding="utf-8").read())["token"] == "t3"
    assert os.listdir(tmp_path) == ["lock.json"]


def test_unreadable_lock_counts_as_stale_once_its_mtime_is_old(tmp_path):
    path = tmp_path / "lock.json"
    path.write_text("{half", encoding="utf-8")
    old = (NOW - datetime.timedelta(minutes=5)).timestamp()
    os.utime(path, (old, old))
    result = _lock.acquire(str(path), "app", "restore", "bob@box", "t2", 3600, now=NOW)
    assert result["stale_taken_over"]["holder"] == "unknown"
    assert "unreadable" in result["taken_over_reason"]


def test_unreadable_lock_with_a_recent_mtime_is_held(tmp_path):
    # A writer of an older version (create, then write) may be between the two: not stale yet.
    path = tmp_path / "lock.json"
    path.write_text("{half", encoding="utf-8")
    with pytest.raises(_lock.LockHeld):
        _lock.acquire(str(path), "app", "restore", "bob@box", "t2", 3600)
    assert path.read_text(encoding="utf-8") == "{half"


def test_release_only_removes_own_lock(tmp_path):
    path = str(tmp_path / "lock.json")
    _lock.acquire(path, "app", "restore", "alice@box", "t1", 3600, now=NOW)
    refused = _lock.release(path, "other-token")
    assert refused["changed"] is False and refused["held_by_other"]["token"] == "t1"
    assert os.path.exists(path)
    released = _lock.release(path, "t1")
    assert released["changed"] is True and not os.path.exists(path)
    assert _lock.release(path, "t1")["changed"] is False


def test_a_lock_marked_alive_is_not_stale_however_old_its_since(tmp_path):
    path = str(tmp_path / "lock.json")
    _lock.acquire(path, "app", "restore", "ops@host", "t1", 3600, now=NOW - datetime.timedelta(hours=3))
    assert _lock.refresh(path, "t1", now=NOW - datetime.timedelta(minutes=1)) is True
    with pytest.raises(_lock.LockHeld) as held:
        _lock.acquire(path, "app", "restore", "bob@box", "t2", 3600, now=NOW)
    assert "alive at 2025-01-01T11:59:00Z" in str(held.value)
    # Without a beat for longer than max_age, it is stale again.
    taken = _lock.acquire(path, "app", "restore", "bob@box", "t2", 3600, now=NOW + datetime.timedelta(hours=2))
    assert taken["stale_taken_over"]["token"] == "t1"


def test_refresh_never_touches_another_run_s_lock(tmp_path):
    path = str(tmp_path / "lock.json")
    assert _lock.refresh(path, "t1") is False and not os.path.exists(path)
    _lock.acquire(path, "app", "restore", "ops@host", "t1", 3600, now=NOW)
    before = open(path, encoding="utf-8").read()
    assert _lock.refresh(path, "someone-else") is False and _lock.refresh(path, "") is False
    assert open(path, encoding="utf-8").read() == before and os.listdir(tmp_path) == ["lock.json"]


def test_heartbeat_marks_alive_at_once_and_while_the_step_runs(tmp_path, monkeypatch):
    path = str(tmp_path / "lock.json")
    _lock.acquire(path, "app", "restore", "ops@host", "t1", 3600, now=NOW - datetime.timedelta(hours=3))
    beats = []
    refresh = _lock.refresh

    def counting_refresh(*args, **kwargs):
        beats.append(args)
        return refresh(*args, **kwargs)

    monkeypatch.setattr(_lock, "refresh", counting_refresh)
    with _lock.Heartbeat(path, "t1", interval=0.05):
        time.sleep(0.3)
    assert len(beats) >= 3  # one at once, then every interval
    count = len(beats)
    time.sleep(0.15)
    assert len(beats) == count  # stopped with the step
    alive = json.loads(open(path, encoding="utf-8").read())
    assert _lock.lock_age_seconds(alive, _lock.utc_now()) < 5 and alive["since"] < alive["alive_at"]


def test_heartbeat_without_a_token_does_nothing(tmp_path):
    path = str(tmp_path / "lock.json")
    with _lock.Heartbeat(path, None, interval=0.01):
        pass
    assert not os.path.exists(path)
