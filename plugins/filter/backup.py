# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: restore_plan
short_description: Decide whether a database still holds the backup restored into it
version_added: 0.1.0
description:
  - Compares the marker recorded after the last restore of a store (backup id, dump checksum and
    per-table fingerprint, that is table oid and row count) with the database now (same fingerprint
    plus the count of rows written after the restore, found by transaction id).
  - Returns a dict with C(needs_restore) and C(reason). Anything unknown means restore again, so a
    wrong answer can only cost a needless restore, never skip a needed one.
  - The same file also provides C(row_count_mismatches), the tables whose counts differ from the
    manifest.
options:
  _input:
    description: The marker (dict, or {} when there is none).
    type: dict
    required: true
  current:
    description: "The database now: {table: {oid, rows, newer}}."
    type: dict
    required: true
  backup_id:
    description: Backup id asked for.
    type: str
    required: true
  sha256:
    description: sha256 of the backup's dump file.
    type: str
    required: true
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Plan
  ansible.builtin.set_fact:
    compose_postgres_restore_plan: "{{ marker | appops.runbooks.restore_plan(current, backup_id, sha) }}"
"""

RETURN = r"""
_value:
  description: "{needs_restore: bool, reason: str}"
  type: dict
"""

import typing as t


def restore_plan(marker: t.Any, current: t.Any, backup_id: str, sha256: str) -> dict[str, t.Any]:
    def verdict(needs: bool, reason: str) -> dict[str, t.Any]:
        return {"needs_restore": needs, "reason": reason}

    if not isinstance(marker, dict) or not marker:
        return verdict(True, "no record of a previous restore")
    if marker.get("backup_id") != backup_id:
        return verdict(True, f"database was last restored from {marker.get('backup_id')}, not {backup_id}")
    if marker.get("sha256") != sha256:
        return verdict(True, "backup file differs from the one restored before")
    if not isinstance(current, dict):
        return verdict(True, "could not read the database")
    recorded = marker.get("tables") or {}
    if sorted(recorded) != sorted(current):
        return verdict(True, "the set of tables changed since the restore")
    for table, then in recorded.items():
        now = current[table] or {}
        if str(now.get("oid")) != str(then.get("oid")):
            return verdict(True, f"table {table} was dropped or recreated since the restore")
        if int(now.get("rows", -1)) != int(then.get("rows", -2)):
            return verdict(True, f"table {table} has {now.get('rows')} rows, {then.get('rows')} after the restore")
        if int(now.get("newer", 1)) != 0:
            return verdict(True, f"table {table} has {now.get('newer')} rows written since the restore")
    return verdict(False, f"database still holds backup {backup_id} (no table changed since it was restored)")


def row_count_mismatches(expected: t.Any, actual: t.Any) -> list[str]:
    """Tables whose row count differs from the manifest, as readable strings."""
    expected = expected or {}
    actual = actual or {}
    problems = []
    for table in sorted(expected):
        if table not in actual:
            problems.append(f"{table}: missing (expected {expected[table]} rows)")
        elif int(actual[table]) != int(expected[table]):
            problems.append(f"{table}: {actual[table]} rows, expected {expected[table]}")
    return problems


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"restore_plan": restore_plan, "row_count_mismatches": row_count_mismatches}
