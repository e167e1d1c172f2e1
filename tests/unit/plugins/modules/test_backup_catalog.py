# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime
import os
import pathlib
import shutil
import stat
import subprocess
import tempfile

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _backup
from ansible_collections.appops.runbooks.plugins.modules import backup_catalog, backup_catalog_info
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module


def open_and_finish(root, payload=b"data"):
    opened = run_module(backup_catalog, {"root": str(root), "state": "open"})
    with open(os.path.join(opened["path"], "main.dump"), "wb") as handle:
        handle.write(payload)
    finished = run_module(backup_catalog, {"root": str(root), "app": "coffee-tracker", "backup_id": opened["backup_id"],
                                           "stores": [{"name": "main", "kind": "compose_postgres", "files": ["main.dump"],
                                                       "row_counts": {"t": 1}}]})
    return opened, finished


def test_open_finish_resolve(tmp_path):
    opened, finished = open_and_finish(tmp_path)
    assert finished["changed"] is True
    assert finished["manifest"]["stores"][0]["files"][0]["size"] == 4
    again = run_module(backup_catalog, {"root": str(tmp_path), "app": "coffee-tracker", "backup_id": opened["backup_id"]})
    assert again["changed"] is False
    info = run_module(backup_catalog_info, {"root": str(tmp_path)})
    assert info["backup_id"] == opened["backup_id"] and info["verified"] is True
    assert info["age_seconds"] >= 0


def test_corrupt_backup_is_refused(tmp_path):
    opened, _finished = open_and_finish(tmp_path)
    with open(os.path.join(opened["path"], "main.dump"), "r+b") as handle:
        handle.write(b"X")
    info = run_module(backup_catalog_info, {"root": str(tmp_path), "backup_id": opened["backup_id"]})
    assert info["failed"] is True
    assert "failed checksum verification" in info["msg"] and "refusing" in info["msg"]


def test_unknown_id_fails_clearly(tmp_path):
    open_and_finish(tmp_path)
    info = run_module(backup_catalog_info, {"root": str(tmp_path), "backup_id": "20000101T000000Z"})
    assert info["failed"] is True and "not found" in info["msg"]


def test_absent_removes_an_unfinished_backup(tmp_path):
    opened = run_module(backup_catalog, {"root": str(tmp_path), "state": "open"})
    removed = run_module(backup_catalog, {"root": str(tmp_path), "state": "absent", "backup_id": opened["backup_id"]})
    assert removed["changed"] is True and not os.path.exists(opened["path"])


def test_pruned_check_mode_deletes_nothing(tmp_path):
    first, _first_finished = open_and_finish(tmp_path)
    import time
    time.sleep(1.1)
    second, _second_finished = open_and_finish(tmp_path)
    planned = run_module(backup_catalog, {"root": str(tmp_path), "state": "pruned", "keep_last": 1}, check_mode=True)
    assert planned["deleted"] == [first["backup_id"]] and os.path.exists(first["path"])
    done = run_module(backup_catalog, {"root": str(tmp_path), "state": "pruned", "keep_last": 1})
    assert done["changed"] is True and not os.path.exists(first["path"]) and os.path.exists(second["path"])


def test_present_with_retention_prunes_after_the_manifest_and_keeps_the_new_backup(tmp_path):
    first, _first_finished = open_and_finish(tmp_path)
    import time
    time.sleep(1.1)
    opened = run_module(backup_catalog, {"root": str(tmp_path), "state": "open"})
    with open(os.path.join(opened["path"], "main.dump"), "wb") as handle:
        handle.write(b"new")
    finished = run_module(backup_catalog, {
        "root": str(tmp_path), "app": "coffee-tracker", "backup_id": opened["backup_id"], "keep_last": 1,
        "stores": [{"name": "main", "kind": "compose_postgres", "files": ["main.dump"]}]})
    assert finished["changed"] is True and finished["deleted"] == [first["backup_id"]]
    assert not os.path.exists(first["path"]) and os.path.exists(os.path.join(opened["path"], "manifest.json"))


def test_pruned_removes_backups_left_incomplete_by_a_killed_run(tmp_path):
    _opened, finished = open_and_finish(tmp_path)
    killed = run_module(backup_catalog, {"root": str(tmp_path), "state": "open"})
    in_progress = run_module(backup_catalog, {"root": str(tmp_path), "state": "open"})
    day_old = os.path.getmtime(os.path.join(killed["path"], ".incomplete")) - 25 * 3600
    os.utime(os.path.join(killed["path"], ".incomplete"), (day_old, day_old))

    planned = run_module(backup_catalog, {"root": str(tmp_path), "state": "pruned"}, check_mode=True)
    assert planned["changed"] is True and planned["abandoned"] == [killed["backup_id"]]
    assert os.path.isdir(killed["path"])

    pruned = run_module(backup_catalog, {"root": str(tmp_path), "state": "pruned"})
    assert pruned["abandoned"] == [killed["backup_id"]] and pruned["deleted"] == []
    assert not os.path.exists(killed["path"])
    # A backup opened minutes ago may still be running, and the complete one is retention's business.
    assert os.path.isdir(in_progress["path"]) and os.path.isdir(finished["path"])
    assert run_module(backup_catalog, {"root": str(tmp_path), "state": "pruned"})["changed"] is False


