# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke run of bench/restore.py --quick against the live coffee-tracker lab.

It runs every method for real on a 200,000-row database, so it proves the bench works end to
end (figures in the last line) and that it leaves the lab as it found it.
"""
from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import typing as t
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _backup

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
PROJECT = Path(os.environ.get("APPOPS_LAB_DIR", ROOT / ".lab")) / "coffee-tracker"
REQUIRED = ("db_bytes", "playbook_s", "pg_restore_j2_s", "psql_s", "ratio_playbook_vs_pg_restore",
            "ratio_psql_vs_playbook", "rows", "backup_bytes", "playbook_breakdown")


def postgres_password() -> str:
    for line in (PROJECT / ".env").read_text(encoding="utf-8").splitlines():
        if line.startswith("POSTGRES_PASSWORD="):
            return line.split("=", 1)[1].strip()
    raise AssertionError("no POSTGRES_PASSWORD in the lab's .env")


def lab_rows() -> dict[str, int]:
    connection = psycopg2.connect(host="127.0.0.1", port=15432, dbname="coffee_db", user="coffee",
                                  password=postgres_password(), connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM coffee_logs")
            coffee = int(cursor.fetchone()[0])
            cursor.execute("SELECT count(*) FROM heart_rates")
            return {"coffee_logs": coffee, "heart_rates": int(cursor.fetchone()[0])}
    finally:
        connection.close()


def backups() -> set[str]:
    return {path.name for path in (PROJECT / "backups").iterdir()}


def plant_old_backups(count: int) -> list[Path]:
    """Catalog entries a day old, enough that default retention (keep 7) would delete some.

    They make "nobody else's backup was touched" checkable on a fresh lab too, where the
    catalog holds no backup of its own before the bench runs.
    """
    planted = []
    yesterday = _backup.utc_now() - datetime.timedelta(days=1)
    for minute in range(count):
        moment = yesterday + datetime.timedelta(minutes=minute)
        directory = PROJECT / "backups" / _backup.backup_id_for(moment)
        directory.mkdir(parents=True)
        manifest = {"app": "coffee-tracker", "kind": "manual", "created_at": _backup.format_time(moment),
                    "files": [], "stores": []}
        (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        planted.append(directory)
    return planted


@pytest.fixture(scope="module")
def quick_run() -> t.Iterator[dict]:
    with urllib.request.urlopen("http://127.0.0.1:18000/health", timeout=5) as answer:
        assert answer.status == 200, "the coffee-tracker lab is not up (make lab)"
    planted = plant_old_backups(7)
    try:
        rows_before, backups_before = lab_rows(), backups()
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "restore.py"), "--quick"], cwd=ROOT,
                              capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        lines = done.stdout.strip().splitlines()
        yield {"figures": json.loads(lines[-1]), "rows_before": rows_before, "backups_before": backups_before,
               "planted": {path.name for path in planted}}
    finally:
        for directory in planted:
            shutil.rmtree(directory, ignore_errors=True)


def test_last_line_holds_the_figures(quick_run):
    figures = quick_run["figures"]
    assert not set(REQUIRED) - set(figures)
    assert figures["rows"] >= 200_000
    assert figures["db_bytes"] > 200_000 * 50  # ~110 bytes a row with indexes
    assert 0 < figures["backup_bytes"] < figures["db_bytes"]
    for key in ("playbook_s", "pg_restore_j2_s", "psql_s"):
        assert 0 < figures[key] < 600, (key, figures[key])


def test_ratios_match_the_times(quick_run):
    figures = quick_run["figures"]
    assert figures["ratio_playbook_vs_pg_restore"] == pytest.approx(
        figures["playbook_s"] / figures["pg_restore_j2_s"], rel=0.01)
    assert figures["ratio_psql_vs_playbook"] == pytest.approx(figures["psql_s"] / figures["playbook_s"], rel=0.01)


def test_playbook_breakdown_comes_from_its_own_profile(quick_run):
    figures = quick_run["figures"]
    breakdown = figures["playbook_breakdown"]
    # The steps are parts of the playbook's wall time; pg_restore is inside "restore the stores".
    assert 0 < breakdown["pg_restore_and_row_counts_s"] <= breakdown["restore_stores_s"] < figures["playbook_s"]
    assert breakdown["safety_backup_s"] > 0
    parts = sum(breakdown[key] for key in ("before_restore_s", "safety_backup_s", "restore_stores_s",
                                           "health_gate_s", "finish_s", "ansible_start_and_end_s"))
    assert parts == pytest.approx(figures["playbook_s"], abs=0.2)
    assert any("pg_restore" in name for name, _seconds in figures["playbook_tasks_last_run"])


def test_lab_is_left_as_it_was(quick_run):
    figures = quick_run["figures"]
    assert lab_rows() == quick_run["rows_before"]
    # Its own backup and the playbook's safety backup are gone; nobody else's backup was touched.
    assert figures["backup_id"] in figures["deleted_backups"] and len(figures["deleted_backups"]) >= 2
    assert not set(figures["deleted_backups"]) & backups()
    assert quick_run["backups_before"] <= backups()
    assert quick_run["planted"] <= backups()
    assert not (PROJECT / "state" / "maintenance.json").exists()
    assert not (PROJECT / ".appops" / "lock.json").exists()
    with urllib.request.urlopen("http://127.0.0.1:18000/health", timeout=5) as answer:
        assert answer.status == 200
