"""Fixtures for tests of the coffee-tracker lab app itself (the lab must be up: lab-up.sh)."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import redis
import requests

REPO_ROOT = Path(__file__).resolve().parents[3]
LAB_SOURCE = REPO_ROOT / "lab" / "coffee-tracker"
LAB_DIR = Path(os.environ.get("APPOPS_LAB_DIR", REPO_ROOT / ".lab"))
PROJECT_DIR = LAB_DIR / "coffee-tracker"
GIT_REPO = LAB_DIR / "git" / "coffee-tracker.git"
BASE_URL = "http://127.0.0.1:18000"


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _sep, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def wait_for(check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.25) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@dataclass
class Lab:
    """The running lab: its settings, stores and a compose runner."""

    env: dict[str, str]
    lab_up_seconds: float
    project_dir: Path = PROJECT_DIR
    git_repo: Path = GIT_REPO
    source_dir: Path = LAB_SOURCE

    @property
    def api_key(self) -> str:
        return self.env["COFFEE_API_KEY"]

    @property
    def test_api_key(self) -> str:
        return self.env["COFFEE_TEST_API_KEY"]

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.api_key}"}

    def compose(self, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "compose", "--project-directory", str(self.project_dir), *args],
            check=True, capture_output=True, text=True, timeout=timeout_s,
        )

    def running_containers(self, service: str) -> list[str]:
        out = subprocess.run(
            ["docker", "ps", "-q", "--no-trunc",
             "--filter", "label=com.docker.compose.project=coffee-tracker",
             "--filter", f"label=com.docker.compose.service={service}",
             "--filter", "status=running"],
            check=True, capture_output=True, text=True,
        ).stdout.split()
        return sorted(out)

    def pg(self) -> psycopg2.extensions.connection:
        return psycopg2.connect(host="127.0.0.1", port=15432, dbname="coffee_db", user="coffee",
                                password=self.env["POSTGRES_PASSWORD"], connect_timeout=5)

    def pg_fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(self.pg()) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def sqlite_fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.project_dir / "data" / "coffee.db", timeout=5)) as conn:
            return conn.execute(sql, params).fetchall()

    def redis(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=16379, socket_timeout=2)

    @staticmethod
    def rate_counter_key(api_key: str) -> str:
        # Same derivation as coffee_tracker.ratelimit.counter_key: the raw key is never stored.
        return "ratelimit:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]

    def health(self) -> requests.Response:
        return requests.get(f"{BASE_URL}/health", timeout=10)

    def wait_healthy(self, timeout_s: float = 60) -> None:
        wait_for(lambda: self.health().status_code == 200, timeout_s, "GET /health == 200")

    def deployments(self) -> dict[str, Any]:
        return json.loads((self.project_dir / ".appops" / "deployments.json").read_text())


@pytest.fixture(scope="session")
def lab() -> Lab:
    """Runs lab-up.sh (a fast no-op when the lab is up) and describes the lab."""
    started = time.monotonic()
    subprocess.run([str(LAB_SOURCE / "lab-up.sh")], check=True, capture_output=True, timeout=600)
    elapsed = time.monotonic() - started
    lab = Lab(env=read_env_file(PROJECT_DIR / ".env"), lab_up_seconds=elapsed)
    lab.wait_healthy()
    return lab


@pytest.fixture(autouse=True)
def lab_settled(lab: Lab) -> None:
    """Each test starts from a healthy app out of maintenance.

    Playbook runs (restore, deploy) may share the lab with this suite and hold it in
    maintenance or mid-deploy for a while; a state that does not settle fails the test here.
    """
    wait_for(lambda: lab.health().status_code == 200 and not lab.health().json()["maintenance"],
             90, "a healthy app out of maintenance")


@pytest.fixture()
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
