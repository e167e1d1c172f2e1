# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-app lock: one destructive procedure per app at a time.

This module holds what every state backend shares about locks (the holder record, when a
holder counts as gone, the heartbeat) and the lock of the local backend: a small JSON file.

The local lock file is written in full to a temporary file first and then linked into place
(os.link fails when the path exists), so a lock is never seen half written and of two runs
racing for a free lock exactly one wins. Changing an existing lock (a heartbeat, a takeover,
a release) happens under a short flock on the lock's directory, and each re-reads the lock
under it, so a heartbeat can never overwrite the lock of a run that just took it over.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
import threading
import typing as t
import uuid

from ansible.module_utils.basic import env_fallback

BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"
# A lock file that cannot be parsed is held this long after its last change: a writer of an
# older version (create, then write) may still be writing it.
UNREADABLE_GRACE_SECONDS = 60


class LockHeld(Exception):
    """Raised when another run holds a lock that is neither expired nor provably dead."""

    def __init__(self, message: str, holder: dict[str, t.Any]) -> None:
        super().__init__(message)
        self.holder = holder


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def format_time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def new_token() -> str:
    return uuid.uuid4().hex


# --------------------------------------------------------------------------- the holder

def boot_id() -> str:
    try:
        with open(BOOT_ID_PATH, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def process_start(pid: int) -> int | None:
    """Start time of a process in clock ticks after boot; None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            stat = handle.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return -1  # it exists but cannot be read: alive as far as we can tell
    # The command name in parentheses may hold spaces; the fields after it are positional.
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])  # starttime, field 22 of proc(5)
    except (IndexError, ValueError):
        return -1


def process_identity(pid: int) -> dict[str, t.Any]:
    """Host, boot and start time of a process: what tells it from a later one with the same pid."""
    return {"host": socket.gethostname(), "boot_id": boot_id(), "pid": pid, "start": process_start(pid)}


def dead_holder_reason(controller: t.Mapping[str, t.Any] | None) -> str | None:
    """Why the holder's controller process is provably gone, or None when it may be alive.

    Only a holder on this very host (same host name and same boot) can be judged: a container on
    the same kernel has another host name, and its pids mean nothing here.
    """
    if not isinstance(controller, t.Mapping) or controller.get("host") != socket.gethostname():
        return None
    if not controller.get("boot_id") or controller.get("boot_id") != boot_id():
        return None
    try:
        pid = int(controller.get("pid") or 0)
    except (TypeError, ValueError):
        return None
    if pid <= 0:
        return None
    started = process_start(pid)
    if started is None:
        return f"its controller process {pid} on {controller['host']} is gone"
    wanted = controller.get("start")
    if isinstance(wanted, int) and wanted >= 0 and started >= 0 and started != wanted:
        return f"its controller process {pid} on {controller['host']} is gone (the pid is another process now)"
    return None


def lock_age_seconds(lock: t.Mapping[str, t.Any], now: datetime.datetime) -> float:
    """Seconds since the holder last showed it is alive: taking the lock, or a heartbeat."""
    moments = [parse_time(str(lock.get(key, ""))) for key in ("since", "alive_at")]
    latest = max((moment for moment in moments if moment is not None), default=None)
    if latest is None:
        return float("inf")
    return (now - latest).total_seconds()


def effective_lease(lock: t.Mapping[str, t.Any], max_age: float) -> float:
    """The holder's own lease, shortened by the taker's max_age (max_age=0 takes any lock over)."""
    lease = lock.get("lease")
    if isinstance(lease, (int, float)) and lease >= 0:
        return min(float(lease), float(max_age))
    return float(max_age)


def takeover_reason(lock: t.Mapping[str, t.Any], now: datetime.datetime, max_age: float) -> str | None:
    """Why another run's lock may be taken over (lease expired, holder gone), or None if it is held."""
    if lock.get("unreadable"):
        age = lock_age_seconds(lock, now)
        return f"the lock file is unreadable and unchanged for {int(age)} s" if age > UNREADABLE_GRACE_SECONDS else None
    age = lock_age_seconds(lock, now)
    lease = effective_lease(lock, max_age)
    # A lease of 0 expires at once: times have whole seconds, and a heartbeat written just after
    # `now` was read would otherwise look younger than 0 s.
    if age > lease or lease <= 0:
        return f"its lease of {int(lease)} s expired (last alive {int(age)} s ago)"
    return dead_holder_reason(lock.get("controller"))


def describe(app: str, lock: t.Mapping[str, t.Any]) -> str:
    alive = f", alive at {lock['alive_at']}" if lock.get("alive_at") else ""
    controller = lock.get("controller")
    where = ""
    if isinstance(controller, t.Mapping) and controller.get("pid"):
        where = f" from pid {controller['pid']} on {controller.get('host', 'unknown')}"
    return (
        f"{app} is locked by {lock.get('holder', 'unknown')}{where} "
        f"(procedure {lock.get('procedure', 'unknown')}) since {lock.get('since', 'unknown')}{alive}"
    )


def new_lock(app: str, procedure: str, holder: str, token: str, since: datetime.datetime,
             lease: float | None = None, controller: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    lock: dict[str, t.Any] = {"app": app, "holder": holder, "procedure": procedure, "since": format_time(since),
                              "token": token}
    if lease is not None:
        lock["lease"] = int(lease)
    if controller:
        lock["controller"] = dict(controller)
    return lock


# --------------------------------------------------------------------------- the local lock file

def read_lock(path: str) -> dict[str, t.Any] | None:
    """Return the lock's content, None when there is no lock.

    A file that is not a JSON object is reported as an unreadable lock whose 'since' is the
    file's mtime, so it is held while recent (see takeover_reason) and never blocks forever.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            content = handle.read()
            mtime = os.fstat(handle.fileno()).st_mtime
    except FileNotFoundError:
        return None
    try:
        data = json.loads(content)
        if isinstance(data, dict):
            return data
    except ValueError:
        pass
    since = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)
    return {"holder": "unknown", "procedure": "unknown", "since": format_time(since), "token": "", "unreadable": True}


@contextlib.contextmanager
def _guard(path: str) -> t.Iterator[None]:
    """Serialise changes of an existing lock (flock on its directory; each opener has its own lock)."""
    descriptor = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor drops the flock


def write_temporary(path: str, value: t.Any) -> str:
    """Write value as JSON to a new 0600 file next to path, flushed to disk; returns its name."""
    temporary = f"{path}.new-{uuid.uuid4().hex[:12]}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def _link_into_place(path: str, lock: t.Mapping[str, t.Any]) -> bool:
    """Put a complete lock file at path if there is none; False when another run was first."""
    temporary = write_temporary(path, lock)
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)


def _replace(path: str, lock: t.Mapping[str, t.Any]) -> None:
    os.replace(write_temporary(path, lock), path)


def refresh(path: str, token: str, now: datetime.datetime | None = None) -> bool:
    """Mark the lock alive now if this run (token) holds it; never touches another run's lock."""
    if not token or not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return False
    with _guard(path):
        current = read_lock(path)
        if current is None or current.get("token") != token:
            return False
        _replace(path, dict(current, alive_at=format_time(now or utc_now())))
    return True


def acquire(
    path: str,
    app: str,
    procedure: str,
    holder: str,
    token: str,
    max_age: float,
    now: datetime.datetime | None = None,
    controller: t.Mapping[str, t.Any] | None = None,
    lease: float | None = None,
) -> dict[str, t.Any]:
    """Take the lock and return a result dict.

    Result keys: changed, lock (the lock now in place), reentrant, taken_over_from (the lock of
    a gone or expired holder that was replaced; also as stale_taken_over) and taken_over_reason.
    Raises LockHeld when someone else holds the lock and may still be running.
    """
    now = now or utc_now()
    wanted = new_lock(app, procedure, holder, token, now, max_age if lease is None else lease, controller)
    for _attempt in range(5):
        current = read_lock(path)
        if current is None:
            if _link_into_place(path, wanted):
                return taken_result(wanted, None, None)
            continue  # somebody was faster; look at their lock
        if token and current.get("token") == token:
            return {"changed": False, "lock": current, "reentrant": True, "stale_taken_over": None,
                    "taken_over_from": None, "taken_over_reason": None}
        reason = takeover_reason(current, now, max_age)
        if reason is None:
            raise LockHeld(describe(app, current), current)
        with _guard(path):
            # Only the lock judged above may be replaced: a heartbeat or another taker may have
            # changed it since, and then it is looked at again.
            if read_lock(path) != current:
                continue
            _replace(path, wanted)
        return taken_result(wanted, current, reason)
    current = read_lock(path) or {}
    raise LockHeld(describe(app, current), current)


def taken_result(lock: dict[str, t.Any], previous: dict[str, t.Any] | None, reason: str | None) -> dict[str, t.Any]:
    return {"changed": True, "lock": lock, "reentrant": False, "stale_taken_over": previous,
            "taken_over_from": previous, "taken_over_reason": reason}


def release(path: str, token: str, force: bool = False) -> dict[str, t.Any]:
    """Remove the lock if this run holds it (or force). Never removes someone else's lock."""
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return {"changed": False, "released": None, "held_by_other": None}
    with _guard(path):
        current = read_lock(path)
        if current is None:
            return {"changed": False, "released": None, "held_by_other": None}
        if not (force or (token and current.get("token") == token)):
            return {"changed": False, "released": None, "held_by_other": current}
        os.unlink(path)
    return {"changed": True, "released": current, "held_by_other": None}


# --------------------------------------------------------------------------- heartbeat

class Heartbeat:
    """Refreshes the lock at once and then every `interval` seconds while a long step runs.

    The local lock is refreshed by path; another backend passes `beat`, a callable that marks
    the lock alive and returns whether it still held it.
    """

    def __init__(self, path: str | None, token: str | None, interval: float = 60,
                 beat: t.Callable[[], bool] | None = None) -> None:
        self.path, self.token, self.interval, self.beat = path, token, interval, beat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _enabled(self) -> bool:
        return bool(self.token) and (self.beat is not None or bool(self.path))

    def __enter__(self) -> "Heartbeat":
        if self._enabled():
            self._once()
            self._thread = threading.Thread(target=self._beat, name="lock-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        # Stopped and joined before the step returns: a beat after the release would recreate the lock.
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _once(self) -> None:
        if self.beat is not None:
            self.beat()
        else:
            refresh(t.cast(str, self.path), t.cast(str, self.token))

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._once()
            except Exception:  # pylint: disable=broad-except
                pass  # a missed beat only brings the lease's end nearer; the step itself goes on


# Options of a module whose long step keeps the run's lock alive; documented by the
# appops.runbooks.lock_heartbeat doc fragment.
HEARTBEAT_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "lock_path": {"type": "path"},
    "lock_token": {"type": "str", "no_log": False},
    "lock_heartbeat": {"type": "int", "default": 60},
    "lock_backend": {"type": "str", "choices": ["local", "postgres"], "default": "local"},
    "lock_dsn": {"type": "str", "no_log": True, "fallback": (env_fallback, ["APPOPS_STATE_DSN"])},
}


def module_heartbeat(params: t.Mapping[str, t.Any], check_mode: bool) -> Heartbeat:
    """The heartbeat of a module with HEARTBEAT_ARGUMENT_SPEC; a check run writes nothing."""
    token, interval = params["lock_token"], params["lock_heartbeat"]
    if params.get("lock_backend") == "postgres" and params.get("lock_dsn") and token and not check_mode:
        # Imported here: a module on a compose host with the local backend needs no psycopg2.
        from ansible_collections.appops.runbooks.plugins.module_utils._state import _postgres
        return Heartbeat(None, token, interval, beat=_postgres.heartbeat_beat(params["lock_dsn"], token))
    return Heartbeat(None if check_mode else params["lock_path"], token, interval)
