# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.filter.backup import restore_plan, row_count_mismatches

MARKER = {"backup_id": "20250101T020000Z", "sha256": "abc", "xid": "800",
          "tables": {"public.coffee_logs": {"oid": 16543, "rows": 10, "newer": 0}}}


def now(**changes):
    table = {"oid": 16543, "rows": 10, "newer": 0}
    table.update(changes)
    return {"public.coffee_logs": table}


def test_untouched_database_needs_no_restore():
    plan = restore_plan(MARKER, now(), "20250101T020000Z", "abc")
    assert plan["needs_restore"] is False


def test_every_kind_of_change_needs_a_restore():
    assert restore_plan({}, now(), "20250101T020000Z", "abc")["needs_restore"] is True
    assert restore_plan(MARKER, now(), "20250102T020000Z", "abc")["needs_restore"] is True
    assert restore_plan(MARKER, now(), "20250101T020000Z", "other")["needs_restore"] is True
    assert "dropped or recreated" in restore_plan(MARKER, now(oid=1), "20250101T020000Z", "abc")["reason"]
    assert "9 rows" in restore_plan(MARKER, now(rows=9), "20250101T020000Z", "abc")["reason"]
    assert "written since" in restore_plan(MARKER, now(newer=1), "20250101T020000Z", "abc")["reason"]
    assert restore_plan(MARKER, {}, "20250101T020000Z", "abc")["needs_restore"] is True


def test_a_schema_change_needs_a_restore_when_the_schema_is_compared():
    marker = {**MARKER, "schema": "s1"}
    assert restore_plan(marker, now(), "20250101T020000Z", "abc", "s1")["needs_restore"] is False
    assert "schema changed" in restore_plan(marker, now(), "20250101T020000Z", "abc", "s2")["reason"]
    # A marker from before schema hashes proves nothing about the schema.
    assert "no schema fingerprint" in restore_plan(MARKER, now(), "20250101T020000Z", "abc", "s1")["reason"]
    # A dropped table is named before the schema hash is looked at.
    assert "dropped or recreated" in restore_plan(marker, now(oid=1), "20250101T020000Z", "abc", "s2")["reason"]


def test_row_count_mismatches():
    assert row_count_mismatches({"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 5}) == []
    assert row_count_mismatches({"a": 1, "b": 2}, {"a": 0}) == ["a: 0 rows, expected 1", "b: missing (expected 2 rows)"]
