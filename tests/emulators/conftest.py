"""Fixtures for the emulator tests: a running Heroku emulator (started with lab-up.sh if needed)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

# pytest runs with --import-mode=importlib, which adds no test folder to sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from heroku_lab_helpers import API, REPO, SCHEMA_PATH, TOKEN, lab_env  # noqa: E402
import atlas_lab_helpers  # noqa: E402

# The Atlas tests' own instance (fixtures defined beside their helpers).
atlas_emulator = atlas_lab_helpers.atlas_emulator
atlas_lab = atlas_lab_helpers.atlas_lab


def _healthy() -> bool:
    try:
        return requests.get(f"{API}/__lab/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def lab_script(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "lab" / "emulators" / name)], capture_output=True, text=True, check=False,
                          timeout=300, env=lab_env())


@pytest.fixture(scope="session")
def emulator() -> Iterator[str]:
    """The tests' own emulator instance, started with lab-up.sh and stopped with lab-down.sh."""
    result = lab_script("lab-up.sh")
    assert result.returncode == 0, f"lab-up.sh failed:\n{result.stdout}\n{result.stderr}"
    assert _healthy()
    yield API
    lab_script("lab-down.sh")


@pytest.fixture(scope="session")
def session(emulator: str) -> requests.Session:
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.heroku+json; version=3"})
    return http


@pytest.fixture
def lab(emulator: str, session: requests.Session) -> Iterator[requests.Session]:
    """A freshly reset lab (seed fixture, default knobs); faults cleared afterwards too."""
    reset = requests.post(f"{API}/__lab/reset", timeout=60)
    assert reset.status_code == 200, reset.text
    yield session
    requests.delete(f"{API}/__lab/faults", timeout=5)
    requests.post(f"{API}/__lab/rate-limit", json={"capacity": 4500, "refill_per_minute": 75}, timeout=5)


@pytest.fixture(scope="session")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@pytest.fixture(scope="session")
def blob_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A loopback file server for build source blobs: (base URL, folder)."""
    folder = tmp_path_factory.mktemp("blobs")

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()


# --------------------------------------------------------------------------- Vercel emulator

from vercel_lab_helpers import API as VERCEL_API  # noqa: E402
from vercel_lab_helpers import TOKEN as VERCEL_TOKEN  # noqa: E402
from vercel_lab_helpers import own_instance as own_vercel_instance  # noqa: E402


@pytest.fixture(scope="session")
def vercel_emulator() -> Iterator[str]:
    """The Vercel tests' own instance, started with lab-up.sh and stopped with lab-down.sh."""
    with own_vercel_instance() as api:
        yield api


@pytest.fixture
def vercel(vercel_emulator: str) -> Iterator[requests.Session]:
    """A freshly reset Vercel lab with an authenticated session; knobs and faults cleared afterwards."""
    reset = requests.post(f"{VERCEL_API}/__lab/reset", timeout=60)
    assert reset.status_code == 200, reset.text
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {VERCEL_TOKEN}"
    yield http
    requests.delete(f"{VERCEL_API}/__lab/faults", timeout=5)
    requests.post(f"{VERCEL_API}/__lab/rate-limit", json={}, timeout=5)
