# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sqlite_backup / sqlite_restore on real SQLite files."""
from __future__ import annotations

import os
import sqlite3

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
