#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interpreter benchmark: the per-task CPU work of Ansible under each Python 3.11 build at hand.

scripts/setup.sh makes the venv from the distribution's /usr/bin/python3.11 (built with PGO and
LTO) rather than a pyenv build. Every task of a playbook pays two CPU-bound costs that depend on
the interpreter; this bench times both side by side, interleaved, under each interpreter:

  module_run    one run of a real module payload (AnsiballZ_maintenance_file.py, as Ansible
                leaves it with ANSIBLE_KEEP_REMOTE_FILES=1): start Python, import
                ansible.module_utils.basic from the zip, read a maintenance flag file
  ast_compile   compiling ansible.module_utils' sources to ASTs, which the controller does for
                every distinct module it sends (AnsiballZ's dependency finder)

Usage: .venv/bin/python bench/interpreter.py [--rounds 15] [--python PATH ...]
Defaults compare /usr/bin/python3.11 with every ~/.pyenv/versions/3.11*/bin/python3.11.
The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PLAYBOOK = """- hosts: localhost
  gather_facts: false
  tasks:
    - appops.runbooks.maintenance_file: {path: "%s", enabled: false}
"""
# Compiles every module_utils source once, the way AnsiballZ's finder does, and prints seconds.
AST_SNIPPET = """
import ast, sys, time
sources = [open(path, encoding='utf-8').read() for path in sys.argv[1:]]
started = time.perf_counter()
for source in sources:
    compile(source, 'x', 'exec', ast.PyCF_ONLY_AST)
print(time.perf_counter() - started)
"""


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


def default_interpreters() -> list[str]:
    found = [path for path in ["/usr/bin/python3.11"] if os.access(path, os.X_OK)]
    found += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11*/bin/python3.11")))
    return found


def build_payload(work: Path) -> Path:
    """Runs maintenance_file once through ansible-playbook and keeps the module file Ansible sent."""
    remote_tmp = work / "remote"
    (work / "play.yml").write_text(PLAYBOOK % (work / "maintenance.json"), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=str(remote_tmp),
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                    "-e", f"ansible_python_interpreter={VENV_PYTHON}", str(work / "play.yml")],
                   env=env, check=True, capture_output=True, timeout=300)
    payloads = sorted(remote_tmp.glob("ansible-tmp-*/AnsiballZ_maintenance_file.py"))
    if not payloads:
        raise SystemExit("no AnsiballZ_maintenance_file.py was kept")
    return payloads[-1]


def module_run_seconds(python: str, payload: Path) -> float:
    started = time.perf_counter()
    subprocess.run([python, str(payload)], check=True, capture_output=True, timeout=120)
    return time.perf_counter() - started


def ast_compile_seconds(python: str, sources: list[str]) -> float:
    done = subprocess.run([python, "-c", AST_SNIPPET, *sources], check=True, capture_output=True, text=True,
                          timeout=120)
    return float(done.stdout.strip())


def module_utils_sources() -> list[str]:
    import ansible.module_utils
    root = Path(ansible.module_utils.__file__).parent
    return sorted(str(path) for path in root.rglob("*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--python", action="append", default=[], help="interpreter to compare (repeatable)")
    args = parser.parse_args(argv)
    interpreters = args.python or default_interpreters()
    if len(interpreters) < 2:
        raise SystemExit(f"need two interpreters to compare, found {interpreters} (use --python)")
    sources = module_utils_sources()
    with tempfile.TemporaryDirectory(prefix="bench-interpreter-") as work:
        payload = build_payload(Path(work))
        say(f"payload {payload.name} ({payload.stat().st_size // 1024} KiB), {len(sources)} module_utils sources")
        runs: dict[str, dict[str, list[float]]] = {python: {"module_run": [], "ast_compile": []}
                                                    for python in interpreters}
        for number in range(args.rounds):
            # Rotate the order every round, so drift hits every interpreter alike.
            for python in interpreters[number % len(interpreters):] + interpreters[:number % len(interpreters)]:
                runs[python]["module_run"].append(module_run_seconds(python, payload))
                runs[python]["ast_compile"].append(ast_compile_seconds(python, sources))
    figures: dict[str, object] = {"bench": "interpreter", "rounds": args.rounds, "interpreters": interpreters}
    medians = {python: {kind: round(statistics.median(values) * 1000, 1) for kind, values in kinds.items()}
               for python, kinds in runs.items()}
    figures["median_ms"] = medians
    first = interpreters[0]
    figures["ratios_vs_first"] = {
        python: {kind: round(medians[python][kind] / medians[first][kind], 3) for kind in medians[first]}
        for python in interpreters[1:]}
    for python in interpreters:
        say(f"{python}: module run {medians[python]['module_run']} ms, "
            f"module_utils AST compile {medians[python]['ast_compile']} ms")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
