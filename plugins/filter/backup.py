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
  schema:
    description:
      - Hash of the schema's definitions now (columns, defaults, constraints, indexes, views, triggers,
        functions). When given, a marker with another hash, or with none, means restore again.
    type: str
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

from ansible_collections.appops.runbooks.plugins.module_utils._backup import (
    restore_plan,
    row_count_mismatches,
)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"restore_plan": restore_plan, "row_count_mismatches": row_count_mismatches}
