# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs racing for one app's lock: exactly one winner in every round, for both backends.

Every round, all workers wait at a barrier, then all try to take the lock at once; even rounds
race for a free lock, odd rounds for a lock whose lease has expired (so all try to take it
over). The winner releases it before the next round. Threads and processes both race.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import typing as t

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._state import open_backend

BARRIER_TIMEOUT = 30  # seconds: a stuck worker fails the test instead of hanging it
EXPIRED = {"app": "app", "holder": "gone@box", "procedure": "restore", "since": "2000-01-01T00:00:00Z",
           "token": "expired", "lease": 60}


def plant_expired_lock(kind: str, where: str) -> None:
    """Leave the lock of a holder whose lease ran out long ago."""
    if kind == "local":
        with open(os.path.join(where, "lock.json"), "w", encoding="utf-8") as handle:
            json.dump(EXPIRED, handle)
        return
    store = open_backend("postgres", dsn=where)
    store._query("INSERT INTO appops_locks (app, token, procedure, holder, since, alive_at, lease_seconds) "
                 "VALUES ('app', 'expired', 'restore', 'gone@box', '2000-01-01', '2000-01-01', 60)")
    store.close()


def race(kind: str, where: str, worker: int, rounds: int, barrier: t.Any, wins: t.Any) -> None:
    store = open_backend(kind, dsn=where) if kind == "postgres" else open_backend(kind, state_dir=where)
    try:
        for round_number in range(rounds):
            if worker == 0 and round_number % 2:
                plant_expired_lock(kind, where)
            barrier.wait(BARRIER_TIMEOUT)
            token = f"w{worker}-r{round_number}"
            try:
                store.acquire("app", "restore", f"worker{worker}@box", token, 3600)
                won = True
            except _lock.LockHeld:
                won = False
            barrier.wait(BARRIER_TIMEOUT)
            if won:
                wins.add(round_number)
                assert store.release("app", token)["changed"] is True
            barrier.wait(BARRIER_TIMEOUT)
    finally:
        store.close()


class ThreadWins:
    """Wins per round, counted under a lock so two winners of one round are both counted."""

    def __init__(self, rounds: int) -> None:
        self.counts, self.lock = [0] * rounds, threading.Lock()

    def add(self, round_number: int) -> None:
        with self.lock:
            self.counts[round_number] += 1


class ProcessWins:
    def __init__(self, array: t.Any) -> None:
        self.array = array

    def add(self, round_number: int) -> None:
        with self.array.get_lock():
            self.array[round_number] += 1


def race_threads(kind: str, where: str, workers: int, rounds: int) -> list[int]:
    barrier, wins, errors = threading.Barrier(workers), ThreadWins(rounds), []

    def run(worker: int) -> None:
        try:
            race(kind, where, worker, rounds, barrier, wins)
        except BaseException as error:  # pylint: disable=broad-except
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BARRIER_TIMEOUT * 3)
    assert not errors, errors
    return wins.counts


def race_processes(kind: str, where: str, workers: int, rounds: int) -> list[int]:
    context = multiprocessing.get_context("fork")
    barrier, wins = context.Barrier(workers), context.Array("i", rounds)
    processes = [context.Process(target=race, args=(kind, where, worker, rounds, barrier, ProcessWins(wins)))
                 for worker in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=BARRIER_TIMEOUT * 3)
    assert [process.exitcode for process in processes] == [0] * workers
    return list(wins)


@pytest.fixture(params=["local", "postgres"])
def lock_home(request: pytest.FixtureRequest, tmp_path) -> tuple[str, str]:
    if request.param == "local":
        return "local", str(tmp_path)
    return "postgres", request.getfixturevalue("state_dsn")


@pytest.mark.slow
def test_8_threads_x_300_rounds_one_winner_each(lock_home):
    wins = race_threads(*lock_home, workers=8, rounds=300)
    assert wins == [1] * 300, {round_number: won for round_number, won in enumerate(wins) if won != 1}


@pytest.mark.slow
def test_4_processes_x_200_rounds_one_winner_each(lock_home):
    wins = race_processes(*lock_home, workers=4, rounds=200)
    assert wins == [1] * 200, {round_number: won for round_number, won in enumerate(wins) if won != 1}


def test_a_heartbeat_never_overwrites_a_fresh_takeover(tmp_path):
    # The holder's heartbeat beats as fast as it can while another run takes the lock over
    # (max_age=0 forces it): afterwards the lock must stay the taker's, every time.
    path = str(tmp_path / "lock.json")
    for attempt in range(100):
        _lock.acquire(path, "app", "restore", "alice@box", f"old{attempt}", 3600)
        stop = threading.Event()

        def beat(token: str = f"old{attempt}") -> None:
            while not stop.is_set():
                _lock.refresh(path, token)

        beater = threading.Thread(target=beat)
        beater.start()
        taken = _lock.acquire(path, "app", "restore", "bob@box", f"new{attempt}", 0)
        stop.set()
        beater.join()
        assert taken["taken_over_from"]["token"] == f"old{attempt}"
        assert _lock.read_lock(path)["token"] == f"new{attempt}"
        _lock.release(path, f"new{attempt}")
    assert os.listdir(tmp_path) == []
