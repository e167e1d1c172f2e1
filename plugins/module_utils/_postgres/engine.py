# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PostgreSQL engine: dump, verify, row counts, catalog fingerprint, restore.

Every command goes through a runner (``runners.py``), so a compose store (``docker exec``), a
Heroku database and a Supabase database (the tools of this machine with a URL) share this code.
"""

from __future__ import annotations

import json
import shlex
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._postgres import scripts, sql
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.runners import Runner

# Shell words that prove an archive complete (pg_restore --list reads its whole table of
# contents) and print the version of the pg_restore that read it; "$0" is the archive.
ARCHIVE_CHECK = 'pg_restore --list "$0" > /dev/null && pg_restore --version'
# The rows of each table, read back from the archive's COPY blocks (its own snapshot).
ARCHIVE_ROWS = f'pg_restore --data-only --file=- "$0" | awk {shlex.quote(scripts.COUNT_ARCHIVE_ROWS)}'


class Postgres:
    """One database, reached through a runner."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def psql_argv(self, *statements: str) -> list[str]:
        """psql printing bare values; each statement runs in its own transaction, one line each."""
        commands = [part for statement in statements for part in ("--command", statement)]
        return ["psql", "--no-psqlrc", "--no-align", "--tuples-only", "--quiet", "--set=ON_ERROR_STOP=1",
                *self.runner.connection_args(), *commands]

    def query_json(self, statement: str, what: str) -> t.Any:
        return json.loads(self.runner.run(self.psql_argv(statement), what))

    def catalog(self) -> tuple[dict[str, int], str]:
        """(table name -> oid, md5 of the schema's other definitions), from the catalog alone."""
        found = self.query_json(sql.CATALOG_SQL, "reading the catalog")
        return {name: int(oid) for name, oid in (found["tables"] or {}).items()}, str(found["schema"])

    def table_oids(self) -> dict[str, int]:
        return self.catalog()[0]

    def fingerprint(self, tables: t.Mapping[str, int] | None = None, since_xid: str | int | None = None,
                    with_xid: bool = False) -> dict[str, t.Any]:
        """{server_version, xid, tables: {name: {oid, rows, newer}}} of the live database.

        ``tables`` (name -> oid, from table_oids) saves listing them again.
        """
        tables = self.table_oids() if tables is None else tables
        if not with_xid:
            return self.query_json(sql.fingerprint_sql(tables, since_xid), "counting the rows")
        # The xid comes first, in a statement of its own: pg_current_xact_id() is parallel unsafe and
        # would keep the counts from scanning in parallel, and a row written in between then shows as
        # newer than the restore (a needless restore next time, never a missed one).
        out = self.runner.run(self.psql_argv(sql.CURRENT_XID_SQL, sql.fingerprint_sql(tables, since_xid)),
                              "counting the rows")
        xid, _newline, counts = out.strip().partition("\n")
        return {**json.loads(counts), "xid": xid.strip()}

    def live_facts(self) -> dict[str, t.Any]:
        """{row_counts, server_version} of the live tables, exact counts, one psql call."""
        out = self.runner.run(self.psql_argv(sql.SERVER_VERSION_SQL, sql.live_rows_sql()), "counting the rows")
        facts = parse_tool_output(out)
        return {"row_counts": facts["row_counts"], "server_version": facts["server_version"]}

    def dump(self, path: str, compression: int) -> None:
        self.runner.run(
            ["pg_dump", "--format=custom", f"--compress={compression}", *self.runner.connection_args(),
             f"--file={path}"],
            "pg_dump",
        )

    def verify_dump(self, path: str, rows_from_live_tables: bool) -> dict[str, t.Any]:
        """One command: pg_restore --list proves the archive complete, then versions and row counts.

        Row counts come from the archive itself (its own snapshot) unless nothing writes, when
        an exact count(*) of the live tables gives the same numbers without reading it back.
        """
        counts = shlex.join(self.psql_argv(sql.live_rows_sql())) if rows_from_live_tables else ARCHIVE_ROWS
        script = (f"{ARCHIVE_CHECK} && pg_dump --version && "
                  f"{shlex.join(self.psql_argv(sql.SERVER_VERSION_SQL))} && {counts}")
        facts = parse_tool_output(self.runner.run(["bash", "-o", "pipefail", "-c", script, path], "verifying the dump"))
        if facts["server_version"] is None:
            raise PostgresError("verifying the dump gave no server version")
        return facts

    def inspect_archive(self, path: str) -> dict[str, t.Any]:
        """An archive on its own, no database needed: complete (pg_restore --list), and its rows."""
        script = f"{ARCHIVE_CHECK} && {ARCHIVE_ROWS}"
        facts = parse_tool_output(self.runner.run(["bash", "-o", "pipefail", "-c", script, path],
                                                  "verifying the archive"))
        return {"row_counts": facts["row_counts"], "tool_versions": {"pg_restore": facts["tool_versions"]["pg_restore"]}}

    def restore(self, path: str, jobs: int, pgoptions: str, parallel_copy_min_rows: int = 0,
                row_counts: t.Mapping[str, int] | None = None) -> dict[str, t.Any]:
        """pg_restore --clean --if-exists --jobs; the tables the manifest counts at least
        ``parallel_copy_min_rows`` rows in get their rows through ``jobs`` COPY sessions at once.

        Returns how the restore ran: method, jobs, and the tables loaded in parallel streams.
        """
        env = {"PGOPTIONS": pgoptions} if pgoptions else None
        plan = None
        if jobs > 1 and parallel_copy_min_rows > 0 and row_counts:
            plan = self.parallel_copy_plan(path, parallel_copy_min_rows, row_counts)
        if plan is None or not plan.entries:
            self.runner.run(
                ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--jobs={jobs}",
                 *self.runner.connection_args(), path],
                "pg_restore", env=env)
            return {"method": "pg_restore", "jobs": jobs, "parallel_copy_tables": [],
                    "note": plan.note if plan is not None else ""}
        self.runner.run(
            ["bash", "-c", scripts.PARALLEL_COPY_RESTORE, path, str(jobs), str(jobs), "\n".join(plan.rest),
             "\n".join(plan.entries), scripts.COPY_SPLITTER, *self.runner.connection_args()],
            "pg_restore with parallel COPY", env=env)
        return {"method": "pg_restore with parallel COPY", "jobs": jobs, "parallel_copy_tables": plan.tables,
                "note": ""}

    def parallel_copy_plan(self, path: str, min_rows: int, row_counts: t.Mapping[str, int]) -> scripts.ParallelCopyPlan:
        """The archive's TOC split into the big tables' data entries and the rest (one command)."""
        out = self.runner.run(
            ["bash", "-c", 'if command -v perl > /dev/null; then echo "PERL yes"; fi; pg_restore --list "$0"', path],
            "pg_restore --list")
        has_perl, _newline, toc = out.partition("\n") if out.startswith("PERL yes\n") else ("", "", out)
        if not has_perl:
            return scripts.ParallelCopyPlan([], toc.splitlines(), [], "no perl where the tools run: one COPY per table")
        return scripts.plan_parallel_copy(toc, min_rows, row_counts)


def parse_tool_output(out: str) -> dict[str, t.Any]:
    """The facts the engine's scripts print: ``ROWS {json}``, ``SERVER_VERSION v``, tool versions."""
    lines = out.splitlines()
    rows = next((line[5:] for line in lines if line.startswith("ROWS ")), None)
    version = next((line[15:].strip() for line in lines if line.startswith("SERVER_VERSION ")), None)
    if rows is None:
        raise PostgresError(f"the tools printed no row counts: {out.strip()[-400:]}")
    return {
        "row_counts": json.loads(rows),
        "server_version": version,
        "tool_versions": {tool: next((line for line in lines if line.startswith(tool + " ")), "")
                          for tool in ("pg_dump", "pg_restore")},
    }
