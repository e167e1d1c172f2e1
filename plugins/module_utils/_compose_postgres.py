# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL inside a Docker Compose service: exec, dump, restore, table fingerprints.

Private to this collection. Commands run with ``docker exec`` in the service's container,
which is found once by the labels Compose puts on it; every ``docker compose`` call costs a
project load, and a restore makes several execs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import typing as t

RunCommand = t.Callable[..., t.Tuple[int, str, str]]

PROJECT_DIR_LABEL = "com.docker.compose.project.working_dir"
SERVICE_LABEL = "com.docker.compose.service"
# Schemas of the database's own objects (n is pg_namespace).
USER_NAMESPACE = r"""n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'"""
# Every ordinary table of the database, named as pg_dump's COPY lines name them.
USER_TABLES = f"""
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r'
    AND {USER_NAMESPACE}"""
# Table name -> oid from the catalog alone: enough to see a table dropped, added or recreated.
TABLE_OIDS_SQL = ("SELECT coalesce(json_object_agg(format('%I.%I', n.nspname, c.relname), c.oid::bigint), "
                  "'{}'::json)" + USER_TABLES)
# One md5 over the definitions the restore recreates besides the tables themselves: a dropped
# column, default, constraint, index, view, trigger or function loses data or behaviour while
# every table keeps its oid and its rows, so the table set and the counts alone cannot see it.
SCHEMA_HASH_SQL = rf"""SELECT md5(coalesce(string_agg(line, E'\n' ORDER BY line), '')) FROM (
  SELECT format('column %s %s %s %s %s', a.attrelid::regclass, quote_ident(a.attname),
                format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) AS line
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {USER_NAMESPACE}
  UNION ALL
  SELECT format('constraint %s %s %s', co.conrelid::regclass, quote_ident(co.conname), pg_get_constraintdef(co.oid))
    FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace WHERE {USER_NAMESPACE}
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER_NAMESPACE}
  UNION ALL
  SELECT format('view %s %s', c.oid::regclass, pg_get_viewdef(c.oid))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND {USER_NAMESPACE}
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(tg.oid)
    FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT tg.tgisinternal AND {USER_NAMESPACE}
  UNION ALL
  SELECT format('function %s.%s(%s) %s', quote_ident(n.nspname), quote_ident(p.proname),
                pg_get_function_identity_arguments(p.oid), md5(coalesce(p.prosrc, '')))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER_NAMESPACE}
) definitions"""
# Both in one psql call: the plan reads the catalog once.
CATALOG_SQL = f"SELECT json_build_object('tables', ({TABLE_OIDS_SQL}), 'schema', ({SCHEMA_HASH_SQL}))::text"
# What format('%I.%I') makes of a table name: plain lowercase words or double-quoted ones;
# groups 1 or 2 hold the schema, 3 or 4 the table (2 and 4 still with doubled quotes).
QUOTED_NAME = re.compile(r'^(?:([a-z_][a-z0-9_$]*)|"((?:[^"]|"")+)")\.(?:([a-z_][a-z0-9_$]*)|"((?:[^"]|"")+)")$')
# A line of `pg_restore --list` for a table's rows: "<id>; <catalog oid> <oid> TABLE DATA <schema> <table> <owner>".
TOC_TABLE_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (.+) \S+$")
# awk over `pg_restore --data-only --file=-`: the rows of each COPY block of the archive. The
# table is the schema-qualified name after COPY, as pg_dump quoted it (it may hold spaces).
COUNT_ARCHIVE_ROWS = r"""BEGIN {printf "ROWS {"}
/^COPY / {match($0, /^COPY ([a-z_][a-z0-9_$]*|"([^"]|"")+")[.]([a-z_][a-z0-9_$]*|"([^"]|"")+")/)
          table=substr($0, 6, RLENGTH - 5); gsub(/"/, "\\\"", table); rows=0; copying=1; next}
copying && /^\\\.$/ {printf "%s\"%s\": %d", sep, table, rows; sep=", "; copying=0; next}
copying {rows++}
END {print "}"}"""

