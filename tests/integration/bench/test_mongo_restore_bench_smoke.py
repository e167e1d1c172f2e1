# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke run of bench/mongo_restore.py --quick: every method restores the same dump for real on a
cluster of the bench's own (5,000 documents), the figures are in the last line, and the bench
leaves nothing running or on disk."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
WORK = Path(os.environ.get("APPOPS_LAB_DIR", ROOT / ".lab")) / "bench-mongo-restore"
REQUIRED = ("raw_s", "engine_s", "role_s", "ratio_engine_vs_raw", "ratio_role_vs_raw", "docs", "archive_bytes", "runs",
            "engine_within_target")


def free_port() -> int:
    """A port nothing listens on now: the kernel's pick, not a fixed number another run may hold."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PORT = free_port()


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def quick_run() -> t.Iterator[dict[str, t.Any]]:
    assert not port_open(PORT), f"port {PORT} is taken"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "mongo_restore.py"), "--quick", "--port", str(PORT)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    yield json.loads(done.stdout.strip().splitlines()[-1])


def test_last_line_holds_the_figures(quick_run: dict[str, t.Any]) -> None:
    assert not set(REQUIRED) - set(quick_run)
    assert quick_run["docs"] == 5000 and quick_run["archive_bytes"] > 10_000
    for method in ("raw", "engine", "role"):
        assert len(quick_run["runs"][method]) == 1 and 0 < quick_run[f"{method}_s"] < 300, method
    # The role pays Ansible's start-up on top of the engine's work.
    assert quick_run["role_s"] > quick_run["engine_s"]


def test_ratios_match_the_times(quick_run: dict[str, t.Any]) -> None:
    assert quick_run["ratio_engine_vs_raw"] == pytest.approx(quick_run["engine_s"] / quick_run["raw_s"], rel=0.01)
    assert quick_run["ratio_role_vs_raw"] == pytest.approx(quick_run["role_s"] / quick_run["raw_s"], rel=0.01)
    assert quick_run["engine_within_target"] == (quick_run["ratio_engine_vs_raw"] <= 1.3)


def test_nothing_is_left_behind(quick_run: dict[str, t.Any]) -> None:
    assert quick_run
    assert not port_open(PORT)
    assert not WORK.exists()
