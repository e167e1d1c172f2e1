# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._postgres import engine, marker, scripts, sql
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.runners import ComposeService, DockerExecRunner


def test_verification_output_is_parsed():
    out = ("pg_dump (PostgreSQL) 15.18\npg_restore (PostgreSQL) 15.18\nSERVER_VERSION 15.18 (Debian)\n"
           'ROWS {"public.coffee_logs": 12, "public.\\"odd\\"": 0}\n')
    facts = engine.parse_tool_output(out)
    assert facts["row_counts"] == {"public.coffee_logs": 12, 'public."odd"': 0}
    assert facts["server_version"] == "15.18 (Debian)"
    assert facts["tool_versions"] == {"pg_dump": "pg_dump (PostgreSQL) 15.18", "pg_restore": "pg_restore (PostgreSQL) 15.18"}


def test_verification_without_counts_is_an_error():
    with pytest.raises(PostgresError, match="no row counts"):
        engine.parse_tool_output("pg_dump (PostgreSQL) 15.18\n")


@pytest.mark.parametrize("content", [None, "", "not json", "[1, 2]"])
def test_missing_or_damaged_marker_reads_as_empty(tmp_path, content):
    path = tmp_path / "restore-main.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert marker.MarkerFile(str(path)).read() == {}


TABLES = {"public.coffee_logs": 16390, "\"Odd Schema\".\"it's\"": 16401}


def test_fingerprint_sql_counts_newer_rows_only_with_an_xid():
    assert "age(xmin)" in sql.fingerprint_sql(TABLES, since_xid="7342")
    assert "'7342'" in sql.fingerprint_sql(TABLES, since_xid=7342)
    plain = sql.fingerprint_sql(TABLES)
    assert "age(xmin)" not in plain and "pg_current_xact_id" not in plain


def test_fingerprint_sql_counts_each_table_on_its_own_at_top_level():
    text = sql.fingerprint_sql(TABLES)
    assert "FROM ONLY public.coffee_logs" in text and 'FROM ONLY "Odd Schema"."it\'s"' in text
    # The name is also a literal: its quote is doubled there.
    assert "'\"Odd Schema\".\"it''s\"'::text AS name" in text and "16401::bigint AS oid" in text
    assert " UNION ALL " in text and "query_to_xml" not in text


def test_fingerprint_sql_of_no_tables_is_an_empty_object():
    assert sql.fingerprint_sql({}).endswith("'tables', '{}'::json)")


@pytest.mark.parametrize("name", ["coffee_logs", "public.x; DROP TABLE y", 'public."a"b"', "Public.X"])
def test_a_name_the_server_did_not_quote_never_reaches_sql(name):
    with pytest.raises(PostgresError, match="unexpected table name"):
        sql.fingerprint_sql({name: 1})


def test_an_xid_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError):
        sql.fingerprint_sql(TABLES, since_xid="1; DROP TABLE x")


def test_rows_of_a_fingerprint():
    assert sql.rows_of({"tables": {"public.a": {"oid": 1, "rows": "3", "newer": 0}}}) == {"public.a": 3}
    assert sql.rows_of({}) == {}


TOC = """;
; Archive created at 2026-12-02 07:29:23 UTC
;
217; 1259 16386 TABLE public coffee_logs coffee
219; 1259 16396 TABLE public heart_rates coffee
220; 1259 16410 TABLE Odd Schema small coffee
221; 1259 16420 TABLE public Big Table coffee
3370; 0 16386 TABLE DATA public coffee_logs coffee
3372; 0 16396 TABLE DATA public heart_rates coffee
3373; 0 16410 TABLE DATA Odd Schema small coffee
3374; 0 16420 TABLE DATA public Big Table coffee
3375; 0 0 SEQUENCE SET public coffee_logs_id_seq coffee
3222; 2606 16391 CONSTRAINT public coffee_logs coffee_logs_pkey coffee
"""
ROWS = {"public.coffee_logs": 9_000_000, "public.heart_rates": 900_000, '"Odd Schema".small': 5_000_000,
        'public."Big Table"': 2_000_000}


@pytest.mark.parametrize("name, pair", [
    ("public.coffee_logs", ("public", "coffee_logs")),
    ('public."Big Table"', ("public", "Big Table")),
    ('"Odd Schema"."it""s"', ("Odd Schema", 'it"s')),
    ('"Public".x$1', ("Public", "x$1")),
    ("coffee_logs", None),
    ('public."unterminated', None),
])
def test_names_as_format_quoted_them_are_unquoted(name, pair):
    assert sql.unquote_name(name) == pair


