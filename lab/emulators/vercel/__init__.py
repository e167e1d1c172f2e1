"""Vercel emulator for the appops lab.

A stateful stand-in for the Vercel REST API (teams, projects, deployments, promote and
rollback, aliases, env vars, build events) and the projects' production domains, on
127.0.0.1. State lives in a SQLite file under the lab folder and survives restarts; the
apps' databases live in the lab's PostgreSQL cluster and Redis (the Heroku emulator's).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]

API_PORT = int(os.environ.get("VERCEL_EMU_API_PORT", "18200"))
DOMAIN_PORT = int(os.environ.get("VERCEL_EMU_DOMAIN_PORT", "18201"))
HOST = "127.0.0.1"

# The CLI accepts only letters, digits and underscores in a token.
LAB_TOKEN = "appops_lab_vercel_token"
TEAM_ID = "team_appopsLabTeam0000000001"
TEAM_SLUG = "swbams-projects"
USER_ID = "usr_appopsLabOperator000001"


def lab_dir() -> Path:
    return Path(os.environ.get("APPOPS_LAB_DIR") or REPO_ROOT / ".lab")


def state_dir() -> Path:
    return lab_dir() / "vercel"


def api_url() -> str:
    return f"http://{HOST}:{API_PORT}"


def domain_url() -> str:
    return f"http://{HOST}:{DOMAIN_PORT}"
