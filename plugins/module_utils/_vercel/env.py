# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Vercel project env vars as desired state per target: the plan of edits, creates and deletes (private).

A Vercel env var is a record (key, value, type, targets); one key may have several records for
different targets. The plan works per key over the targets a task manages: records whose value
is right stay, records wholly inside the managed targets are edited or deleted, records that
also cover other targets are narrowed to those, and what is still missing is created.
Values are compared as the API returns them: ``sensitive`` values never come back, so they
cannot be compared.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from .._http import REDACTED

TARGETS = ("production", "preview", "development")
DEFAULT_TYPE = "encrypted"
# Types whose values the API never returns (encrypted ones come back with decrypt=true).
UNREADABLE_TYPES = ("sensitive",)
UNMANAGED_TYPES = ("system",)


@dataclass
class Wanted:
    key: str
    value: str | None  # None: the key must not exist in these targets
    targets: list[str]
    type: str | None = None  # None: keep the existing type (new records get the module's default)


@dataclass
class Plan:
    edits: list[tuple[str, dict[str, t.Any]]] = field(default_factory=list)  # (record id, changes)
    creates: list[dict[str, t.Any]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    changed_keys: set[str] = field(default_factory=set)
    removed_keys: set[str] = field(default_factory=set)
    uncompared_keys: set[str] = field(default_factory=set)
    # "KEY@target" -> how the diff shows the change (never a value)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.edits or self.creates or self.deletes)


def env_value(value: t.Any) -> str | None:
    """A YAML value as Vercel stores it: booleans as ``true``/``false``, null stays null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def managed_records(records: list[dict[str, t.Any]], key: str | None = None) -> list[dict[str, t.Any]]:
    """Records a task manages: no git branch, not a system variable; of ``key`` when given."""
    return [r for r in records if not r.get("gitBranch") and r.get("type") not in UNMANAGED_TYPES
            and (key is None or r.get("key") == key)]


def record_targets(record: t.Mapping[str, t.Any]) -> list[str]:
    targets = record.get("target") or []
    return [targets] if isinstance(targets, str) else list(targets)


def same_value(record: t.Mapping[str, t.Any], wanted: Wanted) -> tuple[bool, bool]:
    """(the record already holds the wanted value and type, its value could be compared).

    A value that cannot be read back counts as the same: writing it again on every run would make
    the task report a change forever (``force_update`` writes it anyway, see :func:`force_sensitive`).
    """
    if wanted.type and record.get("type") != wanted.type:
        return False, True
    if record.get("type") in UNREADABLE_TYPES:
        return True, False
    return record.get("value") == wanted.value, True


def plan_key(plan: Plan, wanted: Wanted, records: list[dict[str, t.Any]], default_type: str) -> None:
    managed = set(wanted.targets)
    covered: set[str] = set()
    for record in managed_records(records, wanted.key):
        targets = set(record_targets(record))
        overlap = targets & managed
        if not overlap:
            continue
        if wanted.value is None:
            _remove(plan, record, targets, managed)
            continue
        same, compared = same_value(record, wanted)
        if not compared:
            plan.uncompared_keys.add(wanted.key)
        if same:
            covered |= overlap
            note = "cannot compare (sensitive value is never returned): left as is" if not compared else "unchanged"
            plan.notes.update({f"{wanted.key}@{target}": note for target in overlap})
            continue
        plan.changed_keys.add(wanted.key)
        plan.notes.update({f"{wanted.key}@{target}": "changed" for target in overlap})
        if targets <= managed:
            changes: dict[str, t.Any] = {"value": wanted.value}
            if wanted.type:
                changes["type"] = wanted.type
            plan.edits.append((record["id"], changes))
            covered |= overlap
        else:
            plan.edits.append((record["id"], {"target": sorted(targets - managed)}))
    missing = [target for target in TARGETS if target in managed - covered]
    if wanted.value is None or not missing:
        return
    existing_type = next((r.get("type") for r in managed_records(records, wanted.key)), None)
    plan.creates.append({"key": wanted.key, "value": wanted.value, "target": missing,
                         "type": wanted.type or existing_type or default_type})
    plan.changed_keys.add(wanted.key)
    plan.notes.update({f"{wanted.key}@{target}": "added" for target in missing})


def _remove(plan: Plan, record: dict[str, t.Any], targets: set[str], managed: set[str]) -> None:
    if targets <= managed:
        plan.deletes.append(record["id"])
    else:
        plan.edits.append((record["id"], {"target": sorted(targets - managed)}))
    plan.removed_keys.add(record["key"])
    plan.notes.update({f"{record['key']}@{target}": "removed" for target in targets & managed})


def force_sensitive(plan: Plan, wanted: list[Wanted], records: list[dict[str, t.Any]]) -> None:
    """``force_update``: write every listed sensitive value again, since none can be compared."""
    for item in wanted:
        if item.value is None or item.key not in plan.uncompared_keys:
            continue
        for record in managed_records(records, item.key):
            targets = set(record_targets(record))
            if record.get("type") in UNREADABLE_TYPES and targets <= set(item.targets) and targets:
                plan.edits.append((record["id"], {"value": item.value}))
                plan.changed_keys.add(item.key)
                plan.notes.update({f"{item.key}@{target}": "written again (force_update)" for target in targets})


def make_plan(wanted: list[Wanted], records: list[dict[str, t.Any]], *, purge_targets: list[str] | None,
              default_type: str, force_update: bool) -> Plan:
    plan = Plan()
    for item in wanted:
        plan_key(plan, item, records, default_type)
    if force_update:
        force_sensitive(plan, wanted, records)
    if purge_targets:
        listed = {item.key for item in wanted}
        for key in sorted({r["key"] for r in managed_records(records)} - listed):
            plan_key(plan, Wanted(key, None, list(purge_targets)), records, default_type)
    return plan


def env_view(records: list[dict[str, t.Any]], targets: list[str]) -> dict[str, str]:
    """``KEY@target`` -> masked value and type, for the managed targets (the diff's before)."""
    view: dict[str, str] = {}
    for record in managed_records(records):
        for target in record_targets(record):
            if target in targets:
                view[f"{record['key']}@{target}"] = f"{REDACTED} ({record.get('type')})"
    return dict(sorted(view.items()))


def planned_view(before: dict[str, str], plan: Plan, wanted: list[Wanted], default_type: str) -> dict[str, str]:
    """The diff's after: the managed targets once the plan is applied, each change marked."""
    types = {item.key: item.type for item in wanted}
    after = dict(before)
    for name, note in plan.notes.items():
        key = name.rsplit("@", 1)[0]
        if note == "removed":
            after.pop(name, None)
            continue
        kind = types.get(key) or (before.get(name) or "").partition("(")[2].rstrip(")") or default_type
        after[name] = f"{REDACTED} ({kind})" + ("" if note == "unchanged" else f" {note}")
    return dict(sorted(after.items()))


def keys_by_target(records: list[dict[str, t.Any]]) -> dict[str, list[str]]:
    """Names per target, sorted; never values."""
    return {target: sorted({r["key"] for r in records if target in record_targets(r)}) for target in TARGETS}


def describe_record(record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """An env var as the modules return it: everything but the value."""
    fields = ("id", "key", "type", "createdAt", "updatedAt", "comment", "gitBranch")
    described = {name: record.get(name) for name in fields}
    described["target"] = record_targets(record)
    return {name: value for name, value in described.items() if value is not None}