def test_the_plan_takes_the_data_entries_of_big_tables_and_leaves_the_rest_in_order():
    plan = scripts.plan_parallel_copy(TOC, 1_000_000, ROWS)
    assert plan.entries == ["3370; 0 16386 TABLE DATA public coffee_logs coffee",
                            "3374; 0 16420 TABLE DATA public Big Table coffee"]
    assert plan.tables == ["public.coffee_logs", 'public."Big Table"']
    # A schema with a space cannot be told apart from the table name in the TOC: it stays whole.
    assert "3373; 0 16410 TABLE DATA Odd Schema small coffee" in plan.rest
    assert plan.rest == [line for line in TOC.splitlines() if line not in plan.entries]
    assert plan.note == ""


def test_no_table_over_the_threshold_leaves_the_plan_empty_with_a_reason():
    plan = scripts.plan_parallel_copy(TOC, 10_000_000, ROWS)
    assert plan.entries == [] and plan.tables == []
    assert plan.note == "no table of at least 10000000 rows: one COPY per table"


class FakeDocker:
    """docker exec as the module runs it: answers `pg_restore --list` and records every command."""

    def __init__(self, perl: bool = True) -> None:
        self.perl = perl
        self.commands: list[list[str]] = []

    def __call__(self, command, **kwargs):
        self.commands.append(list(command))
        assert kwargs == {"expand_user_and_vars": False}
        script = command[-2] if "pg_restore --list" in command[-2] else ""
        if script:
            return 0, ("PERL yes\n" if self.perl else "") + TOC, ""
        return 0, "", ""


def database(docker: FakeDocker) -> engine.Postgres:
    service = ComposeService(docker, "/srv/app", "postgres")
    service._container = "c0ffee"
    return engine.Postgres(DockerExecRunner(service, "coffee_db", "coffee", 5432, "appops-restore-t0k3n"))


def test_a_restore_with_a_big_table_runs_the_parallel_copy_script():
    docker = FakeDocker()
    method = database(docker).restore("/backups/b/main.dump", 2, "-c wal_compression=off", 1_000_000, ROWS)
    assert method == {"method": "pg_restore with parallel COPY", "jobs": 2,
                      "parallel_copy_tables": ["public.coffee_logs", 'public."Big Table"'], "note": ""}
    command = docker.commands[-1]
    assert command[:7] == ["docker", "exec", "--env", "PGAPPNAME=appops-restore-t0k3n",
                           "--env", "PGOPTIONS=-c wal_compression=off", "c0ffee"]
    bash_args = command[command.index(scripts.PARALLEL_COPY_RESTORE) + 1:]
    assert bash_args[:3] == ["/backups/b/main.dump", "2", "2"]
    assert "TABLE DATA public coffee_logs" not in bash_args[3] and "TABLE DATA public heart_rates" in bash_args[3]
    assert bash_args[4].splitlines() == ["3370; 0 16386 TABLE DATA public coffee_logs coffee",
                                         "3374; 0 16420 TABLE DATA public Big Table coffee"]
    assert bash_args[5] == scripts.COPY_SPLITTER
    assert bash_args[6:] == ["--username=coffee", "--port=5432", "--dbname=coffee_db"]


@pytest.mark.parametrize("perl, jobs, min_rows, note", [
    (False, 2, 1_000_000, "no perl where the tools run: one COPY per table"),
    (True, 2, 10_000_000, "no table of at least 10000000 rows: one COPY per table"),
    (True, 1, 1_000_000, ""),
    (True, 2, 0, ""),
])
def test_otherwise_the_restore_is_one_pg_restore(perl, jobs, min_rows, note):
    docker = FakeDocker(perl)
    method = database(docker).restore("/backups/b/main.dump", jobs, "", min_rows, ROWS)
    assert method == {"method": "pg_restore", "jobs": jobs, "parallel_copy_tables": [], "note": note}
    assert docker.commands[-1] == ["docker", "exec", "--env", "PGAPPNAME=appops-restore-t0k3n", "c0ffee", "pg_restore", "--clean", "--if-exists", "--no-owner",
                                   f"--jobs={jobs}", "--username=coffee", "--port=5432", "--dbname=coffee_db",
                                   "/backups/b/main.dump"]
    # The TOC is only read when a table could be split.
    assert len(docker.commands) == (2 if jobs > 1 and min_rows else 1)


def test_a_marker_written_is_read_back_whole(tmp_path):
    store = marker.MarkerFile(str(tmp_path / "restore-main.json"))
    written = marker.new_marker("20250101T020000Z", "d" * 64,
                                {"xid": "7342", "tables": {"public.a": {"oid": 1, "rows": 3, "newer": 0}}}, "e" * 32)
    store.write(written)
    assert store.read() == written
    assert set(written) == {"backup_id", "sha256", "restored_at", "xid", "tables", "schema"}
    assert not list(tmp_path.glob("*.tmp-*"))