# A restore in pg_restore --clean's order, except that each big table's rows go through several
# COPY sessions at once: pg_restore --jobs spreads tables over its sessions but loads one table
# in one session, which keeps a single core busy for most of a restore with one big table.
# Arguments: $0 archive, $1 pg_restore jobs, $2 COPY streams per big table, $3 the TOC lines of
# everything else, $4 the TOC lines of the big tables' data, $5 COPY_SPLITTER, then connection args.
PARALLEL_COPY_RESTORE = r"""
set -euo pipefail
archive=$0 jobs=$1 streams=$2 splitter=$5
work=$(mktemp -d)
others=
trap 'if [ -n "$others" ]; then kill "$others" 2> /dev/null || true; fi; rm -rf "$work"' EXIT
printf '%s\n' "$3" > "$work/rest.list"
printf '%s\n' "$4" > "$work/big.list"
shift 5
# --clean drops post-data first (foreign keys before the tables they point at): the drop
# statements are what precedes the first created object in pg_restore's own script.
pg_restore --clean --if-exists --section=post-data --file=- "$archive" \
  | awk '/^-- Name: /{created=1} !created' \
  | psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --output=/dev/null "$@" --file=-
pg_restore --clean --if-exists --no-owner --section=pre-data --use-list="$work/rest.list" "$@" "$archive"
# The other tables' rows load beside the big ones.
pg_restore --no-owner --section=data --use-list="$work/rest.list" "$@" "$archive" &
others=$!
pg_restore --data-only --use-list="$work/big.list" --file=- "$archive" | perl -e "$splitter" "$streams" "$@"
wait "$others"
others=
pg_restore --no-owner --section=post-data --jobs="$jobs" "$@" "$archive"
"""
# perl (every Debian PostgreSQL image has it: its client wrappers are perl) over the text of
# `pg_restore --data-only`: each COPY block's rows are dealt, in chunks of whole lines, to STREAMS
# psql sessions that COPY into the same table; the session settings of the script go first. A
# statement outside COPY (an archive dumped with --inserts) goes to one more session, in order.
# Arguments: STREAMS, then psql's connection args.
COPY_SPLITTER = r"""
use strict;
use warnings;
binmode STDIN;
my ($streams, @connection) = @ARGV;
my @psql = ('psql', '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--output=/dev/null', @connection);
my $chunk = 256 * 1024;
my $pipe_size = 1 << 20;  # F_SETPIPE_SZ below: room for chunks while another session is fed
my ($buffer, $eof, $settings) = ('', 0, '');
my @seen;  # header lines, for a statements session opened later
my $statements;  # that session, once a statement outside COPY shows up

sub fill {
    return 0 if $eof;
    my $got = read(STDIN, my $more, $chunk);
    die "reading the archive's rows: $!\n" unless defined $got;
    $eof = 1 if $got == 0;
    $buffer .= $more;
    return $got > 0;
}

sub next_line {
    while (1) {
        my $end = index($buffer, "\n");
        return substr($buffer, 0, $end + 1, '') if $end >= 0;
        next if fill();
        return length($buffer) ? substr($buffer, 0, length($buffer), '') : undef;
    }
}

sub session {
    my @command = @_;
    open(my $session, '|-', @psql, @command) or die "cannot start psql: $!\n";
    binmode $session;
    fcntl($session, 1031, $pipe_size);
    return $session;
}

sub finish {
    my ($session, $what) = @_;
    close($session) or die "psql failed on $what (exit " . ($? >> 8) . ")\n";
}

sub copy_rows {
    my ($target) = @_;
    my @settings = length($settings) ? ('--command', $settings) : ();
    my @sessions = map { session(@settings, '--command', "COPY $target FROM STDIN") } 1 .. $streams;
    my $turn = 0;
    while (1) {
        # The buffer starts at a line's start: the terminator is a line of its own.
        my $end = substr($buffer, 0, 3) eq "\\.\n" ? 0 : index($buffer, "\n\\.\n");
        if ($end >= 0) {
            my $rows = substr($buffer, 0, $end == 0 ? 0 : $end + 1, '');
            substr($buffer, 0, 3, '');
            print { $sessions[$turn] } $rows if length $rows;
            last;
        }
        my $last_newline = rindex($buffer, "\n");
        if (length($buffer) >= $chunk && $last_newline >= 0) {
            print { $sessions[$turn] } substr($buffer, 0, $last_newline + 1, '');
            $turn = ($turn + 1) % @sessions;
        }
        fill() or die "the archive ends inside the rows of $target\n";
    }
    finish($_, "the rows of $target") for @sessions;
}

while (defined(my $line = next_line())) {
    if ($line =~ /^COPY (.+) FROM stdin;\n\z/) {
        copy_rows($1);
    } elsif (!$statements && $line =~ /^(?:SET |SELECT pg_catalog\.set_config\()/) {
        $settings .= $line;
        push @seen, $line;
    } elsif (!$statements && $line =~ /^(?:--|\s*$|\\)/) {
        push @seen, $line;
    } else {
        $statements //= session('--file=-');
        print { $statements } @seen, $line;
        @seen = ();
    }
}
finish($statements, 'the statements outside COPY') if $statements;
"""


