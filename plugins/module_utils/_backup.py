# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup catalog for stores whose backups are files on the app host.

Layout: <root>/<backup_id>/ holds every store's files plus manifest.json. A backup is
complete once manifest.json is written and the .incomplete marker removed, so a run that
died half way never counts as "latest" and is never restored from.

Backups hold the app's data: the root and every backup directory are 0700, every file the
manifest describes and the manifest itself 0600. A store whose dump is written by another
user (a database container running as its own uid) gets a directory owned by that user.
"""

from __future__ import annotations

import dataclasses
import datetime
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import typing as t

MANIFEST_NAME = "manifest.json"
INCOMPLETE_MARKER = ".incomplete"
MANIFEST_FORMAT = 1
BACKUP_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
SAFETY_KIND = "safety"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


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


def write_json_atomically(path: str, data: t.Any, mode: int | None = None) -> None:
    """Write JSON next to its final name, fsync, then rename: readers never see half a file.

    With ``mode`` the file has that mode from its first byte on (not the umask's, then a chmod).
    """
    temporary = f"{path}.tmp-{os.getpid()}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(temporary, flags, 0o666 if mode is None else mode)
    if mode is not None:
        os.fchmod(descriptor, mode)  # O_CREAT's mode is masked by the umask and ignored for an old file
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
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


@dataclasses.dataclass(frozen=True)
class Owner:
    """Who owns the root and the backup directories: a uid and a gid."""

    uid: int
    gid: int


def numeric_id(name: str, kind: str, lookup: t.Callable[[str], t.Any]) -> int:
    """A user or group name, or a numeric id that need not exist on the host (a container's user)."""
    if name.isdigit():
        return int(name)
    try:
        entry = lookup(name)
    except KeyError:
        raise CatalogError(f"{kind} {name!r} does not exist on this host; give its numeric {kind[0]}id") from None
    return int(entry[2])  # pw_uid / gr_gid


def backup_owner(root: str, user: str | None = None, group: str | None = None) -> Owner:
    """The given user and group, each defaulting to the root directory's own.

    Whoever must write the dumps already owns the root where that is not the run's own user
    (a database container's uid writing into its bind mount), so new directories follow it.
    """
    status = os.stat(root)
    return Owner(numeric_id(user, "user", pwd.getpwnam) if user else status.st_uid,
                 numeric_id(group, "group", grp.getgrnam) if group else status.st_gid)


def make_private_dir(path: str, owner: Owner | None = None, strict: bool = False) -> None:
    """Mode 0700, and owned by ``owner`` when given.

    ``strict`` fails when the owner cannot be set; otherwise the directory stays the run's own
    (still private), as a run without the privilege to change owners would have made it.
    """
    status = os.stat(path)
    if owner is not None and (status.st_uid, status.st_gid) != (owner.uid, owner.gid):
        try:
            os.chown(path, owner.uid, owner.gid)
        except PermissionError as error:
            if strict:
                raise CatalogError(f"cannot give {path} to uid {owner.uid} gid {owner.gid}: {error}") from None
    if status.st_mode & 0o7777 != PRIVATE_DIR_MODE:
        os.chmod(path, PRIVATE_DIR_MODE)


def prepare_root(root: str, user: str | None = None, group: str | None = None) -> Owner:
    """Create the root 0700 (or make an existing one 0700) and say who owns the backups in it."""
    os.makedirs(root, mode=PRIVATE_DIR_MODE, exist_ok=True)
    owner = backup_owner(root, user, group)
    make_private_dir(root, owner, strict=bool(user or group))
    return owner


def create_backup_dir(root: str, now: datetime.datetime | None = None, user: str | None = None,
                      group: str | None = None) -> tuple[str, str]:
    """Create <root>/<id>/ (0700) with an .incomplete marker; ids made in the same second get -2, -3 ...

    The directory belongs to ``user``/``group`` (by default the root's owner), who may be the
    database container's user writing the dump into it.
    """
    now = now or utc_now()
    owner = prepare_root(root, user, group)
    base = backup_id_for(now)
    for backup_id in candidate_backup_ids(now):
        path = os.path.join(root, backup_id)
        try:
            os.mkdir(path, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue
        write_private_file(os.path.join(path, INCOMPLETE_MARKER), format_time(now) + "\n")
        make_private_dir(path, owner, strict=bool(user or group))
        return backup_id, path
    raise CatalogError(f"could not allocate a backup id under {root} for {base}")


def write_private_file(path: str, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def make_backup_private(root: str, directory: str, file_names: t.Iterable[str]) -> None:
    """Files the manifest describes 0600, every backup directory and the root 0700.

    Whatever wrote the files (pg_dump in a container with its own umask, an older release at
    0644), nobody but their owner and root can read a backup once its manifest is written.
    Owners are left as they are: the database user may write the next dump into its directory.
    """
    for name in file_names:
        path = os.path.join(directory, name)
        if os.stat(path).st_mode & 0o7777 != PRIVATE_FILE_MODE:
            os.chmod(path, PRIVATE_FILE_MODE)
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if is_valid_backup_id(name) and os.path.isdir(path) and not os.path.islink(path):
            make_private_dir(path)
    make_private_dir(root)


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


def manifest_file_names(manifest: t.Mapping[str, t.Any]) -> list[str]:
    return [described["name"] for store in manifest.get("stores", []) for described in store.get("files", [])]


def finalize(directory: str, manifest: dict[str, t.Any]) -> None:
    """Make the backup private, write its manifest (0600) and mark it complete."""
    make_backup_private(os.path.dirname(os.path.abspath(directory)), directory, manifest_file_names(manifest))
    write_json_atomically(os.path.join(directory, MANIFEST_NAME), manifest, mode=PRIVATE_FILE_MODE)
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
        candidates = [item for item in backups if include_safety or item["kind"] != SAFETY_KIND]
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


@dataclasses.dataclass(frozen=True)
class RetentionRule:
    """How many of a group of backups to keep at least, and the age beyond which the rest go.

    ``keep_last`` is a floor: the newest ``keep_last`` backups stay whatever their age, so a
    month of failed backups cannot make the next one delete every older backup. With only
    ``keep_last`` it is also the ceiling; with only ``max_age_days`` age alone decides; with
    neither nothing of the group is deleted.
    """

    keep_last: int | None = None
    max_age_days: float | None = None

    @property
    def is_on(self) -> bool:
        return self.keep_last is not None or self.max_age_days is not None

    def expires(self, position: int, created_at: str, now: datetime.datetime) -> bool:
        """Whether the backup at ``position`` (0 = newest of its group) is past this rule."""
        if not self.is_on:
            return False
        if self.keep_last is not None and position < self.keep_last:
            return False
        if self.max_age_days is None:
            return True
        try:
            return (now - parse_time(created_at)).total_seconds() > self.max_age_days * 86400
        except ValueError:
            return False  # an unreadable date: keeping it is the safe side


def is_safety(item: t.Mapping[str, t.Any]) -> bool:
    return item.get("kind") == SAFETY_KIND


def plan_retention(
    backups: list[dict[str, t.Any]],
    full: RetentionRule,
    safety: RetentionRule = RetentionRule(),
    protect: t.Iterable[str] = (),
    now: datetime.datetime | None = None,
) -> list[dict[str, t.Any]]:
    """Backups to delete, oldest first: full backups past ``full``, safety backups past ``safety``.

    The two groups are counted apart: a restore's safety backups never push a full backup out
    of its ``keep_last``. The newest full backup (the newest backup when there is no full one)
    and every protected id (the one just made, the one being restored) are always kept, so no
    policy can leave an app without the backup a restore would take as "latest".
    """
    now = now or utc_now()
    if not backups:
        return []
    fulls = [item for item in backups if not is_safety(item)]
    keep = set(protect)
    keep.add((fulls or backups)[-1]["backup_id"])
    doomed_ids = set()
    for group, rule in ((fulls, full), ([item for item in backups if is_safety(item)], safety)):
        for position, item in enumerate(reversed(group)):
            if item["backup_id"] not in keep and rule.expires(position, item["created_at"], now):
                doomed_ids.add(item["backup_id"])
    return [item for item in backups if item["backup_id"] in doomed_ids]


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
    return deployed_from_history(data)


def deployed_from_history(history: t.Any) -> dict[str, t.Any]:
    """The deployed ref of a deploy history ({current, history}), {} when unknown."""
    current = history.get("current") if isinstance(history, dict) else None
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
