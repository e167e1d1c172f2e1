# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The postgres state backend: one PostgreSQL database that every controller reaches.

Tables are created on first use. A lock is a row per app with a lease: it is taken with one
INSERT ... ON CONFLICT DO UPDATE whose WHERE lets the update through only when the row is the
one this run looked at and that row's lease has expired (by the database's clock, the same for
every controller) or its holder was found gone; of any number of racing runs one gets a row
back. The heartbeat moves alive_at; a run never changes a row that does not carry its token.
"""

from __future__ import annotations

import json
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._state import (
    JOURNAL_FIELDS, StateBackend, StateError, check_key)

try:
    import psycopg2
    import psycopg2.extras
except ImportError:  # reported when the backend is used
    psycopg2 = None

APPLICATION_NAME = "appops-state"
# Any constant shared by every run: serialises the CREATE TABLEs of two first runs.
SCHEMA_LOCK_KEY = 7_140_015

SCHEMA = """
CREATE TABLE IF NOT EXISTS appops_locks (
    app           text PRIMARY KEY,
    token         text NOT NULL,
    procedure     text NOT NULL,
    holder        text NOT NULL,
    record        jsonb NOT NULL DEFAULT '{}',
    since         timestamptz NOT NULL,
    alive_at      timestamptz NOT NULL,
    lease_seconds integer NOT NULL
);
CREATE TABLE IF NOT EXISTS appops_documents (
    app        text NOT NULL,
    key        text NOT NULL,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app, key)
);
CREATE TABLE IF NOT EXISTS appops_runs (
    token              text PRIMARY KEY,
    app                text NOT NULL,
    procedure          text NOT NULL,
    maintenance_before jsonb,
    safety_backup      text,
    step               text NOT NULL,
    details            jsonb NOT NULL DEFAULT '{}',
    started_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at        timestamptz,
    outcome            text
);
CREATE INDEX IF NOT EXISTS appops_runs_unfinished ON appops_runs (app, started_at) WHERE finished_at IS NULL;
"""


def _utc(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


LOCK_COLUMNS = (f"l.app, l.token, l.procedure, l.holder, l.record, {_utc('l.since')} AS since, "
                f"{_utc('l.alive_at')} AS alive_at, l.lease_seconds AS lease, "
                "extract(epoch FROM clock_timestamp() - l.alive_at)::float AS age")

# One statement takes a free lock, or replaces exactly the row this run judged expired or dead.
ACQUIRE = f"""
INSERT INTO appops_locks AS l (app, token, procedure, holder, record, since, alive_at, lease_seconds)
VALUES (%(app)s, %(token)s, %(procedure)s, %(holder)s, %(record)s, clock_timestamp(), clock_timestamp(), %(lease)s)
ON CONFLICT (app) DO UPDATE
   SET token = EXCLUDED.token, procedure = EXCLUDED.procedure, holder = EXCLUDED.holder,
       record = EXCLUDED.record, since = EXCLUDED.since, alive_at = EXCLUDED.alive_at,
       lease_seconds = EXCLUDED.lease_seconds
 WHERE l.token = %(seen_token)s
   AND (%(seen_dead)s
        OR l.alive_at + make_interval(secs => least(l.lease_seconds, %(max_age)s)) < clock_timestamp())
