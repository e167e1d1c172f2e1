# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Indexes as the mongodb_index modules compare and return them, and their usage (``$indexStats``)."""

from __future__ import annotations

import typing as t

try:
    from pymongo.errors import OperationFailure
except ImportError:  # pragma: no cover - MongoModule fails first where pymongo is missing
    OperationFailure = Exception  # type: ignore[assignment,misc]

OPTION_FIELDS = {"unique": "unique", "sparse": "sparse", "expire_after_seconds": "expireAfterSeconds",
                 "partial_filter_expression": "partialFilterExpression"}


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
