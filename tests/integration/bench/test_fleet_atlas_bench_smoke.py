# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke run of ``bench/fleet.py --platform atlas`` on 12 clusters, on the bench's own Atlas emulator (18393).

Proves the bench works end to end (the sequential loop, the playbook's fleet path, the no-op re-run,
figures in the last line); its speed figures need the full 200 clusters and 50 ms of latency, so
this run only checks what holds at any size.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]


def test_fleet_atlas_bench_small_run():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "fleet.py"), "--platform", "atlas", "--clusters", "12",
                           "--latency-ms", "5", "--snapshot-seconds", "0.4", "--rounds", "1", "--atlas-port", "18393"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["platform"] == "atlas" and figures["fleet_clusters"] == 12 and figures["rounds"] == 1
    # The playbook asked for one snapshot per cluster, the re-run for none.
    assert figures["playbook_writes"] == 12
    assert figures["noop_writes"] == 0 and figures["noop_changed_clusters"] == 0
    # The loop: one POST, then at least one poll, per cluster.
    assert figures["sequential_requests_per_cluster"] >= 2
    assert figures["ratio_vs_sequential"] == round(figures["sequential_s"] / figures["playbook_s"], 2)
