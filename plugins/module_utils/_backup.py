# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup catalog for stores whose backups are files on the app host.

Layout: <root>/<backup_id>/ holds every store's files plus manifest.json. A backup is
complete once manifest.json is written and the .incomplete marker removed, so a run that
died half way never counts as "latest" and is never restored from.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import typing as t

MANIFEST_NAME = "manifest.json"
INCOMPLETE_MARKER = ".incomplete"
MANIFEST_FORMAT = 1
BACKUP_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")


class CatalogError(Exception):
    """Base class of catalog errors; the message is meant for the operator."""


class BackupNotFound(CatalogError):
    pass


class BackupCorrupt(CatalogError):
    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def format_time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def backup_id_for(moment: datetime.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def is_valid_backup_id(backup_id: str) -> bool:
    return bool(BACKUP_ID_PATTERN.match(backup_id))


def sha256_file(path: str, chunk_size: int = 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json_atomically(path: str, data: t.Any) -> None:
    """Write JSON next to its final name, fsync, then rename: readers never see half a file."""
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def candidate_backup_ids(now: datetime.datetime) -> t.Iterator[str]:
    """Ids for a backup opened at now, in the order tried: ids made in the same second get -2, -3 ..."""
    base = backup_id_for(now)
    yield base
    for attempt in range(2, 100):
        yield f"{base}-{attempt}"


def next_free_backup_id(root: str, now: datetime.datetime | None = None) -> str:
    """The id create_backup_dir would take now, without creating anything (check mode)."""
    for backup_id in candidate_backup_ids(now or utc_now()):
        if not os.path.exists(os.path.join(root, backup_id)):
            return backup_id
    raise CatalogError(f"could not allocate a backup id under {root}")


def create_backup_dir(root: str, now: datetime.datetime | None = None, mode: int = 0o755) -> tuple[str, str]:
    """Create <root>/<id>/ with an .incomplete marker; ids made in the same second get -2, -3 ..."""
    now = now or utc_now()
    os.makedirs(root, mode=0o755, exist_ok=True)
    base = backup_id_for(now)
    for backup_id in candidate_backup_ids(now):
        path = os.path.join(root, backup_id)
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            continue
        # mkdir honours the umask; the database container may write here as another user.
        os.chmod(path, mode)
        with open(os.path.join(path, INCOMPLETE_MARKER), "w", encoding="utf-8") as handle:
            handle.write(format_time(now) + "\n")
        return backup_id, path
    raise CatalogError(f"could not allocate a backup id under {root} for {base}")


def describe_file(directory: str, name: str) -> dict[str, t.Any]:
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise CatalogError(f"backup file {name} is missing from {directory}")
    return {"name": name, "size": os.path.getsize(path), "sha256": sha256_file(path)}


def build_manifest(
    app: str,
    backup_id: str,
    directory: str,
    stores: list[dict[str, t.Any]],
    kind: str = "manual",
    created_at: str | None = None,
    deployed: dict[str, t.Any] | None = None,
    tool_versions: dict[str, t.Any] | None = None,
    stores_left_out: t.Sequence[str] = (),
) -> dict[str, t.Any]:
    """Describe a finished backup: every file's size and sha256, per store row counts.

    ``stores_left_out`` names the app's stores the backup deliberately holds no copy of (a
    restore's safety backup covers only what that restore replaces).
    """
    manifest_stores = []
    for store in stores:
        entry = {key: value for key, value in store.items() if key != "files"}
        entry["files"] = [describe_file(directory, name) for name in store.get("files", [])]
        manifest_stores.append(entry)
    manifest = {
        "format": MANIFEST_FORMAT,
        "app": app,
        "backup_id": backup_id,
        "kind": kind,
        "created_at": created_at or format_time(utc_now()),
        "completed_at": format_time(utc_now()),
        "deployed": deployed or {},
        "stores": manifest_stores,
        "tool_versions": tool_versions or {},
    }
    if stores_left_out:
        manifest["stores_left_out"] = sorted(stores_left_out)
    return manifest


def finalize(directory: str, manifest: dict[str, t.Any]) -> None:
    write_json_atomically(os.path.join(directory, MANIFEST_NAME), manifest)
    try:
        os.unlink(os.path.join(directory, INCOMPLETE_MARKER))
    except FileNotFoundError:
        pass


def read_manifest(directory: str) -> dict[str, t.Any] | None:
    try:
        with open(os.path.join(directory, MANIFEST_NAME), encoding="utf-8") as handle:
            data = json.load(handle)
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def list_backups(root: str) -> list[dict[str, t.Any]]:
    """Complete backups under root, oldest first."""
    if not os.path.isdir(root):
        return []
    found = []
    for name in os.listdir(root):
        directory = os.path.join(root, name)
        if not is_valid_backup_id(name) or not os.path.isdir(directory):
            continue
        if os.path.exists(os.path.join(directory, INCOMPLETE_MARKER)):
            continue
        manifest = read_manifest(directory)
        if manifest is None:
            continue
        found.append({"backup_id": name, "path": directory, "created_at": manifest.get("created_at", ""),
                      "kind": manifest.get("kind", "manual"), "manifest": manifest})
    return sorted(found, key=lambda item: (item["created_at"], item["backup_id"]))


def damaged_backups(root: str) -> list[str]:
    """Ids of finished backups (no .incomplete marker) whose manifest is missing or unreadable."""
    if not os.path.isdir(root):
        return []
    return sorted(
        name for name in os.listdir(root)
        if is_valid_backup_id(name) and os.path.isdir(os.path.join(root, name))
        and not os.path.exists(os.path.join(root, name, INCOMPLETE_MARKER))
        and read_manifest(os.path.join(root, name)) is None)


def resolve(root: str, backup_id: str = "latest", include_safety: bool = False) -> dict[str, t.Any]:
    """Find one complete backup; 'latest' skips safety backups unless asked not to.

    Safety backups are taken right before a restore; if 'latest' picked them, restoring
    "latest" twice would undo the first restore. A damaged backup newer than the one 'latest'
    would pick stops it: restoring an older backup than the operator thinks must be a choice.
    """
    backups = list_backups(root)
    damaged = damaged_backups(root)
    if backup_id in ("", "latest"):
        candidates = [item for item in backups if include_safety or item["kind"] != "safety"]
        newest = candidates[-1]["backup_id"] if candidates else ""
        newer_damaged = [name for name in damaged if name > newest]
        if newer_damaged:
            raise BackupCorrupt(
                f"backup {newer_damaged[-1]} in {root} is newer than {newest or 'any complete backup'} but its "
                f"{MANIFEST_NAME} is missing or unreadable, so 'latest' would be an older backup than the newest; "
                f"give backup_id=<id> to restore an older one on purpose, or move {newer_damaged[-1]} away",
                [f"{name}: {MANIFEST_NAME} missing or unreadable" for name in newer_damaged])
        if not candidates:
            raise BackupNotFound(f"no complete backup found in {root}")
        return candidates[-1]
    if backup_id in damaged:
        raise BackupCorrupt(f"backup {backup_id} in {root} has no readable {MANIFEST_NAME}",
                            [f"{backup_id}: {MANIFEST_NAME} missing or unreadable"])
    for item in backups:
        if item["backup_id"] == backup_id:
            return item
    available = ", ".join(item["backup_id"] for item in backups[-10:]) or "none"
    raise BackupNotFound(f"backup '{backup_id}' not found in {root} (most recent: {available})")


def verify(directory: str, manifest: dict[str, t.Any]) -> list[str]:
    """Compare every file against the manifest. Returns the problems found (empty = good)."""
    problems = []
    for store in manifest.get("stores", []):
        for described in store.get("files", []):
            path = os.path.join(directory, described["name"])
            if not os.path.isfile(path):
                problems.append(f"{described['name']} (store {store.get('name')}) is missing")
                continue
            size = os.path.getsize(path)
            if size != described.get("size"):
                problems.append(f"{described['name']} size {size} != manifest {described.get('size')}")
                continue
            actual = sha256_file(path)
            if actual != described.get("sha256"):
                problems.append(f"{described['name']} sha256 {actual} != manifest {described.get('sha256')}")
    return problems


def verify_or_raise(item: dict[str, t.Any]) -> None:
    problems = verify(item["path"], item["manifest"])
    if problems:
        raise BackupCorrupt(
            f"backup {item['backup_id']} failed checksum verification: {'; '.join(problems)}", problems)


def plan_retention(
    backups: list[dict[str, t.Any]],
    keep_last: int | None,
    max_age_days: float | None,
    protect: t.Iterable[str] = (),
    now: datetime.datetime | None = None,
) -> list[dict[str, t.Any]]:
    """Backups to delete: beyond the newest keep_last, or older than max_age_days.

    The newest backup and every protected id (the one just made) are always kept, so a
    misconfigured policy can never leave an app without a backup.
    """
    now = now or utc_now()
    if not backups:
        return []
    keep = set(protect)
    keep.add(backups[-1]["backup_id"])
    newest_first = list(reversed(backups))
    doomed = []
    for position, item in enumerate(newest_first):
        if item["backup_id"] in keep:
            continue
        too_many = keep_last is not None and position >= keep_last
        too_old = False
        if max_age_days is not None:
            try:
                age = now - parse_time(item["created_at"])
                too_old = age.total_seconds() > max_age_days * 86400
            except ValueError:
                too_old = False
        if too_many or too_old:
            doomed.append(item)
    return doomed


def abandoned_backups(root: str, older_than_hours: float, now: datetime.datetime | None = None) -> list[dict[str, t.Any]]:
    """Backups still marked incomplete after ``older_than_hours``: runs killed half way.

    The marker's age, not the id's, decides: it is written when the directory is opened.
    """
    if not os.path.isdir(root):
        return []
    limit = (now or utc_now()).timestamp() - older_than_hours * 3600
    found = []
    for name in sorted(os.listdir(root)):
        marker = os.path.join(root, name, INCOMPLETE_MARKER)
        if is_valid_backup_id(name) and os.path.isfile(marker) and os.path.getmtime(marker) < limit:
            found.append({"backup_id": name, "path": os.path.join(root, name)})
    return found


def delete_backup(item: dict[str, t.Any]) -> None:
    shutil.rmtree(item["path"])


def read_deployed(path: str | None) -> dict[str, t.Any]:
    """The deployed ref from the deploy history file, {} when unknown."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (FileNotFoundError, ValueError):
        return {}
    current = data.get("current") if isinstance(data, dict) else None
    if not isinstance(current, dict):
        return {}
    return {key: current.get(key) for key in ("ref", "sha", "image", "deployed_at") if key in current}


def age_seconds(created_at: str, now: datetime.datetime | None = None) -> float:
    now = now or utc_now()
    return (now - parse_time(created_at)).total_seconds()


def plan_verdict(needs: bool, reason: str) -> dict[str, t.Any]:
    return {"needs_restore": needs, "reason": reason}


def marker_verdict(marker: t.Any, backup_id: str, sha256: str) -> dict[str, t.Any] | None:
    """A restore is needed whatever the database holds: no marker, or one of another backup or file.

    None when only the tables can tell.
    """
    if not isinstance(marker, dict) or not marker:
        return plan_verdict(True, "no record of a previous restore")
    if marker.get("backup_id") != backup_id:
        return plan_verdict(True, f"database was last restored from {marker.get('backup_id')}, not {backup_id}")
    if marker.get("sha256") != sha256:
        return plan_verdict(True, "backup file differs from the one restored before")
    return None


def table_set_verdict(marker: t.Mapping[str, t.Any], oids: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
    """From the catalog alone (table name -> oid): a table added, dropped or recreated since the restore.

    None when every table is the one the restore made, and only its rows can tell.
    """
    recorded = marker.get("tables") or {}
    if sorted(recorded) != sorted(oids):
        return plan_verdict(True, "the set of tables changed since the restore")
    for table, then in recorded.items():
        if str(oids[table]) != str((then or {}).get("oid")):
            return plan_verdict(True, f"table {table} was dropped or recreated since the restore")
    return None


def schema_verdict(marker: t.Mapping[str, t.Any], schema: str) -> dict[str, t.Any] | None:
    """From the schema's hash (columns, defaults, constraints, indexes, views, triggers, functions).

    None when it is the one the restore made.
    """
    recorded = marker.get("schema")
    if not recorded:
        return plan_verdict(True, "the last restore recorded no schema fingerprint")
    if recorded != schema:
        return plan_verdict(True, "the schema changed since the restore (a column, default, constraint, index, "
                                  "view, trigger or function)")
    return None


def restore_plan(marker: t.Any, current: t.Any, backup_id: str, sha256: str, schema: str | None = None) -> dict[str, t.Any]:
    """Whether the database still holds ``backup_id``: the marker of the last restore against now.

    Anything unknown means restore again, so a wrong answer can only cost a needless restore,
    never skip a needed one. ``current`` is {table: {oid, rows, newer}}; ``schema``, when given,
    the hash of the schema's definitions now.
    """
    verdict = marker_verdict(marker, backup_id, sha256)
    if verdict is not None:
        return verdict
    if not isinstance(current, dict):
        return plan_verdict(True, "could not read the database")
    verdict = table_set_verdict(marker, {table: (facts or {}).get("oid") for table, facts in current.items()})
    if verdict is None and schema is not None:
        verdict = schema_verdict(marker, schema)
    if verdict is not None:
        return verdict
    return rows_verdict(marker, current, backup_id)


def rows_verdict(marker: t.Mapping[str, t.Any], current: t.Mapping[str, t.Any], backup_id: str) -> dict[str, t.Any]:
    """The last step, once the marker and the table set match: each table's rows against the marker."""
    for table, then in (marker.get("tables") or {}).items():
        now = current[table] or {}
        if int(now.get("rows", -1)) != int(then.get("rows", -2)):
            return plan_verdict(True, f"table {table} has {now.get('rows')} rows, {then.get('rows')} after the restore")
        if int(now.get("newer", 1)) != 0:
            return plan_verdict(True, f"table {table} has {now.get('newer')} rows written since the restore")
    return plan_verdict(False, f"database still holds backup {backup_id} (no table changed since it was restored)")


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
