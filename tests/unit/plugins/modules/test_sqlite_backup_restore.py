# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sqlite_backup / sqlite_restore on real SQLite files."""
from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
import time

from ansible_collections.appops.runbooks.plugins.module_utils import _backup
from ansible_collections.appops.runbooks.plugins.modules import sqlite_backup, sqlite_restore
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module


def make_db(path, rows):
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE IF NOT EXISTS audit_events (id INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT)")
    connection.executemany("INSERT INTO audit_events (action) VALUES (?)", [(f"a{i}",) for i in range(rows)])
    connection.commit()
    connection.close()


def count(path):
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    finally:
        connection.close()


def test_backup_copies_counts_and_verifies(tmp_path):
    live, copy = str(tmp_path / "coffee.db"), str(tmp_path / "secondary.db")
    make_db(live, 25)
    result = run_module(sqlite_backup, {"src": live, "dest": copy})
    assert result["changed"] is True and result["integrity"] == "ok"
    assert result["row_counts"] == {"audit_events": 25}
    assert result["sha256"] == _backup.sha256_file(copy) and count(copy) == 25
    assert run_module(sqlite_backup, {"src": live, "dest": copy})["changed"] is False


def test_backup_of_a_wal_database_is_a_single_file(tmp_path):
    live, copy = str(tmp_path / "coffee.db"), str(tmp_path / "copy.db")
    make_db(live, 3)
    writer = sqlite3.connect(live)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("INSERT INTO audit_events (action) VALUES ('in wal')")
    writer.commit()
    result = run_module(sqlite_backup, {"src": live, "dest": copy})
    writer.close()
    assert result["row_counts"] == {"audit_events": 4}
    assert not os.path.exists(copy + "-wal")


def test_missing_source_fails(tmp_path):
    result = run_module(sqlite_backup, {"src": str(tmp_path / "nope.db"), "dest": str(tmp_path / "c.db")})
    assert result["failed"] is True and "does not exist" in result["msg"]


def test_restore_brings_rows_back_atomically_and_is_idempotent(tmp_path):
    live, copy = str(tmp_path / "coffee.db"), str(tmp_path / "secondary.db")
    make_db(live, 30)
    run_module(sqlite_backup, {"src": live, "dest": copy})
    connection = sqlite3.connect(live)
    connection.execute("DELETE FROM audit_events WHERE id > 5")
    connection.commit()
    connection.close()
    inode_before = os.stat(live).st_ino

    planned = run_module(sqlite_restore, {"src": copy, "dest": live}, check_mode=True)
    assert planned["changed"] is True and count(live) == 5

    restored = run_module(sqlite_restore, {"src": copy, "dest": live, "sha256": _backup.sha256_file(copy)})
    assert restored["changed"] is True
    assert restored["before_row_counts"] == {"audit_events": 5} and restored["row_counts"] == {"audit_events": 30}
    assert count(live) == 30
    assert os.stat(live).st_ino != inode_before  # replaced by rename, not rewritten in place
    assert [name for name in os.listdir(tmp_path) if name.startswith(".restore-")] == []

    again = run_module(sqlite_restore, {"src": copy, "dest": live})
    assert again["changed"] is False


def test_restore_refuses_a_corrupt_backup_and_leaves_the_database(tmp_path):
    live, copy = str(tmp_path / "coffee.db"), str(tmp_path / "secondary.db")
    make_db(live, 10)
    run_module(sqlite_backup, {"src": live, "dest": copy})
    expected_sha = _backup.sha256_file(copy)
    with open(copy, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff" * 64)
    make_db(live, 1)
    result = run_module(sqlite_restore, {"src": copy, "dest": live, "sha256": expected_sha})
    assert result["failed"] is True and "refusing" in result["msg"]
    assert count(live) == 11


def test_backup_copy_is_private(tmp_path):
    live, copy = str(tmp_path / "coffee.db"), str(tmp_path / "secondary.db")
    make_db(live, 2)
    os.umask(old := os.umask(0o022))
    try:
        assert run_module(sqlite_backup, {"src": live, "dest": copy})["changed"] is True
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    assert not os.path.exists(copy + ".partial")


def write_garbage(path):
    with open(path, "wb") as handle:
        handle.write(b"this is not a SQLite database, " * 200)


def test_backup_of_a_corrupt_database_names_the_file_and_sqlite_s_error(tmp_path):
    live, copy = str(tmp_path / "coffee.db"), str(tmp_path / "secondary.db")
    write_garbage(live)
    result = run_module(sqlite_backup, {"src": live, "dest": copy})
    assert result["failed"] is True
    assert live in result["msg"] and "file is not a database" in result["msg"] and "SQLITE_NOTADB" in result["msg"]
    assert not os.path.exists(copy) and not os.path.exists(copy + ".partial")


def test_a_corrupt_live_database_is_replaced_by_the_backup(tmp_path):
    live, copy = str(tmp_path / "coffee.db"), str(tmp_path / "secondary.db")
    make_db(live, 7)
    run_module(sqlite_backup, {"src": live, "dest": copy})
    write_garbage(live)
    restored = run_module(sqlite_restore, {"src": copy, "dest": live})
    assert restored["changed"] is True and restored["before_row_counts"] == {}
    assert count(live) == 7


@contextlib.contextmanager
def held_by_another_process(path):
    """Another process (the app) holds an exclusive lock on the database until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys\n"
         "connection = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "connection.execute('BEGIN EXCLUSIVE')\n"
         "print('locked', flush=True)\n"
         "sys.stdin.read()\n", path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_backup_of_a_locked_database_fails_clearly_after_the_busy_timeout(tmp_path):
    live, copy = str(tmp_path / "coffee.db"), str(tmp_path / "secondary.db")
    make_db(live, 3)
    with held_by_another_process(live):
        started = time.monotonic()
        result = run_module(sqlite_backup, {"src": live, "dest": copy, "busy_timeout": 0.5})
        waited = time.monotonic() - started
    assert result["failed"] is True
    assert live in result["msg"] and "database is locked" in result["msg"]
    assert 0.4 <= waited < 10
    # Once the app lets go, the same backup works.
    assert run_module(sqlite_backup, {"src": live, "dest": copy})["row_counts"] == {"audit_events": 3}


def test_restore_into_a_locked_database_fails_clearly_and_replaces_nothing(tmp_path):
    live, copy = str(tmp_path / "coffee.db"), str(tmp_path / "secondary.db")
    make_db(live, 4)
    run_module(sqlite_backup, {"src": live, "dest": copy})
    make_db(live, 2)
    inode = os.stat(live).st_ino
    with held_by_another_process(live):
        result = run_module(sqlite_restore, {"src": copy, "dest": live, "busy_timeout": 0.5})
    assert result["failed"] is True
    assert live in result["msg"] and "database is locked" in result["msg"]
    assert os.stat(live).st_ino == inode and count(live) == 6
    assert [name for name in os.listdir(tmp_path) if name.startswith(".restore-")] == []


def test_a_missing_directory_is_named(tmp_path):
    live = str(tmp_path / "coffee.db")
    make_db(live, 1)
    missing = tmp_path / "gone"
    backup = run_module(sqlite_backup, {"src": live, "dest": str(missing / "secondary.db")})
    assert backup["failed"] is True and f"directory {missing}" in backup["msg"] and "does not exist" in backup["msg"]
    restore = run_module(sqlite_restore, {"src": live, "dest": str(missing / "coffee.db")})
    assert restore["failed"] is True and f"directory {missing}" in restore["msg"]
