# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real PostgreSQL for the tests of the postgres state backend.

The lab's state PostgreSQL when it runs (APPOPS_STATE_DSN, or the DSN file that
lab/state/lab-up.sh writes), otherwise a throwaway cluster this session starts on a free
loopback port. Each test gets a schema of its own (search_path in the DSN), dropped after.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import typing as t
import uuid
from pathlib import Path

import psycopg2
import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _lock

REPO = Path(__file__).resolve().parents[3]
LAB_DIR = Path(os.environ.get("APPOPS_LAB_DIR", REPO / ".lab"))
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _answers(dsn: str) -> bool:
    try:
        psycopg2.connect(dsn, connect_timeout=3).close()
        return True
    except psycopg2.Error:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _throwaway_cluster() -> t.Iterator[str]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip("no state PostgreSQL: neither the lab's (make lab) nor PostgreSQL 15 binaries for a throwaway one")
    root = Path(tempfile.mkdtemp(prefix="appops-state-pg-"))
    os.chmod(root, 0o755)
    shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    data = root / "data"

    def as_postgres(*command: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True)

    as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}", "start")
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def state_server_dsn() -> t.Iterator[str]:
    candidates = [os.environ.get("APPOPS_STATE_DSN", "")]
    dsn_file = LAB_DIR / "state" / "dsn"
    if dsn_file.exists():
        candidates.append(dsn_file.read_text(encoding="utf-8").strip())
    for dsn in candidates:
        if dsn and _answers(dsn):
            yield dsn
            return
    yield from _throwaway_cluster()


@pytest.fixture
def state_dsn(state_server_dsn: str) -> t.Iterator[str]:
    """A DSN whose tables live in a schema of this test only."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(state_server_dsn)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in state_server_dsn else "?"
    if state_server_dsn.startswith("postgres"):
        dsn = f"{state_server_dsn}{separator}options=-csearch_path%3D{schema}"
    else:
        dsn = f"{state_server_dsn} options='-csearch_path={schema}'"
    try:
        yield dsn
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture
def killed_controller() -> t.Callable[[], dict[str, t.Any]]:
    """Makes the identity of a controller process that was killed with SIGKILL and is gone."""

    def make() -> dict[str, t.Any]:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        identity = _lock.process_identity(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        return identity

    return make
