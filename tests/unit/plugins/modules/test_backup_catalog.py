# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os

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
