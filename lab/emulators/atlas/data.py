"""The clusters' documents: dumps in mongodump's layout, restores, and the point-in-time journal.

A snapshot is a folder ``<db>/<collection>.bson`` (the documents' raw BSON, concatenated) plus
``<collection>.metadata.json``: the layout the real ``mongodump --out`` writes and the real
``mongorestore`` reads. The journal samples every collection once per ``interval`` seconds and
stores a compressed copy of each collection whose bytes changed, so the state at any second in
the restore window is the latest sample at or before it (granularity: the interval, 1 s).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient

SYSTEM_DATABASES = frozenset({"admin", "local", "config"})
RAW = CodecOptions(document_class=RawBSONDocument)


def client_for(port: int, timeout_ms: int = 3000) -> MongoClient:
    return MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=timeout_ms,
                       connectTimeoutMS=timeout_ms, directConnection=True)


def user_databases(client: MongoClient) -> list[str]:
    return sorted(name for name in client.list_database_names() if name not in SYSTEM_DATABASES)


def collection_bytes(client: MongoClient, database: str, collection: str) -> bytes:
    """Every document's raw BSON, in ``_id`` order so equal contents give equal bytes."""
    handle = client[database].get_collection(collection, codec_options=RAW)
    documents = list(handle.find({}))
    documents.sort(key=lambda doc: bson.encode({"k": doc.get("_id")}))
    return b"".join(doc.raw for doc in documents)


def iter_collections(client: MongoClient) -> Iterator[tuple[str, str]]:
    for database in user_databases(client):
        for collection in sorted(client[database].list_collection_names()):
            if not collection.startswith("system."):
                yield database, collection


def index_specs(client: MongoClient, database: str, collection: str) -> list[dict[str, Any]]:
    specs = []
    for name, info in client[database][collection].index_information().items():
        spec = {"v": 2, "key": dict(info["key"]), "name": name}
        if info.get("unique"):
            spec["unique"] = True
        specs.append(spec)
    if not any(spec["name"] == "_id_" for spec in specs):
        specs.insert(0, {"v": 2, "key": {"_id": 1}, "name": "_id_"})
    return specs


def metadata_json(collection: str, indexes: list[dict[str, Any]]) -> str:
    def canonical_key(key: dict[str, Any]) -> dict[str, Any]:
        return {k: {"$numberInt": str(int(v))} if isinstance(v, int) else v for k, v in key.items()}

    canonical = [{"v": {"$numberInt": "2"}, "key": canonical_key(spec["key"]), "name": spec["name"],
                  **({"unique": True} if spec.get("unique") else {})} for spec in indexes]
    return json.dumps({"indexes": canonical, "uuid": "", "collectionName": collection, "type": "collection"})


