"""Runtime settings read from the environment once at start-up."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# The VERSION file sits next to the package inside the image (/srv/app/VERSION).
VERSION_FILE = Path(__file__).resolve().parent.parent / "VERSION"


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    sqlite_path: str
    maintenance_file: str
    api_keys: tuple[str, ...]
    rate_limit: int
    rate_window_s: int
    listen_host: str
    listen_port: int
    log_level: str
    access_log: bool
    metrics_public: bool
    version: str


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _split_keys(value: str) -> tuple[str, ...]:
    # Compose joins optional keys with commas, so empty items are normal and dropped.
    return tuple(key.strip() for key in value.split(",") if key.strip())


def read_version(environ: Mapping[str, str]) -> str:
    """The ref baked in at build time: APP_VERSION build arg first, then the VERSION file."""
    from_env = environ.get("APP_VERSION", "").strip()
    if from_env:
        return from_env
    try:
        return VERSION_FILE.read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return "unknown"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return Settings(
        database_url=env.get("DATABASE_URL", "postgresql://coffee@127.0.0.1:15432/coffee_db"),
        redis_url=env.get("REDIS_URL", "redis://127.0.0.1:16379/0"),
        sqlite_path=env.get("SQLITE_PATH", "/srv/data/coffee.db"),
        maintenance_file=env.get("MAINTENANCE_FILE", "/srv/state/maintenance.json"),
        api_keys=_split_keys(env.get("API_KEYS", "")),
        rate_limit=int(env.get("RATE_LIMIT", "100")),
        rate_window_s=int(env.get("RATE_WINDOW_SECONDS", "60")),
        listen_host=env.get("LISTEN_HOST", "127.0.0.1"),
        listen_port=int(env.get("LISTEN_PORT", "18000")),
        log_level=env.get("LOG_LEVEL", "info").lower(),
        access_log=_flag(env.get("ACCESS_LOG", "true")),
        metrics_public=_flag(env.get("METRICS_PUBLIC", "true")),
        version=read_version(env),
    )
