"""What a real server says about indexes, which nx-27017 does not: the launcher's index catalog.

nx-27017 0.8.1 keeps an index under a name of its own (``idx_<collection>_<fields>``), forgets the
directions of its keys and the ``sparse`` and ``partialFilterExpression`` options, does not refuse
an index whose name is taken by another spec, and has no ``$indexStats`` stage. Tools and modules
that manage indexes as desired state (``createIndex``/``dropIndex`` by name, fixzit's runbook)
need all of that, so the launcher keeps a catalog beside the data (``index-catalog.json``):

* ``createIndexes`` records each spec as given (name, ordered key, options) and creates nx's own
  index underneath; an existing name with another spec is refused as a real server refuses it
  (``IndexOptionsConflict``, code 85, or ``IndexKeySpecsConflict``, code 86);
* ``listIndexes`` answers from the catalog (plus indexes nx made before the catalog existed);
* ``dropIndexes`` by catalog name drops nx's index underneath; dropping a collection or a
  database forgets its entries;
* ``$indexStats`` reports per index ``accesses.ops`` and ``accesses.since``. A real server counts
  the queries its planner answered with an index; here a ``find``, ``count``, ``distinct``,
  ``aggregate`` (a leading ``$match``), ``update`` or ``delete`` counts for each index whose first
  key field the filter names. As on a real server the counters start at zero when the server starts.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

OPTIONS = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression", "collation", "hidden")
FILTER_COMMANDS = {"find": "filter", "count": "query", "distinct": "query"}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class IndexCatalog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.started = dt.datetime.now(dt.timezone.utc)
        self.ops: dict[tuple[str, str, str], int] = {}
        self.since: dict[tuple[str, str, str], dt.datetime] = {}
        self.entries: dict[str, dict[str, dict[str, dict[str, Any]]]] = (
            json.loads(path.read_text()) if path.exists() else {})

    def save(self) -> None:
        staged = self.path.with_suffix(".tmp")
        staged.write_text(json.dumps(self.entries))
        staged.replace(self.path)

    def of(self, database: str, collection: str) -> dict[str, dict[str, Any]]:
        return self.entries.get(database, {}).get(collection, {})

    # ---- commands -----------------------------------------------------------------------------
    def create(self, database: str, collection: str, specs: list[dict[str, Any]],
               create_below: Any) -> dict[str, Any] | None:
        """Record the specs; None when the original command should run, else an error answer."""
        with self.lock:
            known = self.of(database, collection)
            fresh = []
            for spec in specs:
                key = [[field, direction] for field, direction in dict(spec.get("key") or {}).items()]
                wanted = {"key": key, **{k: _jsonable(spec[k]) for k in OPTIONS if k in spec}}
                name = str(spec.get("name") or "_".join(f"{f}_{d}" for f, d in key))
                existing = known.get(name)
                if existing is not None:
                    same = {k: v for k, v in existing.items() if k != "_nx"} == wanted
                    if same:
                        continue
                    code, label = (86, "IndexKeySpecsConflict") if existing["key"] != key else (85, "IndexOptionsConflict")
                    return {"ok": 0, "code": code, "codeName": label,
                            "errmsg": f"An existing index has the same name as the requested index. When index names "
                                      f"are not specified, they are auto generated and can cause conflicts. Requested "
                                      f"index: {dict(wanted, name=name)}, existing index: "
                                      f"{dict({k: v for k, v in existing.items() if k != '_nx'}, name=name)}"}
                clash = next((n for n, e in known.items() if e["key"] == key and n != name), None)
                if clash is not None:
                    return {"ok": 0, "code": 85, "codeName": "IndexOptionsConflict",
                            "errmsg": f"Index already exists with a different name: {clash}"}
                fresh.append((name, wanted))
            for name, wanted in fresh:
                wanted["_nx"] = create_below(wanted)
                self.entries.setdefault(database, {}).setdefault(collection, {})[name] = wanted
                self.since[(database, collection, name)] = dt.datetime.now(dt.timezone.utc)
            self.save()
            return None

    def listed(self, database: str, collection: str, below: list[dict[str, Any]]) -> list[dict[str, Any]]:
        known = self.of(database, collection)
        underneath = {entry.get("_nx") for entry in known.values()}
        listed = [{"v": 2, "key": {"_id": 1}, "name": "_id_"}]
        for name, entry in known.items():
            listed.append({"v": 2, "key": dict(entry["key"]), "name": name,
                           **{k: v for k, v in entry.items() if k in OPTIONS}})
        listed += [index for index in below if index.get("name") not in underneath and index.get("name") != "_id_"]
        return listed

    def forget(self, database: str, collection: str | None, name: str | None = None) -> list[str]:
        """Drop catalog entries; the names of nx's indexes underneath them."""
        with self.lock:
            if collection is None:
                dropped = [e.get("_nx") for c in self.entries.pop(database, {}).values() for e in c.values()]
            elif name is None:
                dropped = [e.get("_nx") for e in self.entries.get(database, {}).pop(collection, {}).values()]
            else:
                entry = self.entries.get(database, {}).get(collection, {}).pop(name, None)
                dropped = [entry.get("_nx")] if entry else []
            self.save()
            return [d for d in dropped if d]

    # ---- usage --------------------------------------------------------------------------------
    def count_use(self, database: str, collection: str, query: Any) -> None:
        if not isinstance(query, dict) or not query:
            return
        fields = set(query)
        with self.lock:
            for name, entry in self.of(database, collection).items():
                if entry["key"] and entry["key"][0][0] in fields:
                    self.ops[(database, collection, name)] = self.ops.get((database, collection, name), 0) + 1

    def stats(self, database: str, collection: str, host: str) -> list[dict[str, Any]]:
        from bson.int64 import Int64

        rows = []
        for index in self.listed(database, collection, []):
            name = index["name"]
            rows.append({"name": name, "key": index["key"], "host": host,
                         "accesses": {"ops": Int64(self.ops.get((database, collection, name), 0)),
                                      "since": self.since.get((database, collection, name), self.started)},
                         "spec": index})
        return rows