class ComposeError(Exception):
    """A docker command failed; the message names the command, never the environment."""


class ComposeService:
    """One service of a Compose project on this host, reached through the docker CLI."""

    def __init__(self, run_command: RunCommand, project_dir: str, service: str, docker: str = "docker") -> None:
        self.run_command = run_command
        self.project_dir = os.path.realpath(project_dir)
        self.service = service
        self.docker = docker
        self._container: str | None = None

    def container(self) -> str:
        if self._container is None:
            self._container = self._find_by_labels() or self._find_with_compose()
        return self._container

    def _find_by_labels(self) -> str | None:
        rc, out, _err = self.run_command([
            self.docker, "ps", "--quiet", "--no-trunc",
            "--filter", f"label={PROJECT_DIR_LABEL}={self.project_dir}",
            "--filter", f"label={SERVICE_LABEL}={self.service}",
        ])
        ids = out.split() if rc == 0 else []
        return ids[0] if ids else None

    def _find_with_compose(self) -> str:
        # A project started with -f or --project-directory elsewhere carries another working_dir label.
        rc, out, err = self.run_command([
            self.docker, "compose", "--project-directory", self.project_dir, "ps", "--quiet", self.service,
        ])
        ids = out.split() if rc == 0 else []
        if not ids:
            raise ComposeError(
                f"service {self.service!r} of the Compose project in {self.project_dir} is not running"
                f"{': ' + err.strip()[:300] if err.strip() else ''}"
            )
        return ids[0]

    def exec(self, argv: t.Sequence[str], env: t.Mapping[str, str] | None = None) -> tuple[int, str, str]:
        command = [self.docker, "exec"]
        for name, value in (env or {}).items():
            command += ["--env", f"{name}={value}"]
        command += [self.container(), *argv]
        # The arguments are scripts and SQL: a "$_" in them is perl's, not the environment's.
        return self.run_command(command, expand_user_and_vars=False)

    def exec_or_raise(self, argv: t.Sequence[str], what: str, env: t.Mapping[str, str] | None = None) -> str:
        rc, out, err = self.exec(argv, env)
        if rc != 0:
            raise ComposeError(f"{what} failed (exit {rc}): {err.strip()[-800:] or out.strip()[-800:]}")
        return out