def dump_cluster(port: int, target: Path) -> dict[str, int]:
    """Write every user collection to ``target`` in mongodump's layout; returns document counts."""
    staging = target.with_name(target.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    counts: dict[str, int] = {}
    with client_for(port) as client:
        for database, collection in iter_collections(client):
            folder = staging / database
            folder.mkdir(exist_ok=True)
            raw = collection_bytes(client, database, collection)
            (folder / f"{collection}.bson").write_bytes(raw)
            (folder / f"{collection}.metadata.json").write_text(
                metadata_json(collection, index_specs(client, database, collection)))
            counts[f"{database}.{collection}"] = len(bson.decode_all(raw))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return counts


def read_dump(folder: Path) -> dict[str, tuple[bytes, list[dict[str, Any]]]]:
    """``{"db.coll": (raw BSON, index specs)}`` from a dump folder."""
    contents: dict[str, tuple[bytes, list[dict[str, Any]]]] = {}
    for data_file in sorted(folder.glob("*/*.bson")):
        database, collection = data_file.parent.name, data_file.name[:-len(".bson")]
        meta_file = data_file.with_name(f"{collection}.metadata.json")
        indexes = []
        if meta_file.exists():
            for spec in json.loads(meta_file.read_text()).get("indexes", []):
                key = {k: int(v["$numberInt"]) if isinstance(v, dict) and "$numberInt" in v else v
                       for k, v in spec["key"].items()}
                indexes.append({"key": key, "name": spec["name"], "unique": bool(spec.get("unique"))})
        contents[f"{database}.{collection}"] = (data_file.read_bytes(), indexes)
    return contents


def wipe_cluster(client: MongoClient) -> None:
    """An automated restore replaces the whole cluster: every user database goes first."""
    for database in user_databases(client):
        client.drop_database(database)


def load_collections(client: MongoClient, contents: dict[str, tuple[bytes, list[dict[str, Any]]]]) -> dict[str, int]:
    counts = {}
    for namespace, (raw, indexes) in contents.items():
        database, _, collection = namespace.partition(".")
        handle = client[database][collection]
        documents = bson.decode_all(raw)
        if documents:
            handle.insert_many(documents, ordered=True)
        else:
            client[database].create_collection(collection)
        for spec in indexes:
            if spec["name"] != "_id_":
                handle.create_index(list(spec["key"].items()), name=spec["name"], unique=spec.get("unique", False))
        counts[namespace] = len(documents)
    return counts


def restore_cluster(port: int, contents: dict[str, tuple[bytes, list[dict[str, Any]]]]) -> dict[str, int]:
    with client_for(port) as client:
        wipe_cluster(client)
        return load_collections(client, contents)


class Journal:
    """Samples the clusters' collections and keeps each changed version with its time."""

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], str | None] = {}
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS versions (cluster TEXT, ns TEXT, ts REAL, digest TEXT, "
                         "data BLOB, indexes TEXT)")
        self._db.execute("CREATE INDEX IF NOT EXISTS versions_at ON versions (cluster, ns, ts)")
        for cluster, ns, digest in self._db.execute(
                "SELECT cluster, ns, digest FROM versions v WHERE ts = (SELECT MAX(ts) FROM versions w "
                "WHERE w.cluster = v.cluster AND w.ns = v.ns)"):
            self._last[(cluster, ns)] = digest

    def sample(self, cluster: str, port: int, now: float | None = None) -> int:
        """Record the collections that changed since the last sample; returns how many did."""
        now = time.time() if now is None else now
        changed = 0
        with client_for(port, timeout_ms=1000) as client:
            seen = set()
            for database, collection in iter_collections(client):
                ns = f"{database}.{collection}"
                seen.add(ns)
                raw = collection_bytes(client, database, collection)
                digest = hashlib.sha256(raw).hexdigest()
                if self._last.get((cluster, ns)) == digest:
                    continue
                indexes = json.dumps([{"key": s["key"], "name": s["name"], "unique": s.get("unique", False)}
                                      for s in index_specs(client, database, collection)])
                self._record(cluster, ns, now, digest, zlib.compress(raw), indexes)
                changed += 1
        for (known_cluster, ns), digest in list(self._last.items()):
            if known_cluster == cluster and ns not in seen and digest is not None:
                self._record(cluster, ns, now, None, None, None)  # the collection was dropped
                changed += 1
        return changed

    def _record(self, cluster: str, ns: str, ts: float, digest: str | None, data: bytes | None,
                indexes: str | None) -> None:
        with self._lock:
            self._db.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?)", (cluster, ns, ts, digest, data, indexes))
            self._last[(cluster, ns)] = digest

    def state_at(self, cluster: str, when: float) -> dict[str, tuple[bytes, list[dict[str, Any]]]]:
        """Every collection as it was at ``when`` (the latest sample at or before it)."""
        rows = self._db.execute(
            "SELECT ns, data, indexes FROM versions v WHERE cluster = ? AND ts = (SELECT MAX(ts) FROM versions w "
            "WHERE w.cluster = v.cluster AND w.ns = v.ns AND w.ts <= ?)", (cluster, when)).fetchall()
        return {ns: (zlib.decompress(data), json.loads(indexes)) for ns, data, indexes in rows if data is not None}

    def earliest(self, cluster: str) -> float | None:
        row = self._db.execute("SELECT MIN(ts) FROM versions WHERE cluster = ?", (cluster,)).fetchone()
        return row[0] if row else None

    def prune(self, cluster: str, before: float) -> None:
        """Drop versions older than the restore window, keeping each collection's last one before it."""
        with self._lock:
            self._db.execute(
                "DELETE FROM versions WHERE cluster = ? AND ts < ? AND ts < (SELECT MAX(ts) FROM versions w "
                "WHERE w.cluster = versions.cluster AND w.ns = versions.ns AND w.ts < ?)", (cluster, before, before))

    def forget(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM versions")
            self._last.clear()
