"""The apps' real PostgreSQL databases: create, seed, dump, restore, probe.

Each app with the heroku-postgresql add-on owns one database and one login role in the
emulator's cluster; ``DATABASE_URL`` carries that role, as on Heroku.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from . import HOST, PG_PORT
from .services import PG_BIN, admin_dsn, admin_password

RAILS_TABLES = ("workers", "shifts", "assignments")


@dataclass(frozen=True)
class AppDatabase:
    """Connection facts for one app's database."""

    name: str
    role: str
    password: str

    @property
    def url(self) -> str:
        return f"postgres://{self.role}:{self.password}@{HOST}:{PG_PORT}/{self.name}"

    def dsn(self, timeout: int = 3) -> str:
        return (f"host={HOST} port={PG_PORT} user={self.role} password={self.password} dbname={self.name} "
                f"connect_timeout={timeout}")

    def pg_env(self) -> dict[str, str]:
        return dict(os.environ, PGHOST=HOST, PGPORT=str(PG_PORT), PGUSER=self.role, PGPASSWORD=self.password,
                    PGDATABASE=self.name, PGCONNECT_TIMEOUT="5")


def database_for(app_name: str) -> AppDatabase:
    """Stable names and a password derived from the cluster secret, so resets keep DATABASE_URL."""
    ident = re.sub(r"[^a-z0-9_]", "_", app_name.lower())
    password = hashlib.sha256(f"{admin_password()}:{app_name}".encode()).hexdigest()[:24]
    return AppDatabase(name=ident, role=ident, password=password)


def _admin_connection():  # type: ignore[no-untyped-def]
    connection = psycopg2.connect(admin_dsn())
    connection.autocommit = True
    return connection


def drop_database(db: AppDatabase) -> None:
    connection = _admin_connection()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name)))
    connection.close()


def create_database(db: AppDatabase) -> None:
    """Drop and recreate the app's database and role (used by reset and app creation)."""
    drop_database(db)
    connection = _admin_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db.role,))
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        cursor.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(db.role)), (db.password,))
        cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db.name), sql.Identifier(db.role)))
    connection.close()


def seed_rails_schema(db: AppDatabase, workers: int, shifts: int, assignments: int, schema_version: int,
                      seed: int) -> None:
    """The Social Catering tables with deterministic rows, plus Rails' schema_migrations."""
    rng = random.Random(seed)
    connection = psycopg2.connect(db.dsn())
    with connection, connection.cursor() as cursor:
        cursor.execute("""
            CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
            CREATE TABLE ar_internal_metadata (key varchar PRIMARY KEY, value varchar,
                created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
            CREATE TABLE workers (id bigserial PRIMARY KEY, first_name varchar NOT NULL, last_name varchar NOT NULL,
                email varchar NOT NULL UNIQUE, phone varchar, active boolean NOT NULL DEFAULT true,
                created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now());
            CREATE TABLE shifts (id bigserial PRIMARY KEY, title varchar NOT NULL, location varchar,
                starts_at timestamp NOT NULL, ends_at timestamp NOT NULL, capacity integer NOT NULL DEFAULT 1,
                created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now());
            CREATE TABLE assignments (id bigserial PRIMARY KEY,
                worker_id bigint NOT NULL REFERENCES workers(id), shift_id bigint NOT NULL REFERENCES shifts(id),
                status varchar NOT NULL DEFAULT 'assigned', created_at timestamp NOT NULL DEFAULT now(),
                updated_at timestamp NOT NULL DEFAULT now());
            INSERT INTO ar_internal_metadata VALUES ('environment', 'production', now(), now());
        """)
        first = ["Ana", "Ben", "Chloe", "Dev", "Ema", "Femi", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena"]
        last = ["Ortiz", "Nguyen", "Smith", "Haddad", "Kowalski", "Mensah", "Rossi", "Tanaka", "Weber", "Young"]
        cursor.executemany(
            "INSERT INTO workers (first_name, last_name, email, phone, active) VALUES (%s, %s, %s, %s, %s)",
            [(rng.choice(first), rng.choice(last), f"worker{i}@example.com", f"555-{1000 + i}", rng.random() > 0.1)
             for i in range(1, workers + 1)])
        titles = ["Server", "Bartender", "Line Cook", "Dishwasher", "Event Captain", "Busser"]
        cursor.executemany(
            "INSERT INTO shifts (title, location, starts_at, ends_at, capacity) VALUES (%s, %s,"
            " timestamp '2025-11-01 08:00' + make_interval(hours => %s),"
            " timestamp '2025-11-01 14:00' + make_interval(hours => %s), %s)",
            [(rng.choice(titles), rng.choice(["Downtown", "Harbor", "Airport"]), 6 * i, 6 * i, rng.randint(1, 6))
             for i in range(shifts)])
        cursor.executemany(
            "INSERT INTO assignments (worker_id, shift_id, status) VALUES (%s, %s, %s)",
            [(rng.randint(1, workers), rng.randint(1, shifts), rng.choice(["assigned", "confirmed", "completed"]))
             for _ in range(assignments)])
        cursor.execute("INSERT INTO schema_migrations VALUES (%s)", (str(schema_version),))
    connection.close()


def set_allow_connections(db: AppDatabase, allowed: bool) -> None:
    """Make the database really unreachable (or reachable again), dropping live sessions."""
    connection = _admin_connection()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS " + ("true" if allowed else "false"))
                       .format(sql.Identifier(db.name)))
        if not allowed:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db.name,))
    connection.close()