RETURNING {LOCK_COLUMNS}
"""

RUN_COLUMNS = (f"token, app, procedure, maintenance_before, safety_backup, step, details, "
               f"{_utc('started_at')} AS started_at, {_utc('updated_at')} AS updated_at, "
               f"{_utc('finished_at')} AS finished_at, outcome")


def _lock_row(row: t.Mapping[str, t.Any] | None) -> dict[str, t.Any] | None:
    if row is None:
        return None
    lock = dict(row["record"] or {})
    lock.update({key: row[key] for key in ("app", "token", "procedure", "holder", "since", "alive_at", "lease")})
    return lock


class PostgresBackend(StateBackend):
    name = "postgres"

    def __init__(self, dsn: str) -> None:
        if psycopg2 is None:
            raise StateError("the postgres state backend needs the psycopg2 Python package on the host running the module")
        try:
            self.connection = psycopg2.connect(dsn, application_name=APPLICATION_NAME, connect_timeout=10)
        except psycopg2.Error as error:
            # The DSN may hold a password: name the failure, never the DSN.
            raise StateError(f"cannot connect to the state database: {str(error).strip()}") from None
        self.connection.autocommit = True
        self._create_tables()

    def close(self) -> None:
        self.connection.close()

    def _query(self, sql: str, args: t.Mapping[str, t.Any] | tuple[t.Any, ...] = ()) -> list[dict[str, t.Any]]:
        try:
            with self.connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                cursor.execute(sql, args)
                return [dict(row) for row in cursor.fetchall()] if cursor.description else []
        except psycopg2.Error as error:
            raise StateError(f"state database: {str(error).strip()}") from None

    def _one(self, sql: str, args: t.Mapping[str, t.Any] | tuple[t.Any, ...] = ()) -> dict[str, t.Any] | None:
        rows = self._query(sql, args)
        return rows[0] if rows else None

    def _create_tables(self) -> None:
        if self._one("SELECT to_regclass('appops_runs') IS NOT NULL AS ready")["ready"]:  # type: ignore[index]
            return
        self.connection.autocommit = False
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
                cursor.execute(SCHEMA)
            self.connection.commit()
        except psycopg2.Error as error:
            self.connection.rollback()
            raise StateError(f"cannot create the state tables: {str(error).strip()}") from None
        finally:
            self.connection.autocommit = True

    # -- lock
    def read_lock(self, app: str) -> dict[str, t.Any] | None:
        return _lock_row(self._one(f"SELECT {LOCK_COLUMNS} FROM appops_locks l WHERE l.app = %s", (app,)))

    def _seen(self, app: str) -> tuple[dict[str, t.Any] | None, float]:
        row = self._one(f"SELECT {LOCK_COLUMNS} FROM appops_locks l WHERE l.app = %s", (app,))
        return _lock_row(row), (row["age"] if row else 0.0)

    def acquire(self, app: str, procedure: str, holder: str, token: str, max_age: float,
                controller: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
        record = {"controller": dict(controller)} if controller else {}
        for _attempt in range(5):
            seen, age = self._seen(app)
            reason, dead = None, False
            if seen is not None:
                if token and seen["token"] == token:
                    return {"changed": False, "lock": seen, "reentrant": True, "stale_taken_over": None,
                            "taken_over_from": None, "taken_over_reason": None}
                lease = _lock.effective_lease(seen, max_age)
                reason = _lock.dead_holder_reason(seen.get("controller"))
                dead = reason is not None
                if age > lease:
                    reason = f"its lease of {int(lease)} s expired (last alive {int(age)} s ago)"
                if reason is None:
                    raise _lock.LockHeld(_lock.describe(app, seen), seen)
            taken = _lock_row(self._one(ACQUIRE, {
                "app": app, "token": token, "procedure": procedure, "holder": holder,
                "record": json.dumps(record), "lease": int(max_age), "max_age": float(max_age),
                "seen_token": seen["token"] if seen else None,
                "seen_dead": dead,
            }))
            if taken is not None:
                return _lock.taken_result(taken, seen, reason)
            # Another run was first (or the holder beat meanwhile): judge the lock as it is now.
        seen, _age = self._seen(app)
        raise _lock.LockHeld(_lock.describe(app, seen or {}), seen or {})

    def refresh(self, app: str, token: str) -> bool:
        return bool(token) and self._one(
            "UPDATE appops_locks SET alive_at = clock_timestamp() WHERE token = %s RETURNING app", (token,)) is not None

    def release(self, app: str, token: str, force: bool = False) -> dict[str, t.Any]:
        seen = self.read_lock(app)
        if seen is None:
            return {"changed": False, "released": None, "held_by_other": None}
        if not (force or (token and seen["token"] == token)):
            return {"changed": False, "released": None, "held_by_other": seen}
        gone = self._one("DELETE FROM appops_locks WHERE app = %s AND token = %s RETURNING app", (app, seen["token"]))
        if gone is None:  # taken over meanwhile: not ours to remove any more
            return {"changed": False, "released": None, "held_by_other": self.read_lock(app)}
        return {"changed": True, "released": seen, "held_by_other": None}

    # -- documents
    def get_document(self, app: str, key: str) -> t.Any:
        row = self._one("SELECT value FROM appops_documents WHERE app = %s AND key = %s", (app, check_key(key)))
        return None if row is None else row["value"]

    def put_document(self, app: str, key: str, value: t.Any) -> None:
        self._query("INSERT INTO appops_documents (app, key, value) VALUES (%s, %s, %s) "
                    "ON CONFLICT (app, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                    (app, check_key(key), json.dumps(value)))

    def delete_document(self, app: str, key: str) -> bool:
        return self._one("DELETE FROM appops_documents WHERE app = %s AND key = %s RETURNING key",
                         (app, check_key(key))) is not None

    # -- journal
    def journal_start(self, app: str, token: str, fields: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        self._query(
            "INSERT INTO appops_runs (token, app, procedure, maintenance_before, safety_backup, step, details) "
            "VALUES (%(token)s, %(app)s, %(procedure)s, %(maintenance_before)s, %(safety_backup)s, %(step)s, "
            "%(details)s) ON CONFLICT (token) DO NOTHING",
            {"token": token, "app": app, "procedure": fields.get("procedure") or "unknown",
             "maintenance_before": _json_or_none(fields.get("maintenance_before")),
             "safety_backup": fields.get("safety_backup"), "step": fields.get("step") or "started",
             "details": json.dumps(fields.get("details") or {})})
        return t.cast(dict, self.journal_read(token))

    def _change(self, token: str, fields: t.Mapping[str, t.Any], finish: str | None) -> dict[str, t.Any] | None:
        sets, args = ["updated_at = clock_timestamp()"], {"token": token}
        for key in JOURNAL_FIELDS:
            value = fields.get(key)
            if value is None:
                continue
            if key == "details":
                sets.append("details = details || %(details)s::jsonb")
                args[key] = json.dumps(value)
            elif key == "maintenance_before":
                sets.append("maintenance_before = %(maintenance_before)s::jsonb")
                args[key] = json.dumps(value)
            else:
                sets.append(f"{key} = %({key})s")
                args[key] = value
        if finish is not None:
            sets += ["finished_at = clock_timestamp()", "outcome = %(outcome)s"]
            args["outcome"] = finish
        return self._one(f"UPDATE appops_runs SET {', '.join(sets)} WHERE token = %(token)s RETURNING {RUN_COLUMNS}",
                         args)

    def journal_update(self, token: str, fields: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
        return self._change(token, fields, None)

    def journal_finish(self, token: str, outcome: str, fields: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
        return self._change(token, fields, outcome)

    def journal_read(self, token: str) -> dict[str, t.Any] | None:
        return self._one(f"SELECT {RUN_COLUMNS} FROM appops_runs WHERE token = %s", (token,))

    def journal_latest_unfinished(self, app: str, exclude_token: str | None = None) -> dict[str, t.Any] | None:
        return self._one(f"SELECT {RUN_COLUMNS} FROM appops_runs WHERE app = %s AND finished_at IS NULL "
                         "AND token IS DISTINCT FROM %s ORDER BY started_at DESC LIMIT 1", (app, exclude_token))


def _json_or_none(value: t.Any) -> str | None:
    return None if value is None else json.dumps(value)


def heartbeat_beat(dsn: str, token: str) -> t.Callable[[], bool]:
    """A beat for _lock.Heartbeat: one connection, opened at the first beat, used by its thread only."""
    holder: dict[str, PostgresBackend] = {}

    def beat() -> bool:
        if "backend" not in holder:
            holder["backend"] = PostgresBackend(dsn)
        return holder["backend"].refresh("", token)

    return beat