def test_check_mode_backup_creates_nothing_and_previews_its_retention(tmp_path):
    first, _first_finished = open_and_finish(tmp_path)
    second, _second_finished = open_and_finish(tmp_path)
    before = sorted(os.listdir(tmp_path))
    # Opened in the same second as `second`: the preview must not take that backup's id.
    opened = run_module(backup_catalog, {"root": str(tmp_path), "state": "open"}, check_mode=True)
    assert opened["changed"] is True and opened["backup_id"] not in before
    previewed = run_module(backup_catalog, {
        "root": str(tmp_path), "app": "coffee-tracker", "backup_id": opened["backup_id"], "keep_last": 2,
        "stores": [{"name": "main", "kind": "compose_postgres"}]}, check_mode=True)
    assert previewed["changed"] is True
    assert previewed["manifest"]["stores"] == [{"name": "main", "kind": "compose_postgres", "files": []}]
    # Once the new backup exists, keep_last=2 keeps it and `second`.
    assert previewed["deleted"] == [first["backup_id"]]
    assert sorted(os.listdir(tmp_path)) == before


def test_present_of_a_missing_directory_still_fails_outside_check_mode(tmp_path):
    failed = run_module(backup_catalog, {"root": str(tmp_path), "app": "coffee-tracker", "backup_id": "20250101T000000Z"})
    assert failed["failed"] is True and "open the backup first" in failed["msg"]


# Retention as the role passes it (common_backup_keep_last, _max_age_days, _safety_keep_last, _safety_max_age_days).
ROLE_RETENTION = {"keep_last": 7, "max_age_days": 30, "safety_keep_last": 3, "safety_max_age_days": 14}


def backup_made_at(root, moment, kind="manual", protect=(), retention=None, check_mode=False):
    """A backup opened at ``moment`` (its id and created_at), finished by the module as the role does."""
    if check_mode:
        opened = run_module(backup_catalog, {"root": str(root), "state": "open"}, check_mode=True)
        backup_id = opened["backup_id"]
    else:
        backup_id, path = _backup.create_backup_dir(str(root), now=moment)
        with open(os.path.join(path, "main.dump"), "wb") as handle:
            handle.write(b"rows of " + backup_id.encode())
    finished = run_module(backup_catalog, {
        "root": str(root), "app": "coffee-tracker", "backup_id": backup_id, "kind": kind, "protect": list(protect),
        "stores": [{"name": "main", "kind": "compose_postgres", "files": [] if check_mode else ["main.dump"]}],
        **(retention or {})}, check_mode=check_mode)
    assert finished["changed"] is True, finished
    return backup_id, finished


def backups_on_disk(root):
    return sorted(name for name in os.listdir(root) if _backup.is_valid_backup_id(name))


@pytest.mark.parametrize("retention", [ROLE_RETENTION, {"max_age_days": 30}], ids=["role-defaults", "age-only"])
def test_restoring_an_old_backup_and_then_its_safety_backup_keeps_the_only_full_backup(tmp_path, retention):
    now = _backup.utc_now()
    full = backup_made_at(tmp_path, now - datetime.timedelta(days=40))[0]
    # restore full: its safety backup protects the backup being restored.
    first_safety, first = backup_made_at(tmp_path, now - datetime.timedelta(minutes=5), kind="safety",
                                         protect=[full], retention=retention)
    assert first["deleted"] == []
    # restore first_safety: the new safety backup protects first_safety, not the full backup.
    _second_safety, second = backup_made_at(tmp_path, now, kind="safety", protect=[first_safety], retention=retention)
    assert second["deleted"] == [] and full in backups_on_disk(tmp_path)
    info = run_module(backup_catalog_info, {"root": str(tmp_path)})
    assert info["backup_id"] == full and info["verified"] is True


def month_of_failed_backups(root, now):
    """Seven daily backups, the newest 31 days old: every one is past a 30-day age limit."""
    return [backup_made_at(root, now - datetime.timedelta(days=days))[0] for days in range(37, 30, -1)]


def test_the_first_backup_after_a_month_of_failures_keeps_the_newest_seven(tmp_path):
    now = _backup.utc_now()
    old = month_of_failed_backups(tmp_path, now)
    new, finished = backup_made_at(tmp_path, now, retention=ROLE_RETENTION)
    assert finished["deleted"] == [old[0]]
    assert backups_on_disk(tmp_path) == sorted(old[1:] + [new])


def test_check_mode_previews_the_floor_and_deletes_nothing(tmp_path):
    now = _backup.utc_now()
    old = month_of_failed_backups(tmp_path, now)
    _new, previewed = backup_made_at(tmp_path, now, retention=ROLE_RETENTION, check_mode=True)
    assert previewed["deleted"] == [old[0]]
    assert backups_on_disk(tmp_path) == old