def probe(db: AppDatabase, timeout: int = 2) -> float | None:
    """Milliseconds for connect + ``SELECT 1``; None when the database is unreachable."""
    started = time.monotonic()
    try:
        connection = psycopg2.connect(db.dsn(timeout))
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        connection.close()
    except psycopg2.Error:
        return None
    return (time.monotonic() - started) * 1000


def count_rows(db: AppDatabase, table: str) -> int:
    connection = psycopg2.connect(db.dsn())
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


def schema_version(db: AppDatabase) -> int:
    """Rails' ``migration_context.current_version``: the highest applied migration, 0 if none."""
    connection = psycopg2.connect(db.dsn())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return 0
            cursor.execute("SELECT coalesce(max(version::bigint), 0) FROM schema_migrations")
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


def migrate_to(db: AppDatabase, version: int) -> bool:
    """Record ``version`` as applied, as ``rails db:migrate`` would; True when it was pending."""
    connection = psycopg2.connect(db.dsn())
    with connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version varchar PRIMARY KEY)")
        cursor.execute("INSERT INTO schema_migrations VALUES (%s) ON CONFLICT DO NOTHING", (str(version),))
        applied = cursor.rowcount == 1
    connection.close()
    return applied


def database_size(db: AppDatabase) -> tuple[int, int]:
    """(bytes, tables) for pg:info."""
    connection = psycopg2.connect(db.dsn())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database()),"
                           " (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')")
            size, tables = cursor.fetchone()
            return int(size), int(tables)
    finally:
        connection.close()


def dump(db: AppDatabase, target: Path) -> subprocess.CompletedProcess[str]:
    """A real ``pg_dump -Fc`` of the app's database, as Heroku's backups are."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(PG_BIN / "pg_dump"), "-Fc", "--no-owner", "--no-acl", "-f", str(target)],
                          env=db.pg_env(), capture_output=True, text=True, check=False)


def restore(db: AppDatabase, source: Path) -> subprocess.CompletedProcess[str]:
    """``pg_restore --clean --if-exists`` into the app's database, as ``pg:backups:restore`` does."""
    return subprocess.run([str(PG_BIN / "pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-acl",
                           "-d", db.name, str(source)], env=db.pg_env(), capture_output=True, text=True, check=False)
