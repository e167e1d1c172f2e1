"""The secondary store: an append-only audit trail in a SQLite file.

A connection is opened per operation so that a restore which atomically replaces the file is
picked up at once; the rollback journal (not WAL) keeps the store a single file.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from typing import Any

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    entity      TEXT    NOT NULL,
    entity_id   INTEGER,
    detail      TEXT
);
"""


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.executescript(SCHEMA_SQL)
    return conn


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ensure_schema(path: str) -> None:
    with closing(_connect(path)):
        pass


def record(path: str, action: str, entity: str, entity_id: int | None,
           detail: dict[str, Any] | None = None) -> int:
    """Append one event and return its id."""
    with closing(_connect(path)) as conn:
        cur = conn.execute(
            "INSERT INTO audit_events (occurred_at, action, entity, entity_id, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            (utc_now(), action, entity, entity_id, json.dumps(detail or {}, sort_keys=True)),
        )
        return int(cur.lastrowid or 0)


def record_many(path: str, rows: list[tuple[str, str, str, int | None, str]]) -> None:
    """Insert prepared (occurred_at, action, entity, entity_id, detail) rows in one transaction."""
    with closing(_connect(path)) as conn:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO audit_events (occurred_at, action, entity, entity_id, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("COMMIT")


def is_healthy(path: str) -> bool:
    try:
        with closing(_connect(path)) as conn:
            conn.execute("SELECT count(*) FROM audit_events LIMIT 1").fetchone()
        return True
    except sqlite3.Error:
        return False
