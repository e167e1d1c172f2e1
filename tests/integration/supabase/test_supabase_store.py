"""The supabase store through the real backup and restore playbooks: rows lost in the project's
database come back, the logical way (pg_restore over the URL) and the platform way (the
Management API's point-in-time restore, against the emulator), with RTO/RPO checked against the
app's targets and the database URL never shown.

mysetlist runs on Vercel, whose platform role is not part of this suite: the test inventory's
host is a stand-in whose platform is compose on this machine (a maintenance file and a health URL
served by the test, answering from the project's database as mysetlist's /api/health/db does),
so the skeletons' maintenance and health steps really run while only the store is under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import pytest
import requests

from supabase_lab_helpers import API, REF, capture, cli_env, project_state

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
APP = "mysetlist"
# SUPABASE_TESTS_HEALTH_PORT moves it, with the instance (supabase_lab_helpers.py).
HEALTH_PORT = int(os.environ.get("SUPABASE_TESTS_HEALTH_PORT", "18419"))
RTO_TARGET, RPO_TARGET = 1800, 21600  # the runbook's: RTO 30 min database, RPO 6 h user data


def _count(url: str) -> dict[str, int]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM shows), (SELECT count(*) FROM songs),"
                       " (SELECT count(*) FROM setlists)")
        shows, songs, setlists = cursor.fetchone()
    connection.close()
    return {"shows": shows, "songs": songs, "setlists": setlists}


def _lose_rows(url: str) -> None:
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM setlists WHERE votes > 10")
    connection.close()


@pytest.fixture(scope="module")
def health_server(supabase_emulator: str) -> Iterator[str]:
    """/api/health/db: 200 while the project's database answers, 503 otherwise."""
    url = cli_env()["SUPABASE_DB_URL"]

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the base class's name
            try:
                psycopg2.connect(url, connect_timeout=2).close()
                status, body = 200, b'{"status": "healthy"}'
            except psycopg2.Error:
                status, body = 503, b'{"status": "unhealthy"}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", HEALTH_PORT), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{HEALTH_PORT}/api/health/db"
    server.shutdown()


@pytest.fixture
def inventory(tmp_path: Path, health_server: str, supabase_lab: requests.Session) -> Path:
    host = {"ansible_connection": "local", "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python"),
            "app_environment": "lab", "app_platform": "compose", "compose_project_dir": str(tmp_path / "app"),
            "app_health_url": health_server, "compose_health_timeout": 20, "compose_health_delay": 1,
            "app_state_backend": "local", "app_state_dir": str(tmp_path / "state"),
            "app_backup_dir": str(tmp_path / "backups"),
            "app_rto_target_seconds": RTO_TARGET, "app_rpo_target_seconds": RPO_TARGET,
            "app_data_stores": [{"name": "main", "kind": "supabase"}],
            "supabase_restore_poll_interval": 0.5}
    (tmp_path / "app" / "state").mkdir(parents=True)
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"all": {"hosts": {APP: host}}}))
    return path


