# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the compose procedures' integration tests: run playbooks, read the lab's data."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parents[3]
LAB = Path(os.environ.get("APPOPS_LAB_DIR", ROOT / ".lab"))
PROJECT = LAB / "coffee-tracker"
BACKUPS = PROJECT / "backups"
STATE = PROJECT / ".appops"
MAINTENANCE = PROJECT / "state" / "maintenance.json"
SQLITE = PROJECT / "data" / "coffee.db"
APP = "coffee-tracker"
# The lab's sshd (lab/ssh): the playbooks reach coffee-tracker through it as SSH_USER with sudo.
SSH_DIR = LAB / "ssh"
SSH_PORT = 18022
SSH_USER = "appops"
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=(?P<failed>\d+)",
                   re.MULTILINE)


@dataclasses.dataclass
class Run:
    rc: int
    output: str

    def recap(self, host: str = APP) -> dict[str, int]:
        for match in RECAP.finditer(self.output):
            if match.group("host") == host:
                return {key: int(match.group(key)) for key in ("ok", "changed", "failed")}
        raise AssertionError(f"no PLAY RECAP line for {host}:\n{self.output[-3000:]}")

    @property
    def text(self) -> str:
        """The output with whitespace runs folded: the YAML callback wraps long messages."""
        return " ".join(self.output.split())

    @property
    def changed(self) -> int:
        return self.recap()["changed"]


def run_playbook(name: str, *args: str, limit: str | None = APP, timeout: int = 900,
                 stdout_callback: str = "default") -> Run:
    """ansible-playbook playbooks/<name>.yml -l <limit> (no -l when limit is None) against the lab.

    A name with a slash is a playbook path of its own (a test's playbook in tmp_path)."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_STDOUT_CALLBACK=stdout_callback)
    playbook = name if "/" in name else f"playbooks/{name}.yml"
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), playbook, *(["-l", limit] if limit else []), *args]
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return Run(finished.returncode, finished.stdout + finished.stderr)


def env_value(key: str) -> str:
    for line in (PROJECT / ".env").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{key}="):
            value = line.split("=", 1)[1]
    return value


def pg_connect(database: str = "coffee_db"):
    return psycopg2.connect(host="127.0.0.1", port=15432, dbname=database, user="coffee",
                            password=env_value("POSTGRES_PASSWORD"), connect_timeout=5)


def pg_count(table: str) -> int | None:
    with pg_connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(f"SELECT count(*) FROM {table}")
        return int(cursor.fetchone()[0])


def pg_execute(sql: str) -> None:
    connection = pg_connect()
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def plant_canary() -> str:
    """A uniquely marked row in both stores; a restore of an older backup would remove it.

    Other clients may write to the shared lab at the same time, so tests prove "untouched" or
    "restored" with rows they own rather than with global counts alone.
    """
    marker = f"canary-{uuid.uuid4().hex[:12]}"
    pg_execute(f"INSERT INTO coffee_logs (coffee_type, caffeine_mg, notes) VALUES ('canary', 1, '{marker}')")
    sqlite_execute("INSERT INTO audit_events (occurred_at, action, entity, entity_id, detail)"
                   f" VALUES ('2025-01-01T00:00:00Z', 'test.canary', '{marker}', NULL, '{{}}')")
    return marker


def canary_present(marker: str) -> tuple[bool, bool]:
    with pg_connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('coffee_logs') IS NOT NULL")
        in_postgres = False
        if cursor.fetchone()[0]:
            cursor.execute("SELECT count(*) FROM coffee_logs WHERE notes = %s", (marker,))
            in_postgres = cursor.fetchone()[0] == 1
    connection = sqlite3.connect(f"file:{SQLITE}?mode=ro", uri=True)
    try:
        in_sqlite = connection.execute("SELECT count(*) FROM audit_events WHERE entity = ?", (marker,)).fetchone()[0] == 1
    finally:
        connection.close()
    return in_postgres, in_sqlite


def sqlite_count(table: str = "audit_events") -> int:
    connection = sqlite3.connect(f"file:{SQLITE}?mode=ro", uri=True)
    try:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        connection.close()


def sqlite_execute(sql: str) -> None:
    connection = sqlite3.connect(SQLITE)
    try:
        connection.execute(sql)
        connection.commit()
    finally:
        connection.close()


def http_get(path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:18000{path}", timeout=5) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def manifest(backup_id: str) -> dict:
    return json.loads((BACKUPS / backup_id / "manifest.json").read_text(encoding="utf-8"))


def newest_backup_id(output: str) -> str:
    found = re.findall(r"manual backup (\d{8}T\d{6}Z(?:-\d+)?)", output)
    assert found, f"no backup id in the output:\n{output[-3000:]}"
    return found[-1]


@pytest.fixture(scope="session")
def lab_up():
    try:
        status, body = http_get("/health")
    except OSError as error:
        pytest.fail(f"the coffee-tracker lab is not answering on 127.0.0.1:18000 (make lab): {error}")
    assert status == 200, body
    ssh_answers = subprocess.run(["bash", str(ROOT / "lab" / "ssh" / "lab-status.sh")], capture_output=True,
                                 text=True, check=False, timeout=30, env=dict(os.environ, APPOPS_LAB_DIR=str(LAB)))
    if f"login: {SSH_USER} -> root" not in ssh_answers.stdout:
        pytest.fail(f"the lab's sshd does not let {SSH_USER} in with sudo (make lab):\n{ssh_answers.stdout}")
    return body


@pytest.fixture(scope="session")
def fresh_backup(lab_up):
    """A backup taken by the backup playbook at the start of the session, holding a canary row."""
    marker = plant_canary()
    run = run_playbook("backup")
    assert run.rc == 0, run.output[-4000:]
    backup_id = newest_backup_id(run.output)
    described = manifest(backup_id)
    described["canary"] = marker
    return backup_id, described


@pytest.fixture(scope="session")
def shared_backups() -> dict[str, str]:
    """Backups the session's test modules share, by name."""
    return {}


@pytest.fixture(scope="module")
def module_backup(lab_up, shared_backups):
    """A complete backup for a test module: the one an earlier module used while retention keeps
    it, else a new one. (The session's fresh_backup is gone once the modules before have made
    more backups than retention keeps, 7.)"""
    backup_id = shared_backups.get("module")
    if backup_id is None or not (BACKUPS / backup_id / "manifest.json").is_file():
        run = run_playbook("backup")
        assert run.rc == 0, run.output[-4000:]
        backup_id = shared_backups["module"] = newest_backup_id(run.output)
    return backup_id


def switch_maintenance_on(by: str = "maintenance") -> None:
    """Maintenance on as the maintenance playbook leaves it (its file, whole or not at all), without
    a playbook run: tests whose subject is what a procedure does when it finds maintenance on."""
    temporary = MAINTENANCE.with_name(f"{MAINTENANCE.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps({"enabled": True, "message": "Down for maintenance, back soon.",
                                     "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "by": by}),
                         encoding="utf-8")
    temporary.chmod(0o644)
    temporary.replace(MAINTENANCE)


@pytest.fixture
def maintenance_off():
    yield
    if MAINTENANCE.exists():
        MAINTENANCE.unlink()
