# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _compose_postgres as cp


def test_verification_output_is_parsed():
    out = ("pg_dump (PostgreSQL) 15.18\npg_restore (PostgreSQL) 15.18\nSERVER_VERSION 15.18 (Debian)\n"
           'ROWS {"public.coffee_logs": 12, "public.\\"odd\\"": 0}\n')
    facts = cp.parse_verification(out)
    assert facts["row_counts"] == {"public.coffee_logs": 12, 'public."odd"': 0}
    assert facts["server_version"] == "15.18 (Debian)"
    assert facts["tool_versions"] == {"pg_dump": "pg_dump (PostgreSQL) 15.18", "pg_restore": "pg_restore (PostgreSQL) 15.18"}


def test_verification_without_counts_is_an_error():
    with pytest.raises(cp.ComposeError, match="no row counts"):
        cp.parse_verification("pg_dump (PostgreSQL) 15.18\n")


@pytest.mark.parametrize("content", [None, "", "not json", "[1, 2]"])
def test_missing_or_damaged_marker_reads_as_none(tmp_path, content):
    path = tmp_path / "restore-main.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert cp.read_marker(str(path)) == {}


TABLES = {"public.coffee_logs": 16390, "\"Odd Schema\".\"it's\"": 16401}


def test_fingerprint_sql_counts_newer_rows_only_with_an_xid():
    assert "age(xmin)" in cp.fingerprint_sql(TABLES, since_xid="7342")
    assert "'7342'" in cp.fingerprint_sql(TABLES, since_xid=7342)
    plain = cp.fingerprint_sql(TABLES)
    assert "age(xmin)" not in plain and "pg_current_xact_id" not in plain


def test_fingerprint_sql_counts_each_table_on_its_own_at_top_level():
    text = cp.fingerprint_sql(TABLES)
    assert "FROM ONLY public.coffee_logs" in text and 'FROM ONLY "Odd Schema"."it\'s"' in text
    # The name is also a literal: its quote is doubled there.
    assert "'\"Odd Schema\".\"it''s\"'::text AS name" in text and "16401::bigint AS oid" in text
    assert " UNION ALL " in text and "query_to_xml" not in text


def test_fingerprint_sql_of_no_tables_is_an_empty_object():
    assert cp.fingerprint_sql({}).endswith("'tables', '{}'::json)")


@pytest.mark.parametrize("name", ["coffee_logs", "public.x; DROP TABLE y", 'public."a"b"', "Public.X"])
def test_a_name_the_server_did_not_quote_never_reaches_sql(name):
    with pytest.raises(cp.ComposeError, match="unexpected table name"):
        cp.fingerprint_sql({name: 1})


def test_an_xid_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError):
        cp.fingerprint_sql(TABLES, since_xid="1; DROP TABLE x")


def test_rows_of_a_fingerprint():
    assert cp.rows_of({"tables": {"public.a": {"oid": 1, "rows": "3", "newer": 0}}}) == {"public.a": 3}
    assert cp.rows_of({}) == {}
