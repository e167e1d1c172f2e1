# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress callback: which running tasks are due a "still running" line, and when."""
from __future__ import annotations

import io
import time
import typing as t
from contextlib import redirect_stderr

from ansible.playbook.task import Task
from ansible.inventory.host import Host
from ansible.executor.task_result import TaskResult
from ansible.utils.display import Display

from ansible_collections.appops.runbooks.plugins.callback.progress import CallbackModule, ProgressTracker


class Clock:
    """A clock the test moves by hand: the tracker's decisions depend only on elapsed time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_task_is_reported_every_interval_until_it_ends() -> None:
    clock = Clock()
    tracker = ProgressTracker(30, clock)
    tracker.start("coffee-tracker", "Dump the database", "u1")

    clock.now += 29
    assert tracker.due() == []
    clock.now += 1
    assert tracker.due() == ["still running: Dump the database on coffee-tracker (30 s)"]
    assert tracker.due() == []
    clock.now += 30
    assert tracker.due() == ["still running: Dump the database on coffee-tracker (60 s)"]

    tracker.end("coffee-tracker", "u1")
    clock.now += 60
    assert tracker.due() == []


def test_a_short_task_is_never_reported() -> None:
    clock = Clock()
    tracker = ProgressTracker(30, clock)
    tracker.start("micmap-api", "Check the health", "u1")
    clock.now += 5
    tracker.end("micmap-api", "u1")
    clock.now += 100
    assert tracker.due() == []


def test_each_host_is_reported_on_its_own_and_an_old_result_does_not_end_a_newer_task() -> None:
    clock = Clock()
    tracker = ProgressTracker(10, clock)
    tracker.start("a", "Restore", "u1")
    clock.now += 5
    tracker.start("b", "Restore", "u1")
    tracker.start("a", "Wait for the capture", "u2")
    tracker.end("a", "u1")  # a late result of the task host a already left
    clock.now += 10
    assert tracker.due() == ["still running: Wait for the capture on a (10 s)", "still running: Restore on b (10 s)"]


def named_task(name: str) -> Task:
    task = Task()
    task.name = name
    return task


def test_the_plugin_prints_from_its_timer_and_stops_when_the_task_ends() -> None:
    plugin = CallbackModule()
    plugin.configure(0.4, "stderr")
    host, task = Host("coffee-tracker"), named_task("Sleep")
    captured = io.StringIO()
    with redirect_stderr(captured):
        Display()  # the display writes to the sys.stderr of the moment it prints
        plugin.v2_runner_on_start(host, task)
        time.sleep(1.0)
        plugin.v2_runner_on_ok(TaskResult(host, task, {}, {}))
        lines_while_running = captured.getvalue().count("still running: Sleep on coffee-tracker")
        time.sleep(0.9)
        plugin.v2_playbook_on_stats(t.cast(t.Any, None))
    assert lines_while_running >= 2
    assert captured.getvalue().count("still running:") == lines_while_running
