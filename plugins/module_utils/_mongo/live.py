# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Document counts and content fingerprints of live collections, through pymongo.

A fingerprint is computed exactly as ``archive`` computes it from a dump: the server hands back
each document's BSON bytes (RawBSONDocument), the bytes mongodump would write.
"""

from __future__ import annotations

import contextlib
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._mongo.archive import combine, fingerprint_text
from ansible_collections.appops.runbooks.plugins.module_utils._mongo.client import PyMongoError, open_client

SERVER_SELECTION_MS = 10000


class LiveError(Exception):
    """The cluster cannot be reached or answered with an error."""


@contextlib.contextmanager
def connect(uri: str) -> t.Iterator[t.Any]:
    from bson.raw_bson import RawBSONDocument

    client = open_client(uri, SERVER_SELECTION_MS, document_class=RawBSONDocument)
    try:
        yield client
    except PyMongoError as error:
        raise LiveError(f"MongoDB: {error}") from error
    finally:
        client.close()


def split_namespace(name: str) -> tuple[str, str]:
    database, _dot, collection = name.partition(".")
    return database, collection


def server_version(client: t.Any) -> str:
    return str(client.admin.command("buildInfo").get("version", "unknown"))


def collection_names(client: t.Any, database: str) -> list[str]:
    """The database's collections as namespaces, system collections left out."""
    return sorted(f"{database}.{name}" for name in client[database].list_collection_names()
                  if not name.startswith("system."))


def counts(client: t.Any, namespaces: t.Iterable[str]) -> dict[str, int]:
    result = {}
    for name in namespaces:
        database, collection = split_namespace(name)
        result[name] = int(client[database][collection].count_documents({}))
    return result


def estimated_counts(client: t.Any, namespaces: t.Iterable[str]) -> dict[str, int]:
    """Counts from the collections' metadata (the count command): no scan, for figures shown only."""
    result = {}
    for name in namespaces:
        database, collection = split_namespace(name)
        result[name] = int(client[database][collection].estimated_document_count())
    return result


def fingerprints(client: t.Any, namespaces: t.Iterable[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Counts and fingerprints from one read of each collection."""
    found_counts, found = {}, {}
    for name in namespaces:
        database, collection = split_namespace(name)
        total, value = 0, 0
        for document in client[database][collection].find({}):
            total += 1
            value = combine(value, document.raw)
        found_counts[name], found[name] = total, fingerprint_text(value)
    return found_counts, found
