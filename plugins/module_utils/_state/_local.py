# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local state backend: a directory on the host the modules run on.

    <state_dir>/lock.json             the lock (see _lock)
    <state_dir>/documents/<key>.json  one JSON value per key (FILE_NAMES: the few kept where
                                      earlier releases wrote them, so nothing moves)
    <state_dir>/runs/<token>.json     one journal record per run

Every file is written whole to a temporary file and renamed into place, so a reader never
sees half a document; files are 0600 and folders 0700 (they name hosts, users and backups).
"""

from __future__ import annotations

import json
import os
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._state import (
    JOURNAL_FIELDS, StateBackend, StateError, check_key)


# Documents that lived in files of their own before the state backends: they stay where they
# were, so a state folder written by an earlier release is read as it is.
FILE_NAMES = {
    "deploy_history": "deployments.json",
    "heroku_postgres.safety_backups": os.path.join("heroku_postgres", "safety-backups.json"),
}


def _read_json(path: str) -> t.Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError as error:
        raise StateError(f"{path} is not valid JSON: {error}") from error


def _write_json(path: str, value: t.Any) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    os.replace(_lock.write_temporary(path, value), path)


class LocalBackend(StateBackend):
    name = "local"

    def __init__(self, state_dir: str | None, lock_path: str | None = None) -> None:
        self.state_dir = state_dir
        self.lock_path = lock_path or os.path.join(t.cast(str, state_dir), "lock.json")

    def _under(self, *parts: str) -> str:
        if not self.state_dir:
            raise StateError("the local state backend keeps documents and the journal in state_dir, which is not set")
        return os.path.join(self.state_dir, *parts)

    # -- lock
    def acquire(self, app: str, procedure: str, holder: str, token: str, max_age: float,
                controller: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
        os.makedirs(os.path.dirname(os.path.abspath(self.lock_path)), mode=0o700, exist_ok=True)
        return _lock.acquire(self.lock_path, app, procedure, holder, token, max_age, controller=controller)

    def refresh(self, app: str, token: str) -> bool:
        return _lock.refresh(self.lock_path, token)

    def release(self, app: str, token: str, force: bool = False) -> dict[str, t.Any]:
        return _lock.release(self.lock_path, token, force)

    def read_lock(self, app: str) -> dict[str, t.Any] | None:
        return _lock.read_lock(self.lock_path)

    # -- documents
    def _document_path(self, key: str) -> str:
        if check_key(key) in FILE_NAMES:
            return self._under(FILE_NAMES[key])
        return self._under("documents", f"{key}.json")

    def get_document(self, app: str, key: str) -> t.Any:
        return _read_json(self._document_path(key))

    def put_document(self, app: str, key: str, value: t.Any) -> None:
        _write_json(self._document_path(key), value)

    def delete_document(self, app: str, key: str) -> bool:
        try:
            os.unlink(self._document_path(key))
            return True
        except FileNotFoundError:
            return False

    # -- journal
    def _run_path(self, token: str) -> str:
        return self._under("runs", f"{check_key(token)}.json")

    def journal_start(self, app: str, token: str, fields: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        existing = self.journal_read(token)
        if existing is not None:
            return existing
        now = _lock.format_time(_lock.utc_now())
        record: dict[str, t.Any] = {"token": token, "app": app, "procedure": "unknown", "maintenance_before": None,
                                    "safety_backup": None, "step": "started", "details": {}, "started_at": now,
                                    "updated_at": now, "finished_at": None, "outcome": None}
        record.update({key: value for key, value in fields.items() if key in JOURNAL_FIELDS and value is not None})
        _write_json(self._run_path(token), record)
        return record

    def _change(self, token: str, fields: t.Mapping[str, t.Any], finish: str | None) -> dict[str, t.Any] | None:
        record = self.journal_read(token)
        if record is None:
            return None
        for key, value in fields.items():
            if key == "details" and isinstance(value, dict):
                record["details"] = dict(record.get("details") or {}, **value)
            elif key in JOURNAL_FIELDS and value is not None:
                record[key] = value
        record["updated_at"] = _lock.format_time(_lock.utc_now())
        if finish is not None:
            record["finished_at"], record["outcome"] = record["updated_at"], finish
        _write_json(self._run_path(token), record)
        return record

    def journal_update(self, token: str, fields: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
        return self._change(token, fields, None)

    def journal_finish(self, token: str, outcome: str, fields: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
        return self._change(token, fields, outcome)

    def journal_read(self, token: str) -> dict[str, t.Any] | None:
        return _read_json(self._run_path(token))

    def journal_latest_unfinished(self, app: str, exclude_token: str | None = None) -> dict[str, t.Any] | None:
        folder = self._under("runs")
        try:
            names = [name for name in os.listdir(folder) if name.endswith(".json")]
        except FileNotFoundError:
            return None
        records = [_read_json(os.path.join(folder, name)) for name in names]
        unfinished = [record for record in records if isinstance(record, dict) and record.get("app") == app
                      and record.get("finished_at") is None and record.get("token") != exclude_token]
        return max(unfinished, key=lambda record: (record.get("started_at") or "", record.get("token") or ""),
                   default=None)
