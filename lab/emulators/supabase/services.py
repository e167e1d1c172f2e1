"""What the Supabase emulator stands on and how it runs: the lab's PostgreSQL cluster (started
through the Heroku emulator's service code, so one cluster serves every emulator), the emulator
process, and the lines written into lab/cli.env for operators and playbooks."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from heroku import services as base

from . import API_PORT, LAB_TOKEN, api_url, state_dir

ServiceError = base.ServiceError
BEGIN = "# >>> supabase emulator (lab/emulators/lab-up.sh)"
END = "# <<< supabase emulator"


def ensure_services() -> None:
    base.ensure_postgres()


def stop_services() -> None:
    base.stop_postgres()


def emulator_healthy() -> bool:
    try:
        with urllib.request.urlopen(f"{api_url()}/__lab/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_emulator(extra_args: list[str]) -> None:
    base.start_module("supabase", state_dir(), API_PORT, emulator_healthy, "the Supabase emulator", extra_args)


def stop_emulator() -> None:
    base._kill_pidfile(state_dir() / "emulator.pid")


def write_cli_env(path: Path, projects: list[dict[str, str]]) -> None:
    """Add (or replace) the Supabase lines in the lab's CLI env file, keeping it 0600.

    The first project (mysetlist's) also gets the unsuffixed SUPABASE_PROJECT_REF / SUPABASE_DB_URL.
    """
    lines = [BEGIN, f"SUPABASE_API_URL={api_url()}", f"SUPABASE_ACCESS_TOKEN={LAB_TOKEN}"]
    for index, project in enumerate(projects):
        suffix = "_" + project["app"].upper().replace("-", "_")
        for name in ("", suffix) if index == 0 else (suffix,):
            lines += [f"SUPABASE_PROJECT_REF{name}={project['ref']}", f"SUPABASE_DB_URL{name}={project['db_url']}"]
    lines.append(END)
    kept: list[str] = []
    if path.exists():
        inside = False
        for line in path.read_text().splitlines():
            if line == BEGIN:
                inside = True
            elif line == END:
                inside = False
            elif not inside:
                kept.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join([*kept, *lines]) + "\n")
    os.chmod(path, 0o600)