class Postgres:
    """A database in a Compose service, with the client tools of the service's image."""

    def __init__(self, service: ComposeService, database: str, user: str, port: int) -> None:
        self.service = service
        self.database = database
        self.user = user
        self.port = port

    def connection_args(self) -> list[str]:
        return [f"--username={self.user}", f"--port={self.port}", f"--dbname={self.database}"]

    def psql_argv(self, *statements: str) -> list[str]:
        """psql printing bare values; each statement runs in its own transaction, one line each."""
        commands = [part for sql in statements for part in ("--command", sql)]
        return ["psql", "--no-psqlrc", "--no-align", "--tuples-only", "--quiet", "--set=ON_ERROR_STOP=1",
                *self.connection_args(), *commands]

    def query_json(self, sql: str, what: str) -> t.Any:
        out = self.service.exec_or_raise(self.psql_argv(sql), what)
        return json.loads(out)

    def catalog(self) -> tuple[dict[str, int], str]:
        """(table name -> oid, md5 of the schema's other definitions), from the catalog alone."""
        found = self.query_json(CATALOG_SQL, "reading the catalog")
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
            return self.query_json(fingerprint_sql(tables, since_xid), "counting the rows")
        # The xid comes first, in a statement of its own: pg_current_xact_id() is parallel unsafe and
        # would keep the counts from scanning in parallel, and a row written in between then shows as
        # newer than the restore (a needless restore next time, never a missed one).
        out = self.service.exec_or_raise(self.psql_argv(CURRENT_XID_SQL, fingerprint_sql(tables, since_xid)),
                                         "counting the rows")
        xid, _newline, counts = out.strip().partition("\n")
        return {**json.loads(counts), "xid": xid.strip()}

    def dump(self, path: str, compression: int) -> None:
        self.service.exec_or_raise(
            ["pg_dump", "--format=custom", f"--compress={compression}", *self.connection_args(), f"--file={path}"],
            "pg_dump",
        )

    def verify_dump(self, path: str, rows_from_live_tables: bool) -> dict[str, t.Any]:
        """One exec: pg_restore --list proves the archive complete, then versions and row counts.

        Row counts come from the archive itself (its own snapshot) unless nothing writes, when
        an exact count(*) of the live tables gives the same numbers without reading it back.
        """
        counts = (f"{shlex.join(self.psql_argv(live_rows_sql()))}" if rows_from_live_tables
                  else f'pg_restore --data-only --file=- "$0" | awk {shlex.quote(COUNT_ARCHIVE_ROWS)}')
        script = (f'pg_restore --list "$0" > /dev/null && pg_dump --version && pg_restore --version && '
                  f"{shlex.join(self.psql_argv(SERVER_VERSION_SQL))} && {counts}")
        out = self.service.exec_or_raise(["bash", "-o", "pipefail", "-c", script, path], "verifying the dump")
        return parse_verification(out)

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
            self.service.exec_or_raise(
                ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--jobs={jobs}", *self.connection_args(), path],
                "pg_restore", env=env)
            return {"method": "pg_restore", "jobs": jobs, "parallel_copy_tables": [],
                    "note": plan.note if plan is not None else ""}
        self.service.exec_or_raise(
            ["bash", "-c", PARALLEL_COPY_RESTORE, path, str(jobs), str(jobs), "\n".join(plan.rest),
             "\n".join(plan.entries), COPY_SPLITTER, *self.connection_args()],
            "pg_restore with parallel COPY", env=env)
        return {"method": "pg_restore with parallel COPY", "jobs": jobs, "parallel_copy_tables": plan.tables,
                "note": ""}

    def parallel_copy_plan(self, path: str, min_rows: int, row_counts: t.Mapping[str, int]) -> ParallelCopyPlan:
        """The archive's TOC split into the big tables' data entries and the rest (one exec)."""
        out = self.service.exec_or_raise(
            ["bash", "-c", 'if command -v perl > /dev/null; then echo "PERL yes"; fi; pg_restore --list "$0"', path],
            "pg_restore --list")
        has_perl, _newline, toc = out.partition("\n") if out.startswith("PERL yes\n") else ("", "", out)
        if not has_perl:
            return ParallelCopyPlan([], toc.splitlines(), [], "no perl in the service's image: one COPY per table")
        return plan_parallel_copy(toc, min_rows, row_counts)


class ParallelCopyPlan(t.NamedTuple):
    entries: list[str]  # TOC lines of the big tables' data
    rest: list[str]  # every other TOC line
    tables: list[str]  # the big tables, as format('%I.%I') names them
    note: str


def unquote_name(qualified: str) -> tuple[str, str] | None:
    """(schema, table) of a name as format('%I.%I') wrote it, None for anything else."""
    match = QUOTED_NAME.match(qualified)
    if not match:
        return None
    schema = match.group(1) or match.group(2).replace('""', '"')
    table = match.group(3) or match.group(4).replace('""', '"')
    return schema, table


