# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Says which tasks are still running, so a long dump, restore or wait is not mistaken for a hang."""
from __future__ import annotations

DOCUMENTATION = r"""
name: progress
type: notification
short_description: Prints "still running" lines for long tasks
version_added: 1.1.0
description:
  - >-
    For every task that runs on a host for longer than O(interval) seconds, prints
    C(still running: <task> on <host> (N s)) every O(interval) seconds until the task ends, so a
    long database dump, restore or wait for a capture, build or health gate shows that it is alive
    in a terminal, an AWX job's output or a CI log (which may kill a job that prints nothing).
  - A short task prints nothing. The lines come from a timer thread through the display, next to
    the output of any stdout callback.
  - Enable it with C(callbacks_enabled = appops.runbooks.progress) in C(ansible.cfg) (the
    collection's own ansible.cfg does) or C(ANSIBLE_CALLBACKS_ENABLED).
requirements:
  - enabled in callbacks_enabled
options:
  interval:
    description: Seconds a task runs before its first line, and between its lines.
    type: float
    default: 30
    env:
      - name: APPOPS_PROGRESS_INTERVAL
    ini:
      - section: callback_appops_progress
        key: interval
  stream:
    description:
      - Where the lines go. V(stderr) keeps a machine-read stdout (the C(ansible.posix.json)
        callback) valid JSON; a terminal, AWX and CI logs show both streams.
    type: str
    default: stderr
    choices: [stderr, stdout]
    env:
      - name: APPOPS_PROGRESS_STREAM
    ini:
      - section: callback_appops_progress
        key: stream
"""

import threading
import time
import typing as t
from dataclasses import dataclass

from ansible.plugins.callback import CallbackBase


@dataclass
class RunningTask:
    """A task running on one host, and when it was last reported."""
    name: str
    uuid: str
    started: float
    next_report: float


class ProgressTracker:
    """The tasks running per host and which of them are due a line; safe to use from two threads."""

    def __init__(self, interval: float, clock: t.Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[str, RunningTask] = {}

    def start(self, host: str, name: str, uuid: str) -> None:
        now = self._clock()
        with self._lock:
            # One task at a time per host: a new start replaces whatever the host ran before
            # (an include, for instance, has no result of its own).
            self._running[host] = RunningTask(name, uuid, now, now + self.interval)

    def end(self, host: str, uuid: str) -> None:
        with self._lock:
            running = self._running.get(host)
            if running is not None and running.uuid == uuid:
                del self._running[host]

    def end_all(self) -> None:
        with self._lock:
            self._running.clear()

    def due(self) -> list[str]:
        """The lines due now; each task is next due one interval later."""
        now = self._clock()
        lines = []
        with self._lock:
            for host, running in sorted(self._running.items()):
                if now >= running.next_report:
                    lines.append(f"still running: {running.name} on {host} ({int(now - running.started)} s)")
                    running.next_report += self.interval
        return lines


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "appops.runbooks.progress"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: t.Any = None, options: dict[str, t.Any] | None = None) -> None:
        super().__init__(display=display, options=options)
        self._tracker: ProgressTracker | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._to_stderr = True

    def set_options(self, task_keys: t.Any = None, var_options: t.Any = None, direct: t.Any = None) -> None:
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.configure(float(self.get_option("interval")), self.get_option("stream"))

    def configure(self, interval: float, stream: str) -> None:
        self._tracker = ProgressTracker(max(interval, 0.1))
        self._to_stderr = stream != "stdout"

    def _report_until_stopped(self) -> None:
        # Wakes often enough that a line is at most a second late, whatever the interval.
        tick = min(1.0, self._tracker.interval / 4)
        while not self._stopped.wait(tick):
            for line in self._tracker.due():
                self._display.display(line, stderr=self._to_stderr)

    def _ensure_timer(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._report_until_stopped, name="appops-progress", daemon=True)
            self._thread.start()

    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        self._ensure_timer()

    def v2_runner_on_start(self, host: t.Any, task: t.Any) -> None:
        self._ensure_timer()
        self._tracker.start(host.get_name(), task.get_name(), task._uuid)

    def _task_ended(self, result: t.Any) -> None:
        self._tracker.end(result.host.get_name(), result.task._uuid)

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._task_ended(result)

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._task_ended(result)

    def v2_runner_on_skipped(self, result: t.Any) -> None:
        self._task_ended(result)

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._task_ended(result)

    def v2_playbook_on_task_start(self, task: t.Any, is_conditional: bool) -> None:
        # A task whose host gave no result (an include, a skipped run_once host) must not go on
        # being reported once the play moved on.
        self._tracker.end_all()

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        self._tracker.end_all()
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
