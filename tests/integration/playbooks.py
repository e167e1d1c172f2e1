# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run modules of this collection through ansible-playbook; results come from the json callback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class PlaybookRun(t.NamedTuple):
    rc: int
    results: list[dict[str, t.Any]]
    stdout: str

    @property
    def last(self) -> dict[str, t.Any]:
        return self.results[-1]


class Playbooks:
    """Writes tasks into a playbook and runs it with ansible-playbook; results come from the json callback."""

    def __init__(self, workdir: Path, module_defaults: dict[str, dict[str, t.Any]]) -> None:
        """module_defaults: {"group/appops.runbooks.<group>": {option: value}}, as a play sets them."""
        self.workdir = workdir
        self.module_defaults = module_defaults
        self.count = 0

    @classmethod
    def for_group(cls, workdir: Path, group: str, defaults: dict[str, t.Any]) -> Playbooks:
        return cls(workdir, {f"group/appops.runbooks.{group}": defaults})

    def run(self, tasks: list[dict[str, t.Any]], *, check: bool = False, diff: bool = False,
            verbosity: int = 0, env: dict[str, str] | None = None) -> PlaybookRun:
        self.count += 1
        play = [{
            "name": "modules against the lab",
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            # Credentials once for the whole group, as playbooks of this collection do.
            "module_defaults": self.module_defaults,
            "tasks": tasks,
        }]
        path = self.workdir / f"play{self.count}.yml"
        path.write_text(json.dumps(play, indent=1))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                   ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                   ANSIBLE_NOCOLOR="1", **(env or {}))
        command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                   str(path)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if verbosity:
            command.append("-" + "v" * verbosity)
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=600, check=False)
        try:
            report = json.loads(done.stdout[done.stdout.index("{"):])
        except ValueError:
            raise AssertionError(f"no JSON report (rc {done.returncode}):\n{done.stdout}\n{done.stderr}") from None
        results = [task["hosts"]["localhost"] for play_report in report["plays"] for task in play_report["tasks"]]
        return PlaybookRun(done.returncode, results, done.stdout + done.stderr)
