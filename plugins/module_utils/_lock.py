# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-app lock file: one destructive procedure per app at a time.

The lock is a small JSON file created with O_CREAT|O_EXCL, so two runs racing for it
cannot both win. It names its holder, the procedure and since when it is held, and
carries a token so the run that holds it can re-enter (nested roles) and release it.
A long step of the holder (a dump or a restore of hours) keeps it fresh with a Heartbeat
that writes `alive_at`: a lock is stale when neither `since` nor `alive_at` is recent.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
import typing as t
import uuid


class LockHeld(Exception):
    """Raised when another run holds a lock that is not stale."""

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


def read_lock(path: str) -> dict[str, t.Any] | None:
    """Return the lock's content, None when there is no lock.

    A lock file that is not valid JSON (a crash between create and write) is reported
    with an epoch 'since' so it counts as stale rather than blocking forever.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            content = handle.read()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(content)
        if isinstance(data, dict):
            return data
    except ValueError:
        pass
    return {"holder": "unknown", "procedure": "unknown", "since": "1970-01-01T00:00:00Z", "token": ""}


def lock_age_seconds(lock: dict[str, t.Any], now: datetime.datetime) -> float:
    """Seconds since the holder last showed it is alive: taking the lock, or a heartbeat."""
    moments = [parse_time(str(lock.get(key, ""))) for key in ("since", "alive_at")]
    latest = max((moment for moment in moments if moment is not None), default=None)
    if latest is None:
        return float("inf")
    return (now - latest).total_seconds()


def refresh(path: str, token: str, now: datetime.datetime | None = None) -> bool:
    """Mark the lock alive now if this run (token) holds it; never touches another run's lock."""
    current = read_lock(path)
    if not token or current is None or current.get("token") != token:
        return False
    temporary = f"{path}.alive-{uuid.uuid4().hex[:8]}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(dict(current, alive_at=format_time(now or utc_now())), handle, indent=2, sort_keys=True)
        handle.write("\n")
    # A taker moves a stale lock aside before replacing it and puts back what it did not read,
    # so a replace racing with it leaves a lock it will not take (see acquire).
    os.replace(temporary, path)
    return True


class Heartbeat:
    """Refreshes the lock at once and then every `interval` seconds while a long step runs."""

    def __init__(self, path: str | None, token: str | None, interval: float = 60) -> None:
        self.path, self.token, self.interval = path, token, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Heartbeat":
        if self.path and self.token:
            refresh(self.path, self.token)
            self._thread = threading.Thread(target=self._beat, name="lock-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        # Stopped and joined before the step returns: a beat after the release would recreate the lock.
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                refresh(t.cast(str, self.path), t.cast(str, self.token))
            except OSError:
                pass  # a missed beat only brings staleness nearer; the step itself goes on


# Options of a module whose long step keeps the run's lock alive; documented by the
# appops.runbooks.lock_heartbeat doc fragment.
HEARTBEAT_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "lock_path": {"type": "path"},
    "lock_token": {"type": "str", "no_log": False},
    "lock_heartbeat": {"type": "int", "default": 60},
}


def module_heartbeat(params: t.Mapping[str, t.Any], check_mode: bool) -> Heartbeat:
    """The heartbeat of a module with HEARTBEAT_ARGUMENT_SPEC; a check run writes nothing."""
    return Heartbeat(None if check_mode else params["lock_path"], params["lock_token"], params["lock_heartbeat"])


def _write_exclusive(path: str, lock: dict[str, t.Any]) -> None:
    # O_EXCL makes creation atomic: of two racing runs exactly one gets the file.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(lock, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def _put_back(aside: str, path: str) -> None:
    try:
        os.link(aside, path)
    except FileExistsError:
        pass
    os.unlink(aside)


def describe(app: str, lock: dict[str, t.Any]) -> str:
    alive = f", alive at {lock['alive_at']}" if lock.get("alive_at") else ""
    return (
        f"{app} is locked by {lock.get('holder', 'unknown')} "
        f"(procedure {lock.get('procedure', 'unknown')}) since {lock.get('since', 'unknown')}{alive}"
    )


def acquire(
    path: str,
    app: str,
    procedure: str,
    holder: str,
    token: str,
    max_age: float,
    now: datetime.datetime | None = None,
) -> dict[str, t.Any]:
    """Take the lock and return a result dict.

    Result keys: changed, lock (the lock now in place), reentrant, stale_taken_over
    (the previous, stale lock if one was replaced). Raises LockHeld when someone else
    holds a fresh lock.
    """
    now = now or utc_now()
    wanted = {"app": app, "holder": holder, "procedure": procedure, "since": format_time(now), "token": token}
    for _attempt in range(3):
        current = read_lock(path)
        if current is None:
            try:
                _write_exclusive(path, wanted)
            except FileExistsError:
                continue  # somebody was faster; look at their lock
            return {"changed": True, "lock": wanted, "reentrant": False, "stale_taken_over": None}
        if token and current.get("token") == token:
            return {"changed": False, "lock": current, "reentrant": True, "stale_taken_over": None}
        if lock_age_seconds(current, now) > max_age:
            # Take over a stale lock: rename it aside first so only one taker succeeds.
            aside = f"{path}.stale-{uuid.uuid4().hex[:8]}"
            try:
                os.rename(path, aside)
            except FileNotFoundError:
                continue
            if read_lock(aside) != current:
                # Another taker replaced the stale lock between our read and the rename: that
                # fresh lock is theirs, so it goes back (unless a third run already took the path).
                _put_back(aside, path)
                continue
            os.unlink(aside)
            try:
                _write_exclusive(path, wanted)
            except FileExistsError:
                continue
            return {"changed": True, "lock": wanted, "reentrant": False, "stale_taken_over": current}
        raise LockHeld(describe(app, current), current)
    current = read_lock(path) or {}
    raise LockHeld(describe(app, current), current)


def release(path: str, token: str, force: bool = False) -> dict[str, t.Any]:
    """Remove the lock if this run holds it (or force). Never removes someone else's lock."""
    current = read_lock(path)
    if current is None:
        return {"changed": False, "released": None, "held_by_other": None}
    if force or current.get("token") == token:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return {"changed": False, "released": None, "held_by_other": None}
        return {"changed": True, "released": current, "held_by_other": None}
    return {"changed": False, "released": None, "held_by_other": current}
