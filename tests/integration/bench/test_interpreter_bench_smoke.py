# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke run of bench/interpreter.py: one round, the venv's own interpreter against its base.

Proves the bench builds a real module payload through ansible-playbook, runs it and the
module_utils compile under each interpreter, and prints its figures last. Which build is faster
is the bench's finding, not something this run can hold on any machine.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def test_interpreter_bench_one_round():
    base = getattr(sys, "_base_executable", sys.executable)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "interpreter.py"), "--rounds", "1",
                           "--python", base, "--python", sys.executable],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "interpreter" and figures["interpreters"] == [base, sys.executable]
    for python in (base, sys.executable):
        assert figures["median_ms"][python]["module_run"] > 0
        assert figures["median_ms"][python]["ast_compile"] > 0
    assert set(figures["ratios_vs_first"]) == {sys.executable}
