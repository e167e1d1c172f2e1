# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress callback in a real ansible-playbook run, enabled by the project's ansible.cfg:
a 65 s step shows "still running" lines (at 30 s and 60 s), a short step none."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]

PLAYBOOK = """
- name: A long and a short step
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Short step
      ansible.builtin.command: sleep 2
      changed_when: false
    - name: Long step
      ansible.builtin.command: sleep 65
      changed_when: false
"""


def test_a_long_step_shows_progress_every_30_s_and_a_short_one_none(tmp_path: Path) -> None:
    playbook = tmp_path / "steps.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"), "ANSIBLE_NOCOLOR": "1"}
    env.pop("APPOPS_PROGRESS_INTERVAL", None)
    run = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    seconds = [int(found) for found in re.findall(r"still running: Long step on localhost \((\d+) s\)", output)]
    assert len(seconds) >= 2 and seconds[0] >= 30 and seconds[1] >= 60, output
    assert "still running: Short step" not in output
