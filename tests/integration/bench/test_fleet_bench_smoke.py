# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke run of bench/fleet.py on a small fleet against the lab's Heroku emulator.

Proves the bench works end to end (the playbook's fleet path, the sequential loop, the no-op
re-run, figures in the last line) and removes the apps it made. Its speed figures need the full
200 apps and 50 ms of latency; this run only checks what holds at any size.
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


def test_fleet_bench_small_run():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "fleet.py"), "--apps", "12", "--latency-ms", "5",
                           "--rounds", "1"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["fleet_apps"] == 12 and figures["rounds"] == 1
    # The loop reads then writes each app, on and then off; the playbook reads the fleet with one
    # listing per state and writes each app.
    assert figures["sequential_requests_per_app"] == 4.0
    assert figures["requests_per_app"] == 2.0 and figures["listings"] == 2
    assert figures["noop_writes"] == 0
    assert figures["playbook_s"] > 0 and figures["sequential_s"] > 0 and figures["api_s"] > 0
    assert figures["ratio_vs_sequential"] == round(figures["sequential_s"] / figures["playbook_s"], 2)
    apps = {app["name"] for app in requests.get("http://127.0.0.1:18100/__lab/apps", timeout=10).json()}
    assert not any(name.startswith("fleet-") for name in apps)
