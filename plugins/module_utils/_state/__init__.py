# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""State that the runs of one app share: its lock, documents and run journal.

Two backends keep it: `local`, a directory (on the compose host for compose apps), and
`postgres`, a PostgreSQL database that every controller reaches (AWX jobs in separate
containers, CI runners). Both offer the same operations, declared by StateBackend.
"""

from __future__ import annotations

import abc
import re
import typing as t

from ansible.module_utils.basic import env_fallback

from ansible_collections.appops.runbooks.plugins.module_utils._results import exit_with_result

# Options of a module that reads or writes the state; documented by the
# appops.runbooks.state_backend doc fragment (keep them in step).
STATE_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "backend": {"type": "str", "choices": ["local", "postgres"], "default": "local"},
    "dsn": {"type": "str", "no_log": True, "fallback": (env_fallback, ["APPOPS_STATE_DSN"])},
    "state_dir": {"type": "path"},
}

KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# Journal fields a caller may set; the backend keeps token, app, timestamps and outcome itself.
JOURNAL_FIELDS = ("procedure", "maintenance_before", "safety_backup", "step", "details")


class StateError(Exception):
    """The state backend cannot be reached or used (bad DSN, missing directory, bad key)."""


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key or ""):
        raise StateError(f"state key {key!r} must be 1-128 letters, digits, '_', '.' or '-' and start with a letter or digit")
    return key


class StateBackend(abc.ABC):
    """What every state backend offers. Times are UTC strings like 2025-01-01T12:00:00Z."""

    name = "abstract"

    # -- lock
    @abc.abstractmethod
    def acquire(self, app: str, procedure: str, holder: str, token: str, max_age: float,
                controller: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
        """Take the app's lock; the result as _lock.acquire. Raises _lock.LockHeld."""

    @abc.abstractmethod
    def refresh(self, app: str, token: str) -> bool:
        """Mark the lock alive if token holds it (the heartbeat)."""

    @abc.abstractmethod
    def release(self, app: str, token: str, force: bool = False) -> dict[str, t.Any]:
        """Free the lock if token holds it (or force): changed, released, held_by_other."""

    @abc.abstractmethod
    def read_lock(self, app: str) -> dict[str, t.Any] | None:
        """The lock in place, None when the app is not locked."""

    # -- documents (app, key) -> JSON value
    @abc.abstractmethod
    def get_document(self, app: str, key: str) -> t.Any:
        """The stored value, None when there is none."""

    @abc.abstractmethod
    def put_document(self, app: str, key: str, value: t.Any) -> None:
        """Store value (any JSON) under app and key, replacing what was there."""

    @abc.abstractmethod
    def delete_document(self, app: str, key: str) -> bool:
        """Remove the value; whether there was one."""

    # -- run journal
    @abc.abstractmethod
    def journal_start(self, app: str, token: str, fields: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """Record that run token started; returns the record (an existing one is kept as it is)."""

    @abc.abstractmethod
    def journal_update(self, token: str, fields: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
        """Set fields of an unfinished run (details are merged); None when there is no such run."""

    @abc.abstractmethod
    def journal_finish(self, token: str, outcome: str, fields: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
        """Mark the run finished with an outcome (ok, failed, undone ...)."""

    @abc.abstractmethod
    def journal_read(self, token: str) -> dict[str, t.Any] | None:
        """The record of run token, None when there is none."""

    @abc.abstractmethod
    def journal_latest_unfinished(self, app: str, exclude_token: str | None = None) -> dict[str, t.Any] | None:
        """The most recently started run of app that never finished (a killed run), if any."""

    def close(self) -> None:
        """Free connections; a backend without any has nothing to do."""


def open_backend(kind: str, dsn: str | None = None, state_dir: str | None = None,
                 lock_path: str | None = None) -> StateBackend:
    """The backend of kind `local` (state_dir, optionally another lock_path) or `postgres` (dsn)."""
    if kind == "postgres":
        if not dsn:
            raise StateError("the postgres state backend needs a DSN (dsn, or APPOPS_STATE_DSN in the environment)")
        from ansible_collections.appops.runbooks.plugins.module_utils._state._postgres import PostgresBackend
        return PostgresBackend(dsn)
    if kind == "local":
        if not state_dir and not lock_path:
            raise StateError("the local state backend needs a state directory (state_dir) or a lock path")
        from ansible_collections.appops.runbooks.plugins.module_utils._state._local import LocalBackend
        return LocalBackend(state_dir, lock_path)
    raise StateError(f"unknown state backend {kind!r} (local or postgres)")


def backend_from_params(params: t.Mapping[str, t.Any], lock_path: str | None = None) -> StateBackend:
    return open_backend(params["backend"], params.get("dsn"), params.get("state_dir"), lock_path)


def result_with_backend(params: t.Mapping[str, t.Any], what: str, work: t.Callable[[StateBackend], dict[str, t.Any]],
                        lock_path: str | None = None) -> dict[str, t.Any]:
    """Open the backend of the options in params, run work with it, close it; the result or a failure.

    `what` names the state in a failure message ("lock of micmap-api"); the DSN never appears.
    Used by the modules (exit_with_backend) and by their controller-side action plugins alike.
    """
    try:
        backend = backend_from_params(params, lock_path=lock_path)
        try:
            return work(backend)
        finally:
            backend.close()
    except (StateError, OSError) as error:
        return {"failed": True, "changed": False, "msg": f"{what}: {error}"}


def exit_with_backend(module: t.Any, what: str, work: t.Callable[[StateBackend], dict[str, t.Any]],
                      lock_path: str | None = None) -> None:
    """result_with_backend for a module: exits with the result, or fails with its message."""
    exit_with_result(module, result_with_backend(module.params, what, work, lock_path=lock_path))
