"""Heroku emulator for the appops lab.

A stateful stand-in for the Heroku Platform API, the Heroku Postgres backups API
(``/client/v11``), the one-off dyno rendezvous service and the apps' web router,
backed by a real PostgreSQL cluster and a real Redis on 127.0.0.1.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]

API_PORT = int(os.environ.get("HEROKU_EMU_API_PORT", "18100"))
ROUTER_PORT = int(os.environ.get("HEROKU_EMU_ROUTER_PORT", "18101"))
PG_PORT = int(os.environ.get("HEROKU_EMU_PG_PORT", "18102"))
RENDEZVOUS_PORT = int(os.environ.get("HEROKU_EMU_RENDEZVOUS_PORT", "18103"))
REDIS_PORT = int(os.environ.get("HEROKU_EMU_REDIS_PORT", "16380"))
HOST = "127.0.0.1"

# The token the lab's CLI and playbooks use; more can be accepted with --token.
LAB_TOKEN = "appops-lab-heroku-token"


def lab_dir() -> Path:
    """Return the lab's run-time folder (``$APPOPS_LAB_DIR`` or ``<repo>/.lab``)."""
    return Path(os.environ.get("APPOPS_LAB_DIR") or REPO_ROOT / ".lab")


def state_dir() -> Path:
    """Return the emulator's own run-time folder: pidfiles, logs, dumps, cluster."""
    return lab_dir() / "heroku"


def api_url() -> str:
    return f"http://{HOST}:{API_PORT}"


def router_url() -> str:
    return f"http://{HOST}:{ROUTER_PORT}"
