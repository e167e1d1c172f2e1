"""Supabase Management API emulator for the appops lab.

A stateful stand-in for the part of the Supabase Management API (``/v1``) that a database restore
needs: projects, their physical backups, restore from a backup and point-in-time recovery, with
the project's status going RESTORING -> ACTIVE_HEALTHY. Each project's database is a real
PostgreSQL database in the lab's cluster (the Heroku emulator's), and backups are real
``pg_dump -Fc`` snapshots that a restore really loads back.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]

API_PORT = int(os.environ.get("SUPABASE_EMU_API_PORT", "18400"))
HOST = "127.0.0.1"

# A personal access token has the shape sbp_ + 40 hex digits; the lab's is fixed.
LAB_TOKEN = "sbp_" + hashlib.sha1(b"appops-lab-supabase").hexdigest()
ORGANIZATION_SLUG = "swbams-projects"
REGION = "us-east-1"


def lab_dir() -> Path:
    return Path(os.environ.get("APPOPS_LAB_DIR") or REPO_ROOT / ".lab")


def state_dir() -> Path:
    return lab_dir() / "supabase"


def api_url() -> str:
    return f"http://{HOST}:{API_PORT}"
