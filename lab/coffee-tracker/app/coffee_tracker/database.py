"""PostgreSQL access: a small connection pool that survives database restarts, and the schema."""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions

LOG = logging.getLogger("coffee_tracker.database")

# Errors that mean "the server or the connection is gone", as opposed to a bad query.
CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)

# Any fixed number works; it only has to be the same for every replica.
SCHEMA_LOCK_ID = 4_172_025

TABLES_SQL = """
CREATE TABLE IF NOT EXISTS coffee_logs (
    id          BIGSERIAL PRIMARY KEY,
    coffee_type TEXT        NOT NULL,
    caffeine_mg INTEGER     NOT NULL CHECK (caffeine_mg >= 0),
    notes       TEXT,
    consumed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS heart_rates (
    id          BIGSERIAL PRIMARY KEY,
    bpm         INTEGER     NOT NULL CHECK (bpm BETWEEN 20 AND 250),
    context     TEXT,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""

# Secondary indexes by name; the bulk seeder drops and rebuilds them around large loads.
SECONDARY_INDEXES: dict[str, str] = {
    "coffee_logs_consumed_at_idx":
        "CREATE INDEX IF NOT EXISTS coffee_logs_consumed_at_idx ON coffee_logs (consumed_at)",
    "heart_rates_recorded_at_idx":
        "CREATE INDEX IF NOT EXISTS heart_rates_recorded_at_idx ON heart_rates (recorded_at)",
}

SCHEMA_SQL = TABLES_SQL + "".join(f"{ddl};\n" for ddl in SECONDARY_INDEXES.values())


class Database:
    """Hands out pooled connections; broken ones are dropped instead of being reused."""

    def __init__(self, dsn: str, max_idle: int = 8, connect_timeout_s: int = 3,
                 statement_timeout_ms: int = 30_000) -> None:
        self._dsn = dsn
        self._connect_kwargs = {
            "connect_timeout": connect_timeout_s,
            "options": f"-c statement_timeout={statement_timeout_ms}",
            "application_name": "coffee-tracker",
        }
        self._idle: queue.LifoQueue[psycopg2.extensions.connection] = queue.LifoQueue(max_idle)
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def _take(self) -> psycopg2.extensions.connection:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return psycopg2.connect(self._dsn, **self._connect_kwargs)
            if not conn.closed:
                return conn

    def _give_back(self, conn: psycopg2.extensions.connection) -> None:
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    @staticmethod
    def _discard(conn: psycopg2.extensions.connection) -> None:
        try:
            conn.close()
        except psycopg2.Error:
            pass

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """A connection in a transaction that commits on success and rolls back on error."""
        self.ensure_schema()
        conn = self._take()
        try:
            yield conn
            conn.commit()
        except CONNECTION_ERRORS:
            # After a server restart every pooled connection is dead: drop them all.
            self._discard(conn)
            self.close_idle()
            raise
        except BaseException:
            try:
                conn.rollback()
            except CONNECTION_ERRORS:
                self._discard(conn)
                raise
            self._give_back(conn)
            raise
        self._give_back(conn)

    def close_idle(self) -> None:
        while True:
            try:
                self._discard(self._idle.get_nowait())
            except queue.Empty:
                return

    def ensure_schema(self) -> None:
        """Create the tables once per process; retried on the next use if the server was down."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            conn = psycopg2.connect(self._dsn, **self._connect_kwargs)
            try:
                with conn, conn.cursor() as cur:
                    # Replicas start together; the lock keeps their CREATEs from racing.
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_ID,))
                    cur.execute(SCHEMA_SQL)
            finally:
                conn.close()
            self._schema_ready = True
            LOG.info("database schema ready")

    def probe(self, sql: str) -> bool:
        """True when the probe query succeeds; one retry so a stale pooled connection is no verdict."""
        for _attempt in range(2):
            try:
                with self.connection() as conn, conn.cursor() as cur:
                    cur.execute(sql)
                    cur.fetchall()
                return True
            except CONNECTION_ERRORS:
                continue
            except psycopg2.Error as exc:
                LOG.warning("database probe failed: %s", exc)
                return False
        return False
