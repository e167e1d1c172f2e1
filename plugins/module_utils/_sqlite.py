# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQLite helpers: online backup, integrity check, row counts and a content fingerprint."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import typing as t


class SqliteError(Exception):
    pass


def connect_read_only(path: str) -> sqlite3.Connection:
    # mode=ro never creates a missing file and never writes to the source.
    if not os.path.isfile(path):
        raise SqliteError(f"SQLite database {path} does not exist")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def online_copy(source: str, destination: str, pages_per_step: int = 1024) -> None:
    """Copy a live database with the online backup API.

    Unlike cp, the backup API copies a consistent snapshot even while the app writes; the
    copy restarts by itself when a writer changes pages mid-way.
    """
    source_conn = connect_read_only(source)
    destination_conn = sqlite3.connect(destination)
    try:
        source_conn.backup(destination_conn, pages=pages_per_step)
        # A standalone copy should not need a -wal file next to it.
        destination_conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        destination_conn.close()
        source_conn.close()


def integrity_problems(path: str) -> list[str]:
    connection = connect_read_only(path)
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as error:
        return [str(error)]
    finally:
        connection.close()
    messages = [str(row[0]) for row in rows]
    return [] if messages == ["ok"] else messages


def user_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def row_counts(path: str) -> dict[str, int]:
    connection = connect_read_only(path)
    try:
        return {
            table: int(connection.execute(f"SELECT count(*) FROM {quote_identifier(table)}").fetchone()[0])
            for table in user_tables(connection)
        }
    finally:
        connection.close()


def content_fingerprint(path: str) -> str:
    """sha256 over schema and rows (iterdump), independent of page layout and free pages."""
    connection = connect_read_only(path)
    digest = hashlib.sha256()
    try:
        for statement in connection.iterdump():
            digest.update(statement.encode("utf-8"))
            digest.update(b"\n")
    finally:
        connection.close()
    return digest.hexdigest()


def sqlite_version() -> str:
    return sqlite3.sqlite_version


def checkpoint_wal(path: str) -> None:
    """Fold a live database's WAL into the main file so no stale -wal outlives a replace."""
    connection = sqlite3.connect(path, timeout=30)
    try:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() == "wal":
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def replace_atomically(backup_file: str, live_path: str) -> None:
    """Put a verified copy of backup_file in live_path's directory, then os.replace it in.

    The copy sits in the same directory so the final rename is atomic: the app sees the
    old database or the new one, never a half-written file.
    """
    directory = os.path.dirname(os.path.abspath(live_path))
    descriptor, temporary = tempfile.mkstemp(prefix=".restore-", suffix=".db", dir=directory)
    os.close(descriptor)
    try:
        online_copy(backup_file, temporary)
        problems = integrity_problems(temporary)
        if problems:
            raise SqliteError(f"restored copy failed integrity_check: {'; '.join(problems[:5])}")
        if os.path.exists(live_path):
            status = os.stat(live_path)
            os.chmod(temporary, status.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.chown(temporary, status.st_uid, status.st_gid)
            checkpoint_wal(live_path)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, live_path)
        # The checkpoint left an empty -wal behind; it belonged to the old file.
        stale_wal = live_path + "-wal"
        if os.path.exists(stale_wal) and os.path.getsize(stale_wal) == 0:
            os.unlink(stale_wal)
        directory_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def describe(path: str) -> dict[str, t.Any]:
    return {"row_counts": row_counts(path), "fingerprint": content_fingerprint(path)}
