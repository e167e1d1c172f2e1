"""The emulator's state in SQLite (``<lab>/atlas/state.db``): JSON documents by kind and id.

Every change is written through, so a restarted emulator finds its groups, clusters, snapshots,
restore jobs, access list entries and OAuth tokens as it left them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS objects (kind TEXT, id TEXT, parent TEXT, seq INTEGER, "
                         "data TEXT, PRIMARY KEY (kind, id))")
        self.lock = threading.RLock()

    def put(self, kind: str, ident: str, data: dict[str, Any], parent: str = "") -> dict[str, Any]:
        with self.lock:
            row = self._db.execute("SELECT seq FROM objects WHERE kind = ? AND id = ?", (kind, ident)).fetchone()
            seq = row[0] if row else (self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM objects").fetchone()[0])
            self._db.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)",
                             (kind, ident, parent, seq, json.dumps(data)))
        return data

    def get(self, kind: str, ident: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._db.execute("SELECT data FROM objects WHERE kind = ? AND id = ?", (kind, ident)).fetchone()
        return json.loads(row[0]) if row else None

    def list(self, kind: str, parent: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            if parent is None:
                rows = self._db.execute("SELECT data FROM objects WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
            else:
                rows = self._db.execute("SELECT data FROM objects WHERE kind = ? AND parent = ? ORDER BY seq",
                                        (kind, parent)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def delete(self, kind: str, ident: str) -> bool:
        with self.lock:
            return self._db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, ident)).rowcount > 0

    def clear(self) -> None:
        with self.lock:
            self._db.execute("DELETE FROM objects")

    def empty(self) -> bool:
        with self.lock:
            return self._db.execute("SELECT COUNT(*) FROM objects").fetchone()[0] == 0
