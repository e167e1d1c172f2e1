# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PostgreSQL engine through its runners against the lab's real server: postgres_db and
postgres_db_info with this machine's client tools and a database URL (the Heroku and Supabase
way), compose_postgres_db with docker exec; both tag their sessions with application_name."""
from __future__ import annotations

import concurrent.futures
import json
import shutil
import time
import uuid

import pytest

from ansible_collections.appops.runbooks.plugins.modules import compose_postgres_db, postgres_db, postgres_db_info
from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    BACKUPS, PROJECT, env_value, pg_connect, pg_count, pg_execute)
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module

pytestmark = pytest.mark.integration

COMPOSE = {"project_dir": str(PROJECT), "service": "postgres", "database": "coffee_db", "user": "coffee", "port": 15432}


def url(password: str | None = None) -> str:
    return f"postgresql://coffee:{password or env_value('POSTGRES_PASSWORD')}@127.0.0.1:15432/coffee_db?sslmode=disable"


def test_a_url_dump_verifies_counts_and_restores_like_the_compose_store(lab_up, tmp_path):
    path = str(tmp_path / "main.dump")
    dumped = run_module(postgres_db, {"url": url(), "state": "dumped", "path": path})
    assert dumped["changed"] is True, dumped
    assert dumped["row_counts"]["public.heart_rates"] == pg_count("heart_rates")
    assert dumped["tool_versions"]["pg_dump"].startswith("pg_dump") and dumped["server_version"].startswith("15.")

    # The archive on its own and the live database give the same counts under the same names.
    info = run_module(postgres_db_info, {"archive": path, "url": url(), "fingerprint": True})
    assert info["changed"] is False
    assert info["archive"]["row_counts"] == dumped["row_counts"]
    assert info["archive"]["tool_versions"]["pg_restore"].startswith("pg_restore")
    assert info["database"]["row_counts"]["public.heart_rates"] == pg_count("heart_rates")
    assert "public.coffee_logs" in info["database"]["tables"] and len(info["database"]["schema"]) == 32

    marker = tmp_path / "restore-main.json"
    restore = {"url": url(), "state": "restored", "path": path, "backup_id": "url-test", "sha256": "c" * 64,
               "marker": str(marker), "expected_row_counts": dumped["row_counts"]}
    pg_execute("INSERT INTO heart_rates (bpm) VALUES (63)")
    planned = run_module(postgres_db, restore, check_mode=True)
    assert planned["changed"] is True and not marker.exists()
    restored = run_module(postgres_db, restore)
    assert restored["changed"] is True, restored
    assert pg_count("heart_rates") == dumped["row_counts"]["public.heart_rates"]
    assert json.loads(marker.read_text(encoding="utf-8"))["backup_id"] == "url-test"
    again = run_module(postgres_db, restore)
    assert again["changed"] is False and "still holds" in again["plan"]["reason"]


def test_a_truncated_archive_fails_its_verification(lab_up, tmp_path):
    path = tmp_path / "main.dump"
    assert run_module(postgres_db, {"url": url(), "state": "dumped", "path": str(path)})["changed"] is True
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    failed = run_module(postgres_db_info, {"archive": str(path)})
    assert failed["failed"] is True and "verifying the archive failed" in failed["msg"]


def test_a_wrong_password_fails_without_showing_the_url_or_the_password(lab_up, tmp_path):
    secret = f"wrong-{uuid.uuid4().hex[:10]}"
    failed = run_module(postgres_db_info, {"url": url(secret)})
    assert failed["failed"] is True and "password authentication failed" in failed["msg"]
    text = json.dumps(failed)
    assert secret not in text and url(secret) not in text
    dump_failed = run_module(postgres_db, {"url": url(secret), "state": "dumped", "path": str(tmp_path / "x.dump")})
    assert dump_failed["failed"] is True and secret not in json.dumps(dump_failed)


def session_names_waiting_on(table: str, names: set[str], timeout: float = 30) -> set[str]:
    """application_name of the sessions (among names) that wait for a lock on ``table``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with pg_connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT a.application_name FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
                           "WHERE NOT l.granted AND l.relation = %s::regclass AND a.application_name = ANY(%s)",
                           (table, list(names)))
            seen = {row[0] for row in cursor.fetchall()}
        if seen:
            return seen
        time.sleep(0.1)
    return set()


@pytest.mark.parametrize("runner", ["docker exec", "url"])
def test_a_dump_s_session_carries_the_run_s_application_name(lab_up, tmp_path, runner):
    token = uuid.uuid4().hex
    if runner == "url":
        module, args = postgres_db, {"url": url(), "path": str(tmp_path / "main.dump")}
    else:
        directory = f"module-test-{token[:8]}"
        (BACKUPS / directory).mkdir(mode=0o777)
        (BACKUPS / directory).chmod(0o777)
        module, args = compose_postgres_db, {**COMPOSE, "path": f"/backups/{directory}/main.dump"}
    # An open transaction that holds heart_rates keeps pg_dump waiting on its lock, so the
    # waiting session can be looked up by the name the run gave it.
    blocker = pg_connect()
    try:
        with blocker.cursor() as cursor:
            cursor.execute("LOCK TABLE heart_rates IN ACCESS EXCLUSIVE MODE")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            running = pool.submit(run_module, module, {**args, "state": "dumped", "lock_token": token})
            seen = session_names_waiting_on("heart_rates", {f"appops-dump-{token}"})
            blocker.rollback()
            dumped = running.result(timeout=120)
    finally:
        blocker.close()
        if runner != "url":
            shutil.rmtree(BACKUPS / directory, ignore_errors=True)
    assert seen == {f"appops-dump-{token}"}
    assert dumped["changed"] is True and dumped["application_name"] == f"appops-dump-{token}"