def plan_parallel_copy(toc: str, min_rows: int, row_counts: t.Mapping[str, int]) -> ParallelCopyPlan:
    """Which TABLE DATA entries of a TOC (pg_restore --list) hold at least min_rows rows.

    The TOC names objects without quotes, so a manifest name is unquoted to be found; an entry
    whose schema holds a space is never matched and simply keeps pg_restore's one COPY.
    """
    wanted: dict[tuple[str, str], str] = {}
    for name, rows in row_counts.items():
        pair = unquote_name(name)
        if pair is not None and int(rows) >= min_rows:
            wanted[pair] = name
    entries: list[str] = []
    rest: list[str] = []
    tables: list[str] = []
    for line in toc.splitlines():
        match = TOC_TABLE_DATA.match(line)
        name = wanted.get((match.group(1), match.group(2))) if match else None
        if name is None:
            rest.append(line)
        else:
            entries.append(line)
            tables.append(name)
    note = "" if entries else f"no table of at least {min_rows} rows: one COPY per table"
    return ParallelCopyPlan(entries, rest, tables, note)


# The 32-bit xid that rows' xmin is compared with.
CURRENT_XID_SQL = "SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text"
SERVER_VERSION_SQL = "SELECT 'SERVER_VERSION ' || current_setting('server_version')"


def exact_count(alias: str = "n") -> str:
    return (f"(xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM ONLY %I.%I', "
            f"{alias}.nspname, c.relname), false, true, '')))[1]::text::bigint")


def live_rows_sql() -> str:
    return ("SELECT 'ROWS ' || coalesce(json_object_agg(format('%I.%I', n.nspname, c.relname), "
            f"{exact_count()}), '{{}}'::json)::text" + USER_TABLES)


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def fingerprint_sql(tables: t.Mapping[str, int], since_xid: str | int | None = None) -> str:
    """Per table: oid (new when a table is recreated), exact rows and, given the xid of the
    last restore, the rows written after it (xmin newer than that xid).

    One top-level count per table, so the planner may scan in parallel (age() keeps the
    comparison with an xid serial, and it is still cheaper than any parallel-safe cast); ONLY,
    because a table's COPY in a dump holds its own rows, not those of tables that inherit from it.
    """
    if since_xid not in (None, ""):
        newer = f"count(*) FILTER (WHERE age(xmin) < age('{int(t.cast(t.Any, since_xid))}'::xid))"
    else:
        newer = "0::bigint"
    head = "SELECT json_build_object('server_version', current_setting('server_version'), 'xid', '', 'tables', "
    if not tables:
        return head + "'{}'::json)"
    counts = " UNION ALL ".join(
        f"SELECT {sql_literal(name)}::text AS name, {int(oid)}::bigint AS oid, count(*) AS rows, {newer} AS newer "
        f"FROM ONLY {checked_name(name)}"
        for name, oid in sorted(tables.items()))
    return (head + "json_object_agg(t.name, json_build_object('oid', t.oid, 'rows', t.rows, 'newer', t.newer))) "
            f"FROM ({counts}) t")


def checked_name(name: str) -> str:
    """A schema-qualified name as the server quoted it; anything else never reaches SQL text."""
    if not QUOTED_NAME.match(name):
        raise ComposeError(f"unexpected table name from the catalog: {name!r}")
    return name


def parse_verification(out: str) -> dict[str, t.Any]:
    lines = out.splitlines()
    rows = next((line[5:] for line in lines if line.startswith("ROWS ")), None)
    version = next((line[15:].strip() for line in lines if line.startswith("SERVER_VERSION ")), None)
    if rows is None or version is None:
        raise ComposeError(f"verifying the dump gave no row counts or server version: {out.strip()[-400:]}")
    tools = [line for line in lines if line.startswith(("pg_dump ", "pg_restore "))]
    return {
        "row_counts": json.loads(rows),
        "server_version": version,
        "tool_versions": {"pg_dump": tools[0] if tools else "", "pg_restore": tools[1] if len(tools) > 1 else ""},
    }


def rows_of(fingerprint: t.Mapping[str, t.Any]) -> dict[str, int]:
    return {table: int(facts["rows"]) for table, facts in (fingerprint.get("tables") or {}).items()}


def read_marker(path: str) -> dict[str, t.Any]:
    """The marker of the last restore, {} when there is none (a first restore)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except ValueError:
        # A damaged marker proves nothing: restore again.
        return {}
    return data if isinstance(data, dict) else {}
