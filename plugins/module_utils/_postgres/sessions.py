# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database sessions of one run, found by the application_name its runners gave them.

A ``pg_restore`` started through ``docker exec`` (or a server-side statement of a controller that
died) keeps running after its client is killed; the run that takes over the killed run's lock
waits for those sessions to end before it restores the same database again.
"""

from __future__ import annotations

import re
import time
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._postgres.engine import Postgres
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# Sessions of every procedure of one run: appops-<procedure>-<token>. The token is checked
# against TOKEN_PATTERN before it is put into the statement.
SESSIONS_SQL = """SELECT coalesce(json_agg(json_build_object(
    'pid', pid, 'application_name', application_name, 'state', state,
    'started_at', to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'query', left(query, 200)) ORDER BY pid), '[]'::json)
  FROM pg_stat_activity
  WHERE pid <> pg_backend_pid() AND application_name LIKE 'appops-%-' || '{token}'"""


def check_token(token: str) -> str:
    if not TOKEN_PATTERN.fullmatch(token or ""):
        raise PostgresError(f"run token {token!r} must be 1-128 letters, digits, '_', '.' or '-'")
    return token


def sessions_of_run(database: Postgres, token: str) -> list[dict[str, t.Any]]:
    """The server's sessions whose application_name names run token (not the one asking)."""
    statement = SESSIONS_SQL.format(token=check_token(token))
    return list(database.query_json(statement, "reading pg_stat_activity") or [])


def wait_for_sessions_to_end(database: Postgres, token: str, timeout: float, interval: float = 2.0,
                             clock: t.Callable[[], float] = time.monotonic,
                             sleep: t.Callable[[float], None] = time.sleep) -> tuple[list[dict[str, t.Any]], float]:
    """(the sessions still there after at most timeout seconds, the seconds waited)."""
    started = clock()
    found = sessions_of_run(database, token)
    while found and clock() - started < timeout:
        sleep(min(interval, max(0.0, timeout - (clock() - started))))
        found = sessions_of_run(database, token)
    return found, round(clock() - started, 1)
