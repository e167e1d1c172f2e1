# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kill -9 of a playbook run at a chosen step, as a dying controller (or AWX container) ends it."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import typing as t

import pytest


def start_playbook(command: list[str], cwd: str | os.PathLike[str], env: dict[str, str]) -> subprocess.Popen:
    """ansible-playbook in a process group of its own (so its workers die with it), output read line by line."""
    env = dict(env, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default",
               PYTHONUNBUFFERED="1")
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def kill_when(process: subprocess.Popen, line_pattern: str, timeout: float = 600,
              before_kill: t.Callable[[], None] | None = None,
              on_line: t.Callable[[str], None] | None = None) -> str:
    """kill -9 the whole process group once a line of its output matches (and before_kill, if given,
    returned); the output until then. on_line sees every line before."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        seen.append(line)
        if on_line is not None:
            on_line(line)
        if re.search(line_pattern, line):
            if before_kill is not None:
                before_kill()
            os.killpg(process.pid, signal.SIGKILL)
            break
        if time.monotonic() > deadline:
            break
    else:
        pytest.fail("the run ended before the step to kill it at:\n" + "".join(seen)[-4000:])
    process.wait(30)
    assert process.returncode == -signal.SIGKILL, "".join(seen)[-3000:]
    return "".join(seen)


def follow(process: subprocess.Popen, on_line: t.Callable[[str], None], timeout: float = 900) -> str:
    """The whole output of a run started by start_playbook, each line shown to on_line as it comes;
    fails unless the run succeeded."""
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line)
        on_line(line)
    process.wait(timeout)
    assert process.returncode == 0, "".join(seen)[-5000:]
    return "".join(seen)
