"""Helpers for code that drives a running emulator from outside: the integration tests and the benches.

Importing this loads only the package's ``__init__`` (ports, paths, the lab token), never the emulator.
It needs ``requests``, which the emulator itself does not use.
"""

from __future__ import annotations

import requests

from . import LAB_TOKEN, REPO_ROOT


def lab_token() -> str:
    """The lab token from lab/cli.env (written by lab-up.sh), or the default lab token without that file."""
    env_file = REPO_ROOT / "lab" / "cli.env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("HEROKU_API_KEY="):
                return line.split("=", 1)[1].strip()
    return LAB_TOKEN


def healthy(api: str, timeout: float = 2) -> bool:
    """Whether the emulator at ``api`` answers its admin health check with HTTP 200."""
    try:
        return requests.get(f"{api}/__lab/health", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False
