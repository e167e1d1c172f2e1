# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQLite helpers: online backup, integrity check, row counts and a content fingerprint."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
import time
import typing as t

# Seconds a statement waits for another connection's lock before "database is locked".
DEFAULT_BUSY_TIMEOUT = 30.0
# Result codes (low byte of the extended code) of a database another connection holds.
BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED


class SqliteError(Exception):
    """A SQLite problem, with the path of the database it concerns in the message."""


class DatabaseLocked(SqliteError):
    """Another connection held the database longer than the busy timeout."""


@contextlib.contextmanager
def reported_as(what: str, path: str) -> t.Iterator[None]:
    """Turns sqlite3's errors (corrupt, locked, unreadable, a missing directory) into a
    SqliteError naming what was done, the database and SQLite's own message."""
    try:
        yield
    except sqlite3.Error as error:
        code = getattr(error, "sqlite_errorcode", None)
        kind = DatabaseLocked if code is not None and code & 0xFF in BUSY_CODES else SqliteError
        name = getattr(error, "sqlite_errorname", "") or type(error).__name__
        raise kind(f"{what} {path}: {error} ({name})") from None


def connect_read_only(path: str, timeout: float = DEFAULT_BUSY_TIMEOUT) -> sqlite3.Connection:
    # mode=ro never creates a missing file and never writes to the source.
    if not os.path.isfile(path):
        raise SqliteError(f"SQLite database {path} does not exist")
    with reported_as("opening", path):
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)


def create_private_file(path: str) -> None:
    """An empty file only its owner can read, for a copy of the database to go into."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class BusyDeadline:
    """Progress callback of Connection.backup that gives up once the source stays locked.

    backup() retries a locked step for ever (it has no busy timeout of its own): a database
    the app keeps locked would hang the task instead of failing it.
    """

    def __init__(self, what: str, timeout: float) -> None:
        self.what = what
        self.timeout = timeout
        self.busy_since: float | None = None

    def __call__(self, status: int, remaining: int, total: int) -> None:
        if status not in BUSY_CODES:
            self.busy_since = None
            return
        now = time.monotonic()
        if self.busy_since is None:
            self.busy_since = now
        elif now - self.busy_since > self.timeout:
            copied = f"; {total - remaining} of {total} pages copied" if total else ""
            raise DatabaseLocked(f"{self.what}: database is locked (another connection held it for more than "
                                 f"{self.timeout:g} s{copied})")


def online_copy(source: str, destination: str, pages_per_step: int = 1024,
                timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
    """Copy a live database with the online backup API.

    Unlike cp, the backup API copies a consistent snapshot even while the app writes; the
    copy restarts by itself when a writer changes pages mid-way.
    """
    source_conn = connect_read_only(source, timeout)
    try:
        with reported_as("opening the copy", destination):
            destination_conn = sqlite3.connect(destination, timeout=timeout)
        try:
            with reported_as("copying", source):
                source_conn.backup(destination_conn, pages=pages_per_step,
                                   progress=BusyDeadline(f"copying {source}", timeout), sleep=0.05)
            with reported_as("writing the copy", destination):
                # A standalone copy should not need a -wal file next to it.
                destination_conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            destination_conn.close()
    finally:
        source_conn.close()


def integrity_problems(path: str, timeout: float = DEFAULT_BUSY_TIMEOUT) -> list[str]:
    connection = connect_read_only(path, timeout)
    try:
        with reported_as("checking", path):
            try:
                rows = connection.execute("PRAGMA integrity_check").fetchall()
            except sqlite3.DatabaseError as error:
                if isinstance(error, sqlite3.OperationalError):
                    raise  # locked or unreadable: says nothing about the file's integrity
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


def row_counts(path: str, timeout: float = DEFAULT_BUSY_TIMEOUT) -> dict[str, int]:
    connection = connect_read_only(path, timeout)
    try:
        with reported_as("counting the rows of", path):
            return {
                table: int(connection.execute(f"SELECT count(*) FROM {quote_identifier(table)}").fetchone()[0])
                for table in user_tables(connection)
            }
    finally:
        connection.close()


def content_fingerprint(path: str, timeout: float = DEFAULT_BUSY_TIMEOUT) -> str:
    """sha256 over schema and rows (iterdump), independent of page layout and free pages."""
    connection = connect_read_only(path, timeout)
    digest = hashlib.sha256()
    try:
        with reported_as("reading", path):
            for statement in connection.iterdump():
                digest.update(statement.encode("utf-8"))
                digest.update(b"\n")
    finally:
        connection.close()
    return digest.hexdigest()


def sqlite_version() -> str:
    return sqlite3.sqlite_version


def checkpoint_wal(path: str, timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
    """Fold a live database's WAL into the main file so no stale -wal outlives a replace."""
    with reported_as("checkpointing", path):
        connection = sqlite3.connect(path, timeout=timeout)
        try:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()


def checkpoint_or_damaged(path: str, timeout: float) -> bool:
    """Checkpoint the live database; False when it is too damaged to (a restore replaces it anyway).

    A lock is not damage: the app holds it, and replacing the file now would lose its writes.
    """
    try:
        checkpoint_wal(path, timeout)
    except DatabaseLocked:
        raise
    except SqliteError:
        return False
    return True


def set_aside_stale_wal(live_path: str, damaged: bool) -> None:
    """The -wal next to the replaced file belonged to the old one: SQLite must never apply it to
    the restored database. An empty one (left by the checkpoint) goes; a damaged database's is
    kept aside for inspection."""
    stale_wal = live_path + "-wal"
    if not os.path.exists(stale_wal):
        return
    if os.path.getsize(stale_wal) == 0:
        os.unlink(stale_wal)
    elif damaged:
        os.replace(stale_wal, stale_wal + ".before-restore")


def replace_atomically(backup_file: str, live_path: str, timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
    """Put a verified copy of backup_file in live_path's directory, then os.replace it in.

    The copy sits in the same directory so the final rename is atomic: the app sees the
    old database or the new one, never a half-written file.
    """
    directory = os.path.dirname(os.path.abspath(live_path))
    descriptor, temporary = tempfile.mkstemp(prefix=".restore-", suffix=".db", dir=directory)
    os.close(descriptor)
    try:
        online_copy(backup_file, temporary, timeout=timeout)
        problems = integrity_problems(temporary, timeout)
        if problems:
            raise SqliteError(f"restored copy failed integrity_check: {'; '.join(problems[:5])}")
        if os.path.exists(live_path):
            status = os.stat(live_path)
            os.chmod(temporary, status.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.chown(temporary, status.st_uid, status.st_gid)
            damaged = not checkpoint_or_damaged(live_path, timeout)
        else:
            damaged = False
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, live_path)
        set_aside_stale_wal(live_path, damaged)
        directory_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def describe(path: str, timeout: float = DEFAULT_BUSY_TIMEOUT) -> dict[str, t.Any]:
    return {"row_counts": row_counts(path, timeout), "fingerprint": content_fingerprint(path, timeout)}
