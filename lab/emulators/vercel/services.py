"""What the Vercel emulator stands on and how it runs: the lab's PostgreSQL cluster and Redis
(started through the Heroku emulator's service code, so one cluster serves both), mysetlist's
database, the emulator process, and the CLI settings written for operators."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import psycopg2

from heroku import REDIS_PORT
from heroku import database as pg
from heroku import services as base

from . import API_PORT, LAB_TOKEN, TEAM_ID, api_url, state_dir

MYSETLIST_DB = "mysetlist"
ServiceError = base.ServiceError


def ensure_services() -> None:
    base.ensure_postgres()
    base.ensure_redis()


def stop_services() -> None:
    base.stop_redis()
    base.stop_postgres()


def database_url() -> str:
    return pg.database_for(MYSETLIST_DB).url


def redis_url() -> str:
    return f"redis://127.0.0.1:{REDIS_PORT}/2"


def reset_databases() -> None:
    """mysetlist's database (the stand-in for its Supabase project) back to the seed rows."""
    db = pg.database_for(MYSETLIST_DB)
    pg.create_database(db)
    seed_mysetlist(db.dsn())


def seed_mysetlist(dsn: str) -> None:
    rng = random.Random(1)
    artists = ["Phoebe Bridgers", "The National", "Big Thief", "Fleet Foxes", "Japanese Breakfast", "Wilco"]
    venues = ["Red Rocks", "The Fillmore", "Brooklyn Steel", "9:30 Club", "The Greek Theatre"]
    words = ["Motion", "Sickness", "Garden", "Kyoto", "Light", "Bloodbuzz", "Ohio", "Not", "Helplessness", "Blues"]
    connection = psycopg2.connect(dsn)
    with connection, connection.cursor() as cursor:
        cursor.execute("""
            CREATE TABLE shows (id bigserial PRIMARY KEY, artist text NOT NULL, venue text NOT NULL,
                city text, show_date date NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE songs (id bigserial PRIMARY KEY, title text NOT NULL, artist text NOT NULL,
                spotify_id text UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE setlists (id bigserial PRIMARY KEY, show_id bigint NOT NULL REFERENCES shows(id),
                song_id bigint NOT NULL REFERENCES songs(id), position integer NOT NULL,
                votes integer NOT NULL DEFAULT 0, UNIQUE (show_id, position));
        """)
        cursor.executemany("INSERT INTO shows (artist, venue, city, show_date) VALUES (%s, %s, %s,"
                           " date '2026-01-01' + %s)",
                           [(rng.choice(artists), rng.choice(venues), "Lab City", i * 3) for i in range(40)])
        cursor.executemany("INSERT INTO songs (title, artist, spotify_id) VALUES (%s, %s, %s)",
                           [(f"{rng.choice(words)} {rng.choice(words)}", rng.choice(artists), f"sp{i:06d}")
                            for i in range(120)])
        cursor.executemany("INSERT INTO setlists (show_id, song_id, position, votes) VALUES (%s, %s, %s, %s)",
                           [(show, rng.randint(1, 120), pos, rng.randint(0, 50)) for show in range(1, 41)
                            for pos in range(1, 11)])
    connection.close()


# --------------------------------------------------------------------------- the emulator process

def _pidfile() -> Path:
    return state_dir() / "emulator.pid"


def emulator_healthy() -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(f"{api_url()}/__lab/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_emulator(extra_args: list[str]) -> None:
    base.start_module("vercel", state_dir(), API_PORT, emulator_healthy, "the Vercel emulator", extra_args)


def stop_emulator() -> None:
    base._kill_pidfile(_pidfile())


# --------------------------------------------------------------------------- CLI settings

BEGIN = "# >>> vercel emulator (lab/emulators/lab-up.sh)"
END = "# <<< vercel emulator"


def global_config_dir() -> Path:
    return state_dir() / "cli-config"


def write_global_config() -> Path:
    """The Vercel CLI's global config folder (``-Q DIR``): its only way to another API URL."""
    folder = global_config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"api": api_url(), "telemetry": {"enabled": False}}) + "\n")
    auth = folder / "auth.json"
    auth.write_text(json.dumps({"token": LAB_TOKEN}) + "\n")
    auth.chmod(0o600)
    return folder


def write_cli_env(path: Path, project_ids: dict[str, str]) -> None:
    """Add (or replace) the Vercel lines in the lab's CLI env file, keeping it 0600."""
    folder = write_global_config()
    lines = [BEGIN,
             f"VERCEL_API_URL={api_url()}",
             f"VERCEL_GLOBAL_CONFIG={folder}",
             f"VERCEL_TOKEN={LAB_TOKEN}",
             f"VERCEL_ORG_ID={TEAM_ID}",
             *(f"VERCEL_PROJECT_ID_{name.upper().replace('-', '_')}={ident}" for name, ident in
               sorted(project_ids.items())),
             "VERCEL_TELEMETRY_DISABLED=1",
             "NO_UPDATE_NOTIFIER=1",
             "VERCEL_CLI_USE_NATIVE_BINARY=0",
             END]
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
