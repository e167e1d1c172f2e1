"""Helpers and fixtures of the Supabase emulator tests: their own instance, spec validation."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vercel_lab_helpers import load_spec, validate  # noqa: E402  the one OpenAPI response validator

REPO = Path(__file__).resolve().parents[2]
# Their own instance (API 18410, its own PostgreSQL cluster on 18411, state under
# .lab/tests-supabase), so the lab's emulator on 18400 and these tests never reset each other.
# SUPABASE_TESTS_API_PORT, SUPABASE_TESTS_PG_PORT and SUPABASE_TESTS_LAB_DIR move that instance
# (a second checkout's tests beside a full run that holds the default ports).
TEST_PORTS = {"SUPABASE_EMU_API_PORT": os.environ.get("SUPABASE_TESTS_API_PORT", "18410"),
              "HEROKU_EMU_PG_PORT": os.environ.get("SUPABASE_TESTS_PG_PORT", "18411")}
TEST_LAB_DIR = Path(os.environ.get("SUPABASE_TESTS_LAB_DIR") or REPO / ".lab" / "tests-supabase")
CLI_ENV = TEST_LAB_DIR / "cli.env"
API = f"http://127.0.0.1:{TEST_PORTS['SUPABASE_EMU_API_PORT']}"
REF = "mysetlistlabsupabase"
_SHARED = os.environ.get("APPOPS_SHARED_DIR") or next(
    (str(p / "shared") for p in REPO.parents if (p / "shared" / "api-specs").is_dir()), str(REPO.parent / "shared"))
SPEC_PATH = Path(_SHARED) / "api-specs" / "supabase" / "openapi.json"


def lab_env() -> dict[str, str]:
    # No scheduled snapshots: the tests take them on demand, so what a PITR restore finds is known.
    return {**os.environ, **TEST_PORTS, "APPOPS_LAB_DIR": str(TEST_LAB_DIR), "HEROKU_EMU_CLI_ENV": str(CLI_ENV),
            "APPOPS_LAB_EMULATORS": "supabase", "SUPABASE_EMU_SNAPSHOT_INTERVAL": "0"}


def lab_script(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "lab" / "emulators" / name)], capture_output=True, text=True, check=False,
                          timeout=300, env=lab_env())


def cli_env() -> dict[str, str]:
    """What lab-up.sh wrote for operators: token, API URL, project ref, database URL."""
    lines = CLI_ENV.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.startswith("SUPABASE_"))


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    return load_spec(SPEC_PATH)


def validate_supabase(response: requests.Response, path: str, method: str) -> None:
    validate(response, path, method, spec())


def project_state() -> dict[str, Any]:
    response = requests.get(f"{API}/__lab/projects/{REF}", timeout=10)
    response.raise_for_status()
    return response.json()


def capture(kind: str = "pitr") -> dict[str, Any]:
    response = requests.post(f"{API}/__lab/projects/{REF}/captures", json={"kind": kind}, timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="session")
def supabase_emulator() -> Iterator[str]:
    """The tests' own instance, started with lab-up.sh and stopped with lab-down.sh."""
    result = lab_script("lab-up.sh")
    assert result.returncode == 0, f"lab-up.sh failed:\n{result.stdout}\n{result.stderr}"
    yield API
    lab_script("lab-down.sh")


@pytest.fixture
def supabase_lab(supabase_emulator: str) -> Iterator[requests.Session]:
    """A freshly reset instance (seed rows, one physical backup) and a session with the lab's token."""
    assert requests.post(f"{API}/__lab/reset", timeout=60).status_code == 200
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {cli_env()['SUPABASE_ACCESS_TOKEN']}"
    yield http
    requests.delete(f"{API}/__lab/faults", timeout=5)
