# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SQL the engine runs: catalog fingerprint, exact row counts, versions.

Tables are named everywhere as ``format('%I.%I', schema, table)`` names them (``public.workers``,
``"Odd Schema"."it's"``): the row counts of an archive, of the live tables and of a manifest use
the same names, whichever store they come from.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError

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
# The 32-bit xid that rows' xmin is compared with.
CURRENT_XID_SQL = "SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text"
SERVER_VERSION_SQL = "SELECT 'SERVER_VERSION ' || current_setting('server_version')"
# What format('%I.%I') makes of a table name: plain lowercase words or double-quoted ones;
# groups 1 or 2 hold the schema, 3 or 4 the table (2 and 4 still with doubled quotes).
QUOTED_NAME = re.compile(r'^(?:([a-z_][a-z0-9_$]*)|"((?:[^"]|"")+)")\.(?:([a-z_][a-z0-9_$]*)|"((?:[^"]|"")+)")$')


def unquote_name(qualified: str) -> tuple[str, str] | None:
    """(schema, table) of a name as format('%I.%I') wrote it, None for anything else."""
    match = QUOTED_NAME.match(qualified)
    if not match:
        return None
    schema = match.group(1) or match.group(2).replace('""', '"')
    table = match.group(3) or match.group(4).replace('""', '"')
    return schema, table


def checked_name(name: str) -> str:
    """A schema-qualified name as the server quoted it; anything else never reaches SQL text."""
    if not QUOTED_NAME.match(name):
        raise PostgresError(f"unexpected table name from the catalog: {name!r}")
    return name


def exact_count(alias: str = "n") -> str:
    return (f"(xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM ONLY %I.%I', "
            f"{alias}.nspname, c.relname), false, true, '')))[1]::text::bigint")


def live_rows_sql() -> str:
    """One line, ``ROWS {json}``: the exact row count of every table, in one statement."""
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


def rows_of(fingerprint: t.Mapping[str, t.Any]) -> dict[str, int]:
    return {table: int(facts["rows"]) for table, facts in (fingerprint.get("tables") or {}).items()}