def playbook(inventory: Path, name: str, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run a procedure with the lab's Supabase settings in the environment; (run, its published outcome)."""
    env = dict(os.environ, **cli_env(), ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory),
                          str(ROOT / "playbooks" / name), "-l", APP, *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    start = run.stdout.index('{\n    "custom_stats"')
    report = json.JSONDecoder().raw_decode(run.stdout[start:])[0]
    return run, report["global_custom_stats"]["appops"][APP]


def test_backup_and_restore_bring_the_rows_back_both_ways(inventory: Path) -> None:
    url = cli_env()["SUPABASE_DB_URL"]
    password = urlsplit(url).password
    seeded = _count(url)

    run, first = playbook(inventory, "backup.yml")
    assert first["changed"] is True and first["stores"] == ["main"]
    assert first["rpo_seconds"] is None and first["rpo_met"] is None  # no earlier backup
    manifest = json.loads((inventory.parent / "backups" / first["backup_id"] / "manifest.json").read_text())
    assert manifest["stores"][0]["kind"] == "supabase"
    assert manifest["stores"][0]["row_counts"]["public.setlists"] == seeded["setlists"]

    # The logical way (the default): pg_restore over the URL, a safety backup first.
    _lose_rows(url)
    assert _count(url)["setlists"] < seeded["setlists"]
    run, restored = playbook(inventory, "restore.yml", "-e", f"backup_id={first['backup_id']}")
    assert _count(url) == seeded
    assert restored["changed"] is True and restored["stores"] == ["main"] and restored["safety_backup"]
    assert restored["rto_met"] is True and restored["rpo_met"] is True
    assert 0 < restored["rto_seconds"] <= RTO_TARGET
    assert f"rto_target_seconds={RTO_TARGET} rto_met=true" in run.stdout
    assert password not in run.stdout + run.stderr

    # A backup run checks the RPO too: the age the previous backup had, against the target.
    capture("pitr")  # the snapshot a point-in-time restore to this backup's time finds (nothing writes after)
    second = playbook(inventory, "backup.yml")[1]
    assert second["rpo_seconds"] >= 1 and second["rpo_met"] is True and second["rto_met"] is None

    # The platform way: the Management API's point-in-time restore to the backup's time, waited
    # for, its rows checked against the backup's manifest; a target it misses is reported missed.
    _lose_rows(url)
    run, platform = playbook(inventory, "restore.yml", "-e", f"backup_id={second['backup_id']}",
                             "-e", "supabase_restore_method=platform", "-e", "app_rpo_target_seconds=0")
    assert _count(url) == seeded and platform["changed"] is True
    assert platform["rpo_met"] is False and platform["rto_met"] is True
    last = project_state()["last_restore"]
    assert last["kind"] == "pitr" and last["status"] == "ACTIVE_HEALTHY"
    assert password not in run.stdout + run.stderr


def test_the_restore_modules_against_the_emulator(supabase_lab: requests.Session, tmp_path: Path) -> None:
    """supabase_backup_info, then supabase_restore of a physical backup: check, apply, refusal."""
    url = cli_env()["SUPABASE_DB_URL"]
    seeded = _count(url)
    backup_id = supabase_lab.get(f"{API}/v1/projects/{REF}/database/backups", timeout=10).json()["backups"][0]["id"]
    _lose_rows(url)
    book = tmp_path / "modules.yml"
    book.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "info", "appops.runbooks.supabase_backup_info": {"project_ref": REF}, "register": "info"},
        {"name": "check", "appops.runbooks.supabase_restore": {"project_ref": REF, "backup_id": backup_id},
         "check_mode": True, "register": "check"},
        {"name": "restore", "appops.runbooks.supabase_restore": {"project_ref": REF, "backup_id": backup_id,
                                                                 "poll_interval": 0.3}, "register": "apply"},
        {"name": "unknown backup", "appops.runbooks.supabase_restore": {"project_ref": REF, "backup_id": 999},
         "register": "unknown", "ignore_errors": True},
        {"name": "results", "ansible.builtin.set_stats": {"data": {"r": {
            "info": "{{ info }}", "check": "{{ check }}", "apply": "{{ apply }}", "unknown": "{{ unknown }}"}}}}]}]))
    env = dict(os.environ, **cli_env(), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                          "-e", f"ansible_python_interpreter={ROOT / '.venv' / 'bin' / 'python'}", str(book)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-4000:]
    start = run.stdout.index('{\n    "custom_stats"')
    result = json.JSONDecoder().raw_decode(run.stdout[start:])[0]["global_custom_stats"]["r"]
    assert result["info"]["backups"][0]["id"] == backup_id and result["info"]["pitr_enabled"] is True
    assert result["check"]["changed"] is True and result["check"]["restore"]["backup_id"] == backup_id
    assert result["apply"]["changed"] is True and result["apply"]["status"] == "ACTIVE_HEALTHY"
    assert result["unknown"]["failed"] is True and "not listed" in result["unknown"]["msg"]
    assert _count(url) == seeded
    assert cli_env()["SUPABASE_ACCESS_TOKEN"] not in run.stdout
