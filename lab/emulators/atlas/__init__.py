"""A stateful MongoDB Atlas Admin API v2 emulator and the lab's MongoDB clusters (nx-27017).

Ports and the state folder come from the environment so a test instance can run beside the
lab's own one: ``ATLAS_EMU_API_PORT`` (18300), ``ATLAS_EMU_MICMAP_PORT`` (18310),
``ATLAS_EMU_FIXZIT_PORT`` (18311), ``APPOPS_LAB_DIR`` (``.lab``; state in ``<lab>/atlas``).
"""

from __future__ import annotations

import os
from pathlib import Path

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[3]


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def api_port() -> int:
    return env_int("ATLAS_EMU_API_PORT", 18300)


def api_url() -> str:
    return f"http://{HOST}:{api_port()}"


def lab_dir() -> Path:
    return Path(os.environ.get("APPOPS_LAB_DIR") or REPO_ROOT / ".lab").resolve()


def state_dir() -> Path:
    return lab_dir() / "atlas"


# Lab credentials: fixed so lab/cli.env, the tests and the docs agree; never real secrets.
ORG_ID = "6650a0000000000000000001"
GROUP_ID = "6650a0000000000000000002"
GROUP_NAME = "appops-lab"
PUBLIC_KEY = os.environ.get("ATLAS_EMU_PUBLIC_KEY", "labpubky")
PRIVATE_KEY = os.environ.get("ATLAS_EMU_PRIVATE_KEY", "0d6a1f62-6c1b-4c55-9d3e-lab000000001")
CLIENT_ID = os.environ.get("ATLAS_EMU_CLIENT_ID", "mdb_sa_id_6650a0000000000000000003")
CLIENT_SECRET = os.environ.get("ATLAS_EMU_CLIENT_SECRET", "mdb_sa_sk_labsecretlabsecretlabsecret0001")

# The emulated clusters: name, the app that uses it, its tier, its database and port setting.
CLUSTERS: tuple[dict[str, object], ...] = (
    {"name": "micmap-cluster", "app": "micmap", "instanceSize": "M0", "database": "micmap",
     "port_env": "ATLAS_EMU_MICMAP_PORT", "port": 18310, "pitEnabled": False},
    {"name": "fixzit-cluster", "app": "fixzit", "instanceSize": "M30", "database": "fixzit",
     "port_env": "ATLAS_EMU_FIXZIT_PORT", "port": 18311, "pitEnabled": True},
)


def cluster_port(spec: dict[str, object]) -> int:
    return env_int(str(spec["port_env"]), int(spec["port"]))  # type: ignore[arg-type]


def cluster_uri(spec: dict[str, object]) -> str:
    return f"mongodb://{HOST}:{cluster_port(spec)}/{spec['database']}"
