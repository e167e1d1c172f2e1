"""Helpers shared by the Heroku emulator tests (constants, polling, direct database access)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path
from typing import Any

import psycopg2
import requests

REPO = Path(__file__).resolve().parents[2]
# The tests run their own emulator instance (own ports, own cluster, own Redis) so that other
# suites using the shared lab on 18100 cannot reset or fault it under them, nor they us.
TEST_PORTS = {"HEROKU_EMU_API_PORT": "18110", "HEROKU_EMU_ROUTER_PORT": "18111", "HEROKU_EMU_PG_PORT": "18112",
              "HEROKU_EMU_RENDEZVOUS_PORT": "18113", "HEROKU_EMU_REDIS_PORT": "16395"}
TEST_LAB_DIR = REPO / ".lab" / "tests"
CLI_ENV = TEST_LAB_DIR / "heroku" / "cli.env"
API = f"http://127.0.0.1:{TEST_PORTS['HEROKU_EMU_API_PORT']}"
ROUTER = f"http://127.0.0.1:{TEST_PORTS['HEROKU_EMU_ROUTER_PORT']}"
TOKEN = "appops-lab-heroku-token"


def lab_env() -> dict[str, str]:
    """Environment for lab-up.sh / lab-down.sh that targets the tests' own instance."""
    return {**os.environ, **TEST_PORTS, "APPOPS_LAB_DIR": str(TEST_LAB_DIR), "HEROKU_EMU_CLI_ENV": str(CLI_ENV),
            "APPOPS_LAB_EMULATORS": "heroku"}


SCHEMA_PATH = Path(os.environ.get("APPOPS_SHARED_DIR", REPO.parent / "shared")) / "api-specs" / "heroku" / "schema.json"


def app_state(name: str) -> dict[str, Any]:
    response = requests.get(f"{API}/__lab/apps/{name}", timeout=10)
    response.raise_for_status()
    return response.json()


def wait_for(check: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def db_connection(app: str = "sc-mvp-production"):  # type: ignore[no-untyped-def]
    """A direct connection to the app's real database, from its DATABASE_URL."""
    url = app_state(app)["config_vars"]["DATABASE_URL"]
    return psycopg2.connect(url)


def count_rows(app: str, table: str) -> int:
    connection = db_connection(app)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - table names come from the tests
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


def execute(app: str, statement: str) -> None:
    connection = db_connection(app)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def make_source_tarball(lab_json: dict[str, Any] | None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        files = {"package.json": b'{"name": "lab-app", "version": "1.0.0"}\n'}
        if lab_json is not None:
            files["lab.json"] = json.dumps(lab_json).encode()
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def publish_source(blob_server: tuple[str, Path], name: str, lab_json: dict[str, Any] | None) -> str:
    base, folder = blob_server
    (folder / name).write_bytes(make_source_tarball(lab_json))
    return f"{base}/{name}"
