# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""compose_postgres_db's restore with big tables loaded through parallel COPY sessions.

A scratch database in the lab's PostgreSQL holds what a plain ``pg_restore --clean`` handles
without thinking and a split restore could get wrong: foreign keys into and out of a big table
(dropped in --clean's order), a trigger, a comment, grants, a sequence, a view and a
materialized view over it (refreshed only after its rows are in), quoted names, rows whose text holds tabs, newlines, backslashes and a
lone ``\\.``, NULLs and bytea, more than one big table, and a schema whose name the TOC cannot
be split on. After a damaging change the restore must give back the same rows and the same
schema (``pg_dump --schema-only``) as the database had when it was dumped.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import uuid

import pytest

from ansible_collections.appops.runbooks.plugins.modules import compose_postgres_db
from ansible_collections.appops.runbooks.tests.integration.compose.conftest import BACKUPS, PROJECT, pg_connect
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module

pytestmark = pytest.mark.integration

SCRATCH = "appops_parallel_copy_test"
DATABASE = {"project_dir": str(PROJECT), "service": "postgres", "database": SCRATCH, "user": "coffee", "port": 15432}
# Big enough for many 256 KB chunks per session, small enough to load in a second.
BIG_ROWS = 40000
SCHEMA_SQL = r"""
CREATE SCHEMA "Odd Schema";
CREATE TABLE parent (id serial PRIMARY KEY, label text NOT NULL);
CREATE TABLE "Big Table" (
    id bigint PRIMARY KEY,
    parent_id integer REFERENCES parent (id),
    note text,
    amount numeric(12, 2),
    seen_at timestamptz,
    raw bytea
);
CREATE INDEX big_table_note_idx ON "Big Table" (note);
CREATE TABLE child (id integer PRIMARY KEY, big_id bigint NOT NULL REFERENCES "Big Table" (id));
CREATE TABLE "Odd Schema".small (id integer PRIMARY KEY, word text);
CREATE VIEW big_view AS SELECT id, note FROM "Big Table" WHERE amount > 10;
CREATE MATERIALIZED VIEW big_summary AS
    SELECT parent_id, count(*) AS rows, sum(amount) AS amount FROM "Big Table" GROUP BY parent_id;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.seen_at := coalesce(NEW.seen_at, now()); RETURN NEW; END $$;
CREATE TRIGGER big_table_touch BEFORE INSERT ON "Big Table" FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TABLE "Big Table" IS 'the one pg_restore would load in one session';
GRANT SELECT ON "Big Table", big_view TO PUBLIC;
INSERT INTO parent (label) SELECT 'parent ' || g FROM generate_series(1, 1500) g;
INSERT INTO "Big Table"
    SELECT g, 1 + g % 1500,
           CASE g % 7 WHEN 0 THEN NULL
                      WHEN 1 THEN E'tab\there\nnewline \\ backslash'
                      WHEN 2 THEN E'\\.'
                      WHEN 3 THEN E'line\n\\.\nafter a lone terminator'
                      WHEN 4 THEN 'üñíçødé ☕'
                      ELSE repeat(md5(g::text), 2) END,
           (g % 1000) / 7.0, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute',
           CASE WHEN g % 5 = 0 THEN decode(md5(g::text), 'hex') END
    FROM generate_series(1, %(big_rows)s) g;
INSERT INTO child SELECT g, g * 3 FROM generate_series(1, 500) g;
INSERT INTO "Odd Schema".small SELECT g, 'word ' || g FROM generate_series(1, 2000) g;
REFRESH MATERIALIZED VIEW big_summary;
"""
# Every table's rows, in order, hashed: equal digests mean equal contents.
CONTENT_SQL = """
SELECT 'parent', md5(string_agg(t::text, '|' ORDER BY id)) FROM parent t
UNION ALL SELECT 'Big Table', md5(string_agg(t::text, '|' ORDER BY id)) FROM "Big Table" t
UNION ALL SELECT 'child', md5(string_agg(t::text, '|' ORDER BY id)) FROM child t
UNION ALL SELECT 'small', md5(string_agg(t::text, '|' ORDER BY id)) FROM "Odd Schema".small t
UNION ALL SELECT 'big_summary', md5(string_agg(t::text, '|' ORDER BY parent_id)) FROM big_summary t
UNION ALL SELECT 'big_view', md5(string_agg(t::text, '|' ORDER BY id)) FROM big_view t
UNION ALL SELECT 'parent_id_seq', last_value::text FROM parent_id_seq
"""


def connect(database: str):
    connection = pg_connect(database)
    connection.autocommit = True
    return connection


def execute(database: str, sql: str, params: dict | None = None) -> list[tuple]:
    connection = connect(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def container() -> str:
    found = subprocess.run(["docker", "compose", "--project-directory", str(PROJECT), "ps", "--quiet", "postgres"],
                           capture_output=True, text=True, check=True)
    return found.stdout.split()[0]


def schema_dump() -> str:
    """pg_dump --schema-only without what differs between two dumps of the same schema."""
    dumped = subprocess.run(["docker", "exec", container(), "pg_dump", "--schema-only", "--username=coffee",
                             "--port=15432", SCRATCH], capture_output=True, text=True, check=True)
    return "\n".join(line for line in dumped.stdout.splitlines()
                     if line.strip() and not line.startswith(("--", "\\restrict", "\\unrestrict")))


def state() -> dict:
    return {
        "content": dict(execute(SCRATCH, CONTENT_SQL)),
        "schema": schema_dump(),
        "foreign_keys_validated": execute(
            SCRATCH, "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' ORDER BY conname"),
    }


def damage() -> None:
    execute(SCRATCH, 'DROP TABLE child; DELETE FROM "Big Table" WHERE id % 3 = 0; '
                     "UPDATE parent SET label = 'changed'; DROP MATERIALIZED VIEW big_summary; "
                     'DROP INDEX big_table_note_idx; DELETE FROM "Odd Schema".small WHERE id > 10; '
                     "SELECT setval('parent_id_seq', 99999); REVOKE SELECT ON big_view FROM PUBLIC")


@pytest.fixture
def scratch(lab_up):
    execute("coffee_db", f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    execute("coffee_db", f"CREATE DATABASE {SCRATCH}")
    execute(SCRATCH, SCHEMA_SQL.replace("%(big_rows)s", str(BIG_ROWS)))
    name = f"parallel-copy-test-{uuid.uuid4().hex[:8]}"
    (BACKUPS / name).mkdir(mode=0o777)
    (BACKUPS / name).chmod(0o777)
    yield name
    shutil.rmtree(BACKUPS / name, ignore_errors=True)
    execute("coffee_db", f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")


def restore_args(dump: dict, name: str, marker, **options) -> dict:
    return {**DATABASE, "state": "restored", "path": f"/backups/{name}/scratch.dump", "backup_id": name,
            "sha256": "c" * 64, "marker": str(marker), "expected_row_counts": dump["row_counts"],
            "force": True, **options}


def test_big_tables_restore_through_parallel_copy_to_the_same_rows_and_schema(scratch, tmp_path):
    dumped = run_module(compose_postgres_db, {**DATABASE, "state": "dumped", "path": f"/backups/{scratch}/scratch.dump"})
    assert dumped["row_counts"]['public."Big Table"'] == BIG_ROWS
    before = state()
    assert len(before["content"]) == 7 and before["foreign_keys_validated"] == [
        ("Big Table_parent_id_fkey", True), ("child_big_id_fkey", True)]

    damage()
    assert schema_dump() != before["schema"]
    restored = run_module(compose_postgres_db, restore_args(dumped, scratch, tmp_path / "marker.json",
                                                            jobs=2, parallel_copy_min_rows=1000))
    assert restored["changed"] is True, restored
    method = restored["restore_method"]
    assert method["method"] == "pg_restore with parallel COPY"
    # "Odd Schema".small has 2,000 rows too, but its TOC line cannot be split on its schema's space.
    assert sorted(method["parallel_copy_tables"]) == ['public."Big Table"', "public.parent"]
    assert restored["row_counts"] == dumped["row_counts"]
    assert state() == before

    # A second run over the restored database (its tables now exist) gives the same again.
    damage()
    again = run_module(compose_postgres_db, restore_args(dumped, scratch, tmp_path / "marker.json",
                                                         jobs=2, parallel_copy_min_rows=1000))
    assert again["changed"] is True and again["restore_method"]["parallel_copy_tables"]
    assert state() == before


def test_below_the_threshold_or_with_one_job_each_table_keeps_one_copy(scratch, tmp_path):
    dumped = run_module(compose_postgres_db, {**DATABASE, "state": "dumped", "path": f"/backups/{scratch}/scratch.dump"})
    before = state()
    for options, note in (({"jobs": 2, "parallel_copy_min_rows": BIG_ROWS + 1}, f"no table of at least {BIG_ROWS + 1} rows"),
                          ({"jobs": 1, "parallel_copy_min_rows": 1000}, ""),
                          ({"jobs": 2, "parallel_copy_min_rows": 0}, "")):
        damage()
        restored = run_module(compose_postgres_db, restore_args(dumped, scratch, tmp_path / "marker.json", **options))
        assert restored["restore_method"]["method"] == "pg_restore", (options, restored)
        assert restored["restore_method"]["parallel_copy_tables"] == []
        assert re.match(re.escape(note), restored["restore_method"]["note"]), restored["restore_method"]
        assert state() == before


BREAK_BIG_TABLE = """
CREATE FUNCTION break_big_table() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('public."Big Table"') IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'few_ids') THEN
        ALTER TABLE public."Big Table" ADD CONSTRAINT few_ids CHECK (id < 100);
    END IF;
END $$;
CREATE EVENT TRIGGER break_big_table ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION break_big_table();
"""


def test_a_failing_copy_session_fails_the_restore_with_psql_s_error(scratch, tmp_path):
    dumped = run_module(compose_postgres_db, {**DATABASE, "state": "dumped", "path": f"/backups/{scratch}/scratch.dump"})
    # Not in the archive, so the restore keeps it: the recreated big table refuses most rows.
    execute(SCRATCH, BREAK_BIG_TABLE)
    failed = run_module(compose_postgres_db, restore_args(dumped, scratch, tmp_path / "marker.json",
                                                          jobs=2, parallel_copy_min_rows=1000))
    assert failed["failed"] is True
    assert "pg_restore with parallel COPY failed" in failed["msg"]
    assert 'psql failed on the rows of public."Big Table"' in failed["msg"], failed["msg"]
    assert "few_ids" in failed["msg"]
    assert not (tmp_path / "marker.json").exists()


def test_an_archive_of_inserts_is_still_restored_statement_by_statement(scratch, tmp_path):
    dumped = run_module(compose_postgres_db, {**DATABASE, "state": "dumped", "path": f"/backups/{scratch}/scratch.dump"})
    before = state()
    # Same database, dumped with INSERT statements (--rows-per-insert) instead of COPY: nothing to deal.
    subprocess.run(["docker", "exec", container(), "pg_dump", "--format=custom", "--rows-per-insert=500", "--username=coffee",
                    "--port=15432", f"--file=/backups/{scratch}/scratch.dump", SCRATCH], check=True)
    damage()
    restored = run_module(compose_postgres_db, restore_args(dumped, scratch, tmp_path / "marker.json",
                                                            jobs=2, parallel_copy_min_rows=1000))
    assert restored["changed"] is True, restored
    assert restored["restore_method"]["method"] == "pg_restore with parallel COPY"
    assert state() == before
