# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules do with the engine: dump and verify, compare, restore and count."""

from __future__ import annotations

import os
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _backup
from ansible_collections.appops.runbooks.plugins.module_utils._mongo import archive as _archive
from ansible_collections.appops.runbooks.plugins.module_utils._mongo import live as _live
from ansible_collections.appops.runbooks.plugins.module_utils._mongo.tools import Tools


class ProcedureError(Exception):
    """A dump or restore that must not be reported as done; the message says why."""


def archive_facts(path: str, summary: _archive.ArchiveSummary) -> dict[str, t.Any]:
    return {
        "row_counts": summary.counts,
        "fingerprints": summary.fingerprints,
        "indexes": summary.indexes(),
        "size": os.path.getsize(path),
        "sha256": _backup.sha256_file(path),
        "verification": {"archive_read_back": True, "crc64": "ok", "namespaces": len(summary.namespaces),
                         "documents": sum(summary.counts.values()), "archive_format": summary.format_version},
        "archive_tool_version": summary.tool_version,
    }


def excluded_collections(live_namespaces: t.Sequence[str], wanted: t.Sequence[str]) -> list[str]:
    """The collections mongodump leaves out so that only the wanted namespaces are dumped."""
    missing = sorted(set(wanted) - set(live_namespaces))
    if missing:
        raise ProcedureError(f"no such collection: {', '.join(missing)} (the database has {', '.join(live_namespaces) or 'none'})")
    return [name.partition(".")[2] for name in live_namespaces if name not in set(wanted)]


def dump(tools: Tools, uri: str, database: str, dest: str, collections: t.Sequence[str],
         counts_from_live: bool) -> dict[str, t.Any]:
    """mongodump --archive --gzip to a 0600 file beside dest, renamed over it once read back whole."""
    with _live.connect(uri) as client:
        version = _live.server_version(client)
        present = _live.collection_names(client, database)
    partial = f"{dest}.partial"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(descriptor)
    try:
        tools.dump(uri, database, partial, excluded_collections(present, collections) if collections else ())
        summary = _archive.read_archive(partial)
        os.chmod(partial, 0o600)
        os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    facts = archive_facts(dest, summary)
    facts["row_counts_from"] = "archive"
    if counts_from_live:
        # Nothing writes (the restore's safety backup in maintenance): the live counts are the dump's.
        with _live.connect(uri) as client:
            facts["live_row_counts"] = _live.counts(client, summary.counts)
        if facts["live_row_counts"] != facts["row_counts"]:
            raise ProcedureError(f"{database}: the archive holds {facts['row_counts']} documents but the live "
                                 f"collections {facts['live_row_counts']}: something wrote during the dump")
    facts["server_version"] = version
    return facts


def read_verified(src: str, sha256: str | None) -> _archive.ArchiveSummary:
    if not os.path.isfile(src):
        raise ProcedureError(f"archive {src} does not exist")
    if sha256 and _backup.sha256_file(src) != sha256:
        raise ProcedureError(f"archive {src} does not match its sha256 {sha256}: the backup is damaged")
    # With the manifest's sha256 matching, these are the bytes the backup verified whole (CRC-64
    # included) when it was taken: the CRC, the slow part in Python, need not be computed again.
    return _archive.read_archive(src, check_crc=not sha256)


def selected_namespaces(summary: _archive.ArchiveSummary, wanted: t.Sequence[str]) -> list[str]:
    """The namespaces to restore: the wanted ones (each must be in the archive), else all."""
    names = sorted(summary.namespaces)
    if not wanted:
        return names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise ProcedureError(f"the archive holds no {', '.join(unknown)}; it holds {', '.join(names)}")
    return sorted(set(wanted))


def compare(uri: str, summary: _archive.ArchiveSummary, namespaces: t.Sequence[str]) -> dict[str, t.Any]:
    """Which of the namespaces hold other documents than the archive (content, not only counts)."""
    with _live.connect(uri) as client:
        live_counts, live_prints = _live.fingerprints(client, namespaces)
    differing = [name for name in namespaces if live_prints[name] != summary.fingerprints[name]]
    return {"differing": differing, "live_row_counts": live_counts}


def plan(uri: str, summary: _archive.ArchiveSummary, namespaces: t.Sequence[str], label: str,
         compare_content: bool = True) -> dict[str, t.Any]:
    """The verdict; without compare_content (a forced restore) every namespace counts as differing."""
    if not compare_content:
        with _live.connect(uri) as client:
            found = {"differing": list(namespaces), "live_row_counts": _live.estimated_counts(client, namespaces)}
        return {**_backup.plan_verdict(True, f"restore of {label} forced"), **found}
    found = compare(uri, summary, namespaces)
    needs = bool(found["differing"])
    reason = (f"{', '.join(found['differing'])} differ from {label}" if needs
              else f"{', '.join(namespaces)} already hold the documents of {label}")
    return {**_backup.plan_verdict(needs, reason), **found}


def restore(tools: Tools, uri: str, src: str, summary: _archive.ArchiveSummary,
            namespaces: t.Sequence[str], drop: bool) -> dict[str, t.Any]:
    """mongorestore of the namespaces, then their counts and fingerprints against the archive."""
    tools.restore(uri, src, namespaces, drop=drop)
    with _live.connect(uri) as client:
        counts, prints = _live.fingerprints(client, namespaces)
    expected = {name: summary.counts[name] for name in namespaces}
    if counts != expected:
        mismatches = [f"{name}: {counts[name]} documents, the archive holds {expected[name]}"
                      for name in namespaces if counts[name] != expected[name]]
        raise ProcedureError(f"document counts after mongorestore differ from the archive: {'; '.join(mismatches)}")
    differing = [name for name in namespaces if prints[name] != summary.fingerprints[name]]
    if drop and differing:
        raise ProcedureError(f"after mongorestore --drop, {', '.join(differing)} hold other documents than the archive")
    return {"row_counts": counts, "content_matches": not differing}


def namespaces_of(collections: t.Sequence[str] | None, database: str) -> list[str]:
    """'workOrders' or 'fixzit.workOrders' -> 'fixzit.workOrders' (a bare name is of the database)."""
    names = []
    for name in collections or []:
        name = str(name).strip()
        if not name:
            continue
        if "." not in name:
            if not database:
                raise ProcedureError(f"collection {name} names no database and none is given")
            name = f"{database}.{name}"
        names.append(name)
    return sorted(set(names))
