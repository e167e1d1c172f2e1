"""Load synthetic data fast: rows are generated inside PostgreSQL with generate_series.

    python3 -m coffee_tracker.seed ROWS [--jobs 2] [--audit-rows 20] [--if-empty]

ROWS coffee_logs rows are appended (plus ROWS/10 heart_rates rows), split over --jobs
parallel sessions, and a few audit events go to the SQLite store. A quarter of the rows
carry notes, so a row costs ~110 bytes with its indexes: 9 M rows make ~1 GB.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time

import psycopg2

from coffee_tracker import audit
from coffee_tracker.database import SECONDARY_INDEXES, Database
from coffee_tracker.settings import load_settings

# From this many rows on, dropping and rebuilding the secondary indexes beats maintaining them.
BULK_THRESHOLD = 200_000

COFFEE_SQL = """
INSERT INTO coffee_logs (coffee_type, caffeine_mg, notes, consumed_at)
SELECT (ARRAY['espresso','latte','cappuccino','americano','cold brew',
              'flat white','mocha','drip'])[1 + g %% 8],
       (ARRAY[63, 77, 77, 95, 155, 130, 95, 120])[1 + g %% 8] + (g %% 7) * 3,
       CASE WHEN g %% 4 = 0 THEN 'seeded cup ' || g || ', morning rush' END,
       now() - ((g * 7919) %% 31536000) * interval '1 second'
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
"""

HEART_RATE_SQL = """
INSERT INTO heart_rates (bpm, context, recorded_at)
SELECT 55 + (g * 37) %% 70,
       (ARRAY['resting','after coffee','walking','working'])[1 + g %% 4],
       now() - ((g * 6007) %% 31536000) * interval '1 second'
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
"""


def split_ranges(total: int, parts: int) -> list[tuple[int, int]]:
    """Split 1..total into at most `parts` contiguous inclusive ranges."""
    parts = max(1, min(parts, total))
    size, extra = divmod(total, parts)
    ranges, start = [], 1
    for index in range(parts):
        end = start + size - 1 + (1 if index < extra else 0)
        ranges.append((start, end))
        start = end + 1
    return [r for r in ranges if r[0] <= r[1]]


def _insert_range(dsn: str, sql: str, first: int, last: int, errors: list[BaseException]) -> None:
    try:
        conn = psycopg2.connect(dsn, application_name="coffee-tracker-seed")
        try:
            with conn, conn.cursor() as cur:
                # The seed is reproducible, so it need not wait for each WAL flush.
                cur.execute("SET LOCAL synchronous_commit = off")
                cur.execute(sql, {"first": first, "last": last})
        finally:
            conn.close()
    except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
        errors.append(exc)


def load_parallel(dsn: str, sql: str, total: int, jobs: int) -> None:
    if total <= 0:
        return
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_insert_range, args=(dsn, sql, first, last, errors))
               for first, last in split_ranges(total, jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def rebuild_indexes(dsn: str) -> None:
    with psycopg2.connect(dsn, application_name="coffee-tracker-seed") as conn, conn.cursor() as cur:
        for ddl in SECONDARY_INDEXES.values():
            cur.execute(ddl)


def drop_indexes(dsn: str) -> None:
    with psycopg2.connect(dsn, application_name="coffee-tracker-seed") as conn, conn.cursor() as cur:
        for name in SECONDARY_INDEXES:
            cur.execute(f"DROP INDEX IF EXISTS {name}")  # fixed names from database.py


def load_all(dsn: str, rows: int, jobs: int) -> None:
    """Append the rows; large loads build the secondary indexes once at the end (far faster)."""
    bulk = rows >= BULK_THRESHOLD
    if bulk:
        drop_indexes(dsn)
    try:
        load_parallel(dsn, COFFEE_SQL, rows, jobs)
        load_parallel(dsn, HEART_RATE_SQL, rows // 10, jobs)
    finally:
        if bulk:
            rebuild_indexes(dsn)


def count_rows(dsn: str, table: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")  # table is one of our fixed names
        return int(cur.fetchone()[0])


def seed_audit(path: str, rows: int) -> None:
    now = audit.utc_now()
    events = [(now, "seed.loaded", "coffee_logs", None, json.dumps({"batch": index}))
              for index in range(rows)]
    audit.record_many(path, events)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="coffee_tracker.seed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", type=int, help="coffee_logs rows to append")
    parser.add_argument("--jobs", type=int, default=2, help="parallel sessions (default 2)")
    parser.add_argument("--audit-rows", type=int, default=20, help="SQLite audit events to add")
    parser.add_argument("--if-empty", action="store_true",
                        help="do nothing when coffee_logs already holds rows")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = load_settings()
    Database(settings.database_url).ensure_schema()  # the app may not have run yet
    if args.if_empty and count_rows(settings.database_url, "coffee_logs") > 0:
        print(json.dumps({"seeded": False, "reason": "coffee_logs not empty"}))
        return 0
    started = time.monotonic()
    load_all(settings.database_url, args.rows, args.jobs)
    seed_audit(settings.sqlite_path, args.audit_rows)
    with psycopg2.connect(settings.database_url) as conn, conn.cursor() as cur:
        cur.execute("ANALYZE coffee_logs; ANALYZE heart_rates")
    print(json.dumps({
        "seeded": True,
        "coffee_logs": args.rows,
        "heart_rates": args.rows // 10,
        "audit_events": args.audit_rows,
        "seconds": round(time.monotonic() - started, 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
