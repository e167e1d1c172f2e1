# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""MongoDB over its wire protocol for the mongodb_* modules (private): connecting, indexes, usage.

The connection string holds the database password: it is an option with ``no_log`` and its
password is added to the module's no-log values, so neither appears in output or in an error text.
"""

from __future__ import annotations

import typing as t
from urllib.parse import unquote, urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure, PyMongoError
    HAS_PYMONGO = True
    PYMONGO_IMPORT_ERROR: Exception | None = None
except ImportError as exc:  # pragma: no cover - exercised only where pymongo is missing
    HAS_PYMONGO = False
    PYMONGO_IMPORT_ERROR = exc
    PyMongoError = OperationFailure = Exception  # type: ignore[assignment,misc]

# Twin of the appops.runbooks.mongodb doc fragment: keep them in step.
MONGODB_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "uri": {"type": "str", "required": True, "no_log": True, "fallback": (env_fallback, ["MONGODB_URI"])},
    "database": {"type": "str"},
    "connect_timeout": {"type": "float", "default": 10.0},
}
OPTION_FIELDS = {"unique": "unique", "sparse": "sparse", "expire_after_seconds": "expireAfterSeconds",
                 "partial_filter_expression": "partialFilterExpression"}


def password_of(uri: str) -> str | None:
    try:
        password = urlsplit(uri).password
    except ValueError:
        return None
    return unquote(password) if password else None


def database_of(uri: str) -> str | None:
    try:
        path = urlsplit(uri).path.lstrip("/")
    except ValueError:
        return None
    return unquote(path) or None


class MongoModule:
    """AnsibleModule plus a MongoClient; every PyMongoError becomes one failure naming the step."""

    def __init__(self, argument_spec: t.Mapping[str, dict[str, t.Any]], **kwargs: t.Any) -> None:
        kwargs.setdefault("supports_check_mode", True)
        self.module = AnsibleModule(argument_spec={**MONGODB_ARGUMENT_SPEC, **argument_spec}, **kwargs)
        if not HAS_PYMONGO:
            self.module.fail_json(msg=missing_required_lib("pymongo"), exception=str(PYMONGO_IMPORT_ERROR))
        uri = self.params["uri"]
        password = password_of(uri)
        if password:
            self.module.no_log_values.add(password)
        self.database_name = self.params["database"] or database_of(uri)
        if not self.database_name:
            self.module.fail_json(msg="name the database: set database, or put it in the URI (mongodb://host/db)")
        self.operation = "connecting"
        timeout_ms = int(self.params["connect_timeout"] * 1000)
        self.client: t.Any = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)

    @property
    def params(self) -> dict[str, t.Any]:
        return self.module.params

    @property
    def database(self) -> t.Any:
        return self.client[self.database_name]

    def doing(self, operation: str) -> None:
        self.operation = operation

    def exit(self, changed: bool, before: t.Any = None, after: t.Any = None, **result: t.Any) -> t.NoReturn:
        if self.module._diff and (before is not None or after is not None):
            result["diff"] = {"before": before, "after": after}
        self.module.exit_json(changed=changed, **result)

    def fail(self, msg: str, **result: t.Any) -> t.NoReturn:
        self.module.fail_json(msg=msg, **result)

    def run(self, body: t.Callable[[MongoModule], None]) -> None:
        try:
            body(self)
        except PyMongoError as error:
            self.fail(f"MongoDB database {self.database_name!r}: {self.operation} failed: {error}",
                      error_code=getattr(error, "code", None))
        finally:
            self.client.close()


# -- indexes --------------------------------------------------------------------------------------

def direction(value: t.Any) -> t.Any:
    """1, -1, or an index type (``text``, ``2dsphere``, ``hashed``); numbers as ints."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    try:
        return int(float(text))
    except ValueError:
        return text


def generated_name(keys: list[list[t.Any]]) -> str:
    """The name MongoDB gives an index when none is given: ``field_direction`` joined by ``_``."""
    return "_".join(f"{field}_{way}" for field, way in keys)


def index_view(spec: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """An index as the modules compare and return it: name, ordered keys, options (defaults filled in)."""
    keys = [[field, direction(way)] for field, way in dict(spec.get("key") or {}).items()]
    view: dict[str, t.Any] = {"name": spec.get("name"), "keys": keys}
    view["unique"] = bool(spec.get("unique", False))
    view["sparse"] = bool(spec.get("sparse", False))
    view["expire_after_seconds"] = spec.get("expireAfterSeconds")
    view["partial_filter_expression"] = spec.get("partialFilterExpression")
    return view


def indexes_of(collection: t.Any) -> dict[str, dict[str, t.Any]]:
    return {spec["name"]: index_view(spec) for spec in collection.list_indexes()}


def usage_of(collection: t.Any) -> dict[str, dict[str, t.Any]] | None:
    """``$indexStats`` per index name (ops since the server counted), or None where it is not available."""
    try:
        rows = list(collection.aggregate([{"$indexStats": {}}]))
    except OperationFailure:
        return None
    usage = {}
    for row in rows:
        accesses = row.get("accesses") or {}
        since = accesses.get("since")
        usage[row["name"]] = {"ops": int(accesses.get("ops") or 0),
                              "since": since.isoformat() if hasattr(since, "isoformat") else since}
    return usage