def test_check_mode_previews_a_safety_backup_s_own_retention(tmp_path):
    now = _backup.utc_now()
    full = backup_made_at(tmp_path, now - datetime.timedelta(days=3))[0]
    older_safety = backup_made_at(tmp_path, now - datetime.timedelta(days=20), kind="safety")[0]
    _new, previewed = backup_made_at(tmp_path, now, kind="safety", protect=[full], check_mode=True,
                                     retention={"keep_last": 1, "safety_keep_last": 1, "safety_max_age_days": 14})
    assert previewed["deleted"] == [older_safety]
    assert backups_on_disk(tmp_path) == sorted([full, older_safety])


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_backup_is_private_once_its_manifest_is_written(tmp_path):
    root = tmp_path / "backups"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    # A backup an older release left readable by every local user.
    legacy_id, legacy_path = _backup.create_backup_dir(str(root), now=_backup.utc_now() - datetime.timedelta(days=1))
    os.chmod(legacy_path, 0o755)
    root.chmod(0o755)

    opened = run_module(backup_catalog, {"root": str(root), "state": "open"})
    assert mode_of(root) == 0o700 and mode_of(opened["path"]) == 0o700
    assert mode_of(os.path.join(opened["path"], ".incomplete")) == 0o600
    # pg_dump in a container writes with its own umask.
    dump = os.path.join(opened["path"], "main.dump")
    with open(dump, "wb") as handle:
        handle.write(b"dump")
    os.chmod(dump, 0o644)
    run_module(backup_catalog, {"root": str(root), "app": "coffee-tracker", "backup_id": opened["backup_id"],
                                "stores": [{"name": "main", "kind": "compose_postgres", "files": ["main.dump"]}]})
    assert mode_of(dump) == 0o600 and mode_of(os.path.join(opened["path"], "manifest.json")) == 0o600
    assert mode_of(opened["path"]) == 0o700 and mode_of(legacy_path) == 0o700 and mode_of(root) == 0o700
    assert legacy_id in os.listdir(root)


def as_user(uid, *argv):
    """Runs argv as another local user (uid and gid), as a container's user or a curious neighbour would."""
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *argv],
                          capture_output=True, text=True, check=False)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing owners and switching users needs root")


@pytest.fixture
def project_dir():
    """A directory every local user may pass through, as a compose project directory is
    (pytest's own tmp_path sits under a 0700 directory)."""
    path = tempfile.mkdtemp(prefix="appops-catalog-", dir="/tmp")
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    shutil.rmtree(path)


@needs_root
def test_a_store_written_by_another_uid_gets_its_own_private_directory(project_dir):
    root = project_dir / "backups"
    opened = run_module(backup_catalog, {"root": str(root), "state": "open", "owner": "999", "group": "999"})
    assert opened["changed"] is True, opened
    for path in (str(root), opened["path"]):
        status = os.stat(path)
        assert (status.st_uid, status.st_gid, mode_of(path)) == (999, 999, 0o700)
    # The database's user (uid 999 in its container) writes the dump; another local user cannot look in.
    dump = os.path.join(opened["path"], "main.dump")
    written = as_user(999, "sh", "-c", f"umask 022; printf dump > {dump}")
    assert written.returncode == 0, written.stderr
    assert os.stat(dump).st_uid == 999 and mode_of(dump) == 0o644
    assert as_user(1000, "ls", str(root)).returncode != 0
    assert as_user(1000, "cat", dump).returncode != 0

    run_module(backup_catalog, {"root": str(root), "app": "coffee-tracker", "backup_id": opened["backup_id"],
                                "stores": [{"name": "main", "kind": "compose_postgres", "files": ["main.dump"]}]})
    assert mode_of(dump) == 0o600 and mode_of(os.path.join(opened["path"], "manifest.json")) == 0o600
    assert run_module(backup_catalog_info, {"root": str(root)})["verified"] is True
    # Without owner the next backup follows the root's owner, so the database's user can write it too.
    following = run_module(backup_catalog, {"root": str(root), "state": "open"})
    assert os.stat(following["path"]).st_uid == 999 and mode_of(following["path"]) == 0o700


def test_an_unknown_owner_name_fails_clearly(tmp_path):
    failed = run_module(backup_catalog, {"root": str(tmp_path / "b"), "state": "open", "owner": "no-such-user-here"})
    assert failed["failed"] is True and "no-such-user-here" in failed["msg"] and "numeric uid" in failed["msg"]


def test_the_manifest_records_the_deployed_ref_of_the_deploy_history_document(tmp_path):
    opened = run_module(backup_catalog, {"root": str(tmp_path / "backups"), "state": "open"})
    stale = tmp_path / "deployments.json"
    stale.write_text('{"current": {"ref": "v0.9.0"}}', encoding="utf-8")
    history = {"current": {"ref": "v1.4.0", "sha": "abc123", "via": "deploy"}, "history": []}
    finished = run_module(backup_catalog, {"root": str(tmp_path / "backups"), "app": "coffee-tracker",
                                           "backup_id": opened["backup_id"], "deploy_history": history,
                                           "deployments_file": str(stale)})
    # The document (from the state backend) wins over a file; only the ref's own fields are kept.
    assert finished["manifest"]["deployed"] == {"ref": "v1.4.0", "sha": "abc123"}
