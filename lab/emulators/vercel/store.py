"""The emulator's state in SQLite: one table of JSON documents per kind, written through."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

KINDS = ("project", "deployment", "env", "alias")


class Store:
    """Documents by kind and id, kept in memory for reads and in SQLite for restarts."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        # A lab file: durability traded for speed (the quota test creates a hundred deployments).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE IF NOT EXISTS docs (kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,"
                         " body TEXT NOT NULL, PRIMARY KEY (kind, id))")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._lock = threading.Lock()
        self.docs: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self._seq = 0
        for kind, ident, seq, body in self._db.execute("SELECT kind, id, seq, body FROM docs ORDER BY seq"):
            self.docs.setdefault(kind, {})[ident] = json.loads(body)
            self._seq = max(self._seq, seq)

    def empty(self) -> bool:
        return not any(self.docs.values())

    def put(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            self.docs[kind][doc["id"]] = doc
            self._db.execute("INSERT INTO docs (kind, id, seq, body) VALUES (?, ?, ?, ?) ON CONFLICT (kind, id) DO "
                             "UPDATE SET body = excluded.body", (kind, doc["id"], self._seq, json.dumps(doc)))
        return doc

    def delete(self, kind: str, ident: str) -> None:
        with self._lock:
            self.docs[kind].pop(ident, None)
            self._db.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, ident))

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM docs")
            self.docs = {kind: {} for kind in KINDS}

    def all(self, kind: str) -> list[dict[str, Any]]:
        return list(self.docs[kind].values())
