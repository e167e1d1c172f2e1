# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke run of ``bench/fleet.py --platform vercel`` on a small fleet.

The bench starts and stops an emulator instance of its own (ports 18290-18294). This run proves it
works end to end (the playbook's fleet path with one build per project each way, the no-op
re-run, the sequential loop, figures in the last line); its speed figures need the full 200
projects and 50 ms of latency.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]


def test_fleet_vercel_bench_small_run():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "fleet.py"), "--platform", "vercel", "--projects", "12",
                           "--sequential-projects", "2", "--latency-ms", "5"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["platform"] == "vercel" and figures["fleet_projects"] == 12
    # One redeploy per project for on and one for off; the re-run writes nothing and reads each
    # project and its env vars once.
    assert figures["builds"] == 24
    assert figures["noop_writes"] == 0 and figures["noop_requests"] == 24
    assert figures["sequential_measured_projects"] == 2
    # Scaled from the two projects measured to the twelve (both rounded to 10 ms).
    assert abs(figures["sequential_s"] - figures["sequential_measured_s"] * 6) <= 0.05
    assert abs(figures["ratio_vs_sequential"] - figures["sequential_s"] / figures["playbook_s"]) <= 0.02
    # The instance is gone again.
    with pytest.raises(requests.ConnectionError):
        requests.get("http://127.0.0.1:18290/__lab/health", timeout=5)