def command_of(msg: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Any]]:
    body, payload = None, []
    for section_type, doc in msg.get("sections") or []:
        if section_type == "body":
            body = doc
        elif section_type == "payload" and isinstance(doc, dict):
            payload += doc.get("updates") or doc.get("deletes") or []
    return body, payload


def install(handler_class: Any, data_dir: Path, port: int) -> None:
    """Wrap nx-27017's command handler with the catalog (once per process)."""
    original = handler_class.handle_command
    if getattr(original, "_index_catalog", False):
        return
    catalog = IndexCatalog(data_dir / "index-catalog.json")
    host = f"127.0.0.1:{port}"

    def handle_command(self: Any, msg: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        command, payload = command_of(msg)
        if not command:
            return original(self, msg)
        database = command.get("$db", "test")
        request_id = msg["request_id"]
        verb = next(iter(command))

        def run(doc: dict[str, Any]) -> dict[str, Any]:
            sections = [("body", dict(doc, **{"$db": database}))]
            return original(self, dict(msg, sections=sections))[1]

        if verb == "createIndexes":
            collection = command["createIndexes"]

            def create_below(wanted: dict[str, Any]) -> str | None:
                before = {i["name"] for i in run({"listIndexes": collection}).get("cursor", {}).get("firstBatch", [])}
                spec = {"key": dict(wanted["key"]), **{k: v for k, v in wanted.items() if k in ("unique", "sparse",
                                                                                                  "expireAfterSeconds")}}
                run({"createIndexes": collection, "indexes": [spec]})
                after = run({"listIndexes": collection}).get("cursor", {}).get("firstBatch", [])
                return next((i["name"] for i in after if i["name"] not in before), None)

            before_count = len(catalog.listed(database, collection, []))
            refused = catalog.create(database, collection, list(command.get("indexes") or []), create_below)
            if refused is not None:
                return request_id, refused
            return request_id, {"ok": 1, "createdCollectionAutomatically": False, "numIndexesBefore": before_count,
                                "numIndexesAfter": len(catalog.listed(database, collection, []))}
        if verb in ("listIndexes", "listindexes"):
            collection = command[verb]
            request_id, answer = original(self, msg)
            if answer.get("ok"):
                below = answer.get("cursor", {}).get("firstBatch", [])
                answer["cursor"]["firstBatch"] = catalog.listed(database, collection, below)
            return request_id, answer
        if verb == "dropIndexes":
            collection, index = command["dropIndexes"], command.get("index", "*")
            if index == "*":
                catalog.forget(database, collection)
                return original(self, msg)
            if isinstance(index, str) and index in catalog.of(database, collection):
                for below in catalog.forget(database, collection, index):
                    run({"dropIndexes": collection, "index": below})
                return request_id, {"ok": 1, "nIndexesWas": len(catalog.listed(database, collection, [])) + 1}
            if isinstance(index, str) and index != "_id_":
                names = {i["name"] for i in catalog.listed(database, collection, run({"listIndexes": collection})
                                                            .get("cursor", {}).get("firstBatch", []))}
                if index not in names:
                    return request_id, {"ok": 0, "code": 27, "codeName": "IndexNotFound",
                                        "errmsg": f"index not found with name [{index}]"}
            return original(self, msg)
        if verb == "drop":
            catalog.forget(database, command["drop"])
        elif verb in ("dropDatabase", "dropdatabase"):
            catalog.forget(database, None)
        elif verb == "aggregate":
            pipeline = command.get("pipeline") or []
            if pipeline and isinstance(pipeline[0], dict) and "$indexStats" in pipeline[0]:
                rows = catalog.stats(database, command["aggregate"], host)
                return request_id, {"ok": 1, "cursor": {"id": 0, "ns": f"{database}.{command['aggregate']}",
                                                        "firstBatch": rows}}
            if pipeline and isinstance(pipeline[0], dict) and "$match" in pipeline[0]:
                catalog.count_use(database, command["aggregate"], pipeline[0]["$match"])
        elif verb in FILTER_COMMANDS:
            catalog.count_use(database, command[verb], command.get(FILTER_COMMANDS[verb]))
        elif verb in ("update", "delete"):
            for statement in list(command.get("updates") or command.get("deletes") or []) + payload:
                catalog.count_use(database, command[verb], (statement or {}).get("q"))
        return original(self, msg)

    handle_command._index_catalog = True  # type: ignore[attr-defined]
    handler_class.handle_command = handle_command
