# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup and restore against the running coffee-tracker lab: real dumps, real data loss, real restores."""
from __future__ import annotations

import datetime
import json
import re
import shlex
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    APP, BACKUPS, MAINTENANCE, STATE, canary_present, http_get, manifest, pg_count, pg_execute, plant_canary,
    run_playbook, sqlite_count, sqlite_execute, switch_maintenance_on)

pytestmark = pytest.mark.integration


def test_backup_writes_a_verified_manifest(fresh_backup):
    backup_id, described = fresh_backup
    assert described["app"] == APP and described["backup_id"] == backup_id
    stores = {store["name"]: store for store in described["stores"]}
    assert set(stores) == {"main", "secondary"}
    assert stores["main"]["row_counts"]["public.coffee_logs"] > 0
    assert stores["main"]["files"][0]["name"] == "main.dump" and len(stores["main"]["files"][0]["sha256"]) == 64
    assert stores["secondary"]["verification"]["integrity_check"] == "ok"
    # A regular backup (app serving traffic) counts the rows of the dump itself, not the live tables.
    assert stores["main"]["verification"] == {
        "pg_restore_list": "ok", "rows_read_back": True, "rows_counted_live": False}
    assert described["deployed"]["ref"]
    assert (BACKUPS / backup_id / "main.dump").stat().st_size == stores["main"]["files"][0]["size"]


def test_a_backup_is_readable_by_its_owner_only(fresh_backup):
    """The backups hold the app's data: the catalog root and each backup 0700, every file 0600,
    whatever wrote it (pg_dump in the postgres container, the SQLite copy, the manifest)."""
    directory = BACKUPS / fresh_backup[0]
    files = sorted(path.name for path in directory.iterdir())
    assert files == ["main.dump", "manifest.json", "secondary.db"]
    assert stat.S_IMODE(BACKUPS.stat().st_mode) == 0o700 and stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {name: stat.S_IMODE((directory / name).stat().st_mode) for name in files} == dict.fromkeys(files, 0o600)
    for name in files:
        # Another local user (nobody) can neither list the catalog nor read a dump.
        denied = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat",
                                 str(directory / name)], capture_output=True, text=True, check=False)
        assert denied.returncode != 0 and "Permission denied" in denied.stderr


def test_restore_brings_dropped_rows_back_then_is_idempotent(fresh_backup, maintenance_off):
    backup_id, described = fresh_backup
    stores = {store["name"]: store for store in described["stores"]}
    expected_logs = stores["main"]["row_counts"]["public.coffee_logs"]
    expected_audit = stores["secondary"]["row_counts"]["audit_events"]

    pg_execute("DROP TABLE coffee_logs")
    sqlite_execute("DELETE FROM audit_events")
    assert pg_count("coffee_logs") is None and sqlite_count() == 0

    first = run_playbook("restore", "-e", f"backup_id={backup_id}")
    assert first.rc == 0, first.output[-4000:]
    assert f"RESTORED {APP} from backup {backup_id}" in first.text
    assert "rto_seconds=" in first.text and "rpo_seconds=" in first.text
    # The playbook compared every table with the manifest right after pg_restore; other lab
    # clients may add rows after it, never fewer than the backup held.
    assert "main: row counts match the manifest" in first.text
    assert "secondary: row counts match the manifest" in first.text
    # The safety backup, taken in maintenance, counted the live tables: coffee_logs was dropped.
    safety = manifest(re.search(r"safety_backup=(\S+)", first.text).group(1))
    safety_main = {store["name"]: store for store in safety["stores"]}["main"]
    assert safety["kind"] == "safety"
    assert safety_main["verification"] == {
        "pg_restore_list": "ok", "rows_read_back": False, "rows_counted_live": True}
    assert "public.coffee_logs" not in safety_main["row_counts"]
    assert safety_main["row_counts"]["public.heart_rates"] == stores["main"]["row_counts"]["public.heart_rates"]
    assert pg_count("coffee_logs") >= expected_logs
    assert sqlite_count() >= expected_audit
    assert canary_present(described["canary"]) == (True, True)
    assert not MAINTENANCE.exists()
    assert http_get("/health")[0] == 200

    second = run_playbook("restore", "-e", f"backup_id={backup_id}")
    assert second.rc == 0, second.output[-4000:]
    assert second.changed == 0
    assert "nothing restored" in second.text


def test_safety_backup_holds_only_the_replaced_stores(fresh_backup, maintenance_off):
    backup_id, described = fresh_backup
    heart_rates = {store["name"]: store for store in described["stores"]}["main"]["row_counts"]["public.heart_rates"]
    # Only PostgreSQL loses data; first make sure SQLite holds the backup, so its plan is "keep".
    settled = run_playbook("restore", "-e", f"backup_id={backup_id}")
    assert settled.rc == 0, settled.output[-4000:]
    pg_execute("DROP TABLE coffee_logs")
    pg_execute("INSERT INTO heart_rates (bpm, context) VALUES (77, 'written before the restore')")

    run = run_playbook("restore", "-e", f"backup_id={backup_id}")
    assert run.rc == 0, run.output[-4000:]
    assert f"RESTORED {APP} from backup {backup_id} stores=main " in run.text
    assert "secondary: keep (already holds the content of backup" in run.text
    safety_id = re.search(r"safety_backup=(\S+)", run.text).group(1)
    safety = manifest(safety_id)
    assert [store["name"] for store in safety["stores"]] == ["main"]
    assert safety["stores_left_out"] == ["secondary"]
    assert not (BACKUPS / safety_id / "secondary.db").exists()
    assert safety["stores"][0]["row_counts"]["public.heart_rates"] == heart_rates + 1

    # Restoring the safety backup brings back what the restore replaced and leaves the store it
    # holds no copy of as it is, rather than failing for want of one.
    marker = plant_canary()
    back = run_playbook("restore", "-e", f"backup_id={safety_id}")
    assert back.rc == 0, back.output[-4000:]
    assert "stores=main " in back.text
    assert f"secondary: keep (not in backup {safety_id}, which holds only the stores its restore replaced)" in back.text
    assert pg_count("heart_rates") == heart_rates + 1
    assert canary_present(marker)[1] is True
    assert http_get("/health")[0] == 200
    # The lab's rows as the backup holds them again (a restore of a full backup is proven above).
    pg_execute("DELETE FROM heart_rates WHERE context = 'written before the restore'")
    assert pg_count("heart_rates") == heart_rates


def test_corrupt_backup_is_refused_and_data_untouched(fresh_backup):
    backup_id, _manifest = fresh_backup
    corrupt_id = "20000101T000000Z"
    corrupt_dir = BACKUPS / corrupt_id
    shutil.copytree(BACKUPS / backup_id, corrupt_dir)
    try:
        with open(corrupt_dir / "main.dump", "r+b") as handle:
            handle.seek(2048)
            chunk = handle.read(16)
            handle.seek(2048)
            handle.write(bytes(byte ^ 0xFF for byte in chunk))
        marker = plant_canary()  # not in the backup: a restore would remove it
        run = run_playbook("restore", "-e", f"backup_id={corrupt_id}")
        assert run.rc != 0
        assert "failed checksum verification" in run.text and "main.dump" in run.text
        assert run.recap()["changed"] == 0
        assert canary_present(marker) == (True, True)
        assert not MAINTENANCE.exists()
    finally:
        shutil.rmtree(corrupt_dir, ignore_errors=True)


@pytest.mark.parametrize("extra, message", [
    ([], "needs confirm=coffee-tracker"),
    (["-e", "confirm=coffee"], "got confirm=coffee"),
])
def test_production_restore_needs_exact_confirm(fresh_backup, extra, message):
    marker = plant_canary()
    run = run_playbook("restore", "-e", "app_environment=production", *extra)
    assert run.rc != 0 and message in run.text and "nothing was done" in run.text
    assert run.recap()["changed"] == 0 and canary_present(marker) == (True, True)


def test_unknown_backup_id_fails_clearly(fresh_backup):
    run = run_playbook("restore", "-e", "backup_id=20991231T235959Z")
    assert run.rc != 0
    assert "backup '20991231T235959Z' not found" in run.text and fresh_backup[0] in run.text
    assert run.recap()["changed"] == 0


def test_malformed_backup_id_fails_before_anything(lab_up):
    marker = plant_canary()
    run = run_playbook("restore", "-e", "backup_id=../../etc")
    assert run.rc != 0 and "backup_id must be 'latest' or a backup id" in run.text
    assert run.recap()["changed"] == 0 and canary_present(marker) == (True, True)


def test_a_backup_id_with_a_trailing_newline_is_refused(fresh_backup):
    # A pattern anchored with $ accepts "<id>\n"; the whole value must match.
    marker = plant_canary()
    run = run_playbook("restore", "-e", json.dumps({"backup_id": fresh_backup[0] + "\n"}))
    assert run.rc != 0 and "backup_id must be 'latest' or a backup id" in run.text
    assert "RESTORED" not in run.text and "Take the per-app lock" not in run.output
    assert run.recap()["changed"] == 0 and canary_present(marker) == (True, True)


def test_unknown_app_fails_clearly(lab_up):
    run = run_playbook("restore", limit="no-such-app")
    assert run.rc != 0
    assert "no-such-app" in run.text and "no hosts" in run.text


@pytest.mark.parametrize("limit", [None, "all", "compose_apps,heroku_apps"])
@pytest.mark.parametrize("procedure, extra", [
    ("restore", []),
    ("deploy", ["-e", "ref=v1.0.0"]),
    ("rollback", []),
])
def test_a_destructive_run_over_several_apps_refuses_to_start(lab_up, procedure, extra, limit):
    # Without -l, and with a limit that still names several apps (-l all passed the guard before).
    deployed = json.loads((STATE / "deployments.json").read_text(encoding="utf-8"))["current"]
    marker = plant_canary()
    run = run_playbook(procedure, *extra, limit=limit)
    assert run.rc != 0 and f"{procedure} changes one app at a time: name the app(s) with -l <app>" in run.text
    assert run.recap()["changed"] == 0 and canary_present(marker) == (True, True)
    assert json.loads((STATE / "deployments.json").read_text(encoding="utf-8"))["current"] == deployed


def test_an_app_that_does_not_name_its_environment_gets_the_production_guard(fresh_backup, tmp_path):
    # Only what validation reads: an inventory written by hand that forgot app_environment.
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {APP: {
        "app_platform": "compose",
        "app_data_stores": [{"name": "main", "kind": "compose_postgres"}, {"name": "secondary", "kind": "sqlite"}],
    }}}}), encoding="utf-8")
    marker = plant_canary()
    run = run_playbook("restore", "-i", str(inventory))
    assert run.rc != 0 and "needs confirm=coffee-tracker" in run.text
    assert run.recap()["changed"] == 0 and canary_present(marker) == (True, True)


def test_unsupported_platform_fails_early(lab_up, tmp_path):
    # A platform no role declares (every planned one is built now).
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"someapp": {
        "app_platform": "nomad", "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}), encoding="utf-8")
    run = run_playbook("restore", "-i", str(inventory), limit="someapp")
    assert run.rc != 0 and "platform 'nomad' is unknown (supported: compose, heroku, vercel)" in run.text


@pytest.mark.parametrize("procedure, extra", [
    ("restore", []),
    ("deploy", ["-e", "ref=v1.0.0"]),
    ("rollback", []),
    ("backup", []),
])
def test_lock_held_refuses_a_second_run(fresh_backup, procedure, extra):
    lock = STATE / "lock.json"
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    lock.write_text(json.dumps({"app": APP, "holder": "alice@ops-box", "procedure": "restore", "since": since,
                                "token": "someone-else"}), encoding="utf-8")
    deployed = json.loads((STATE / "deployments.json").read_text(encoding="utf-8"))["current"]
    marker = plant_canary()  # not in the backup: a restore would remove it
    backups = sorted(path.name for path in BACKUPS.iterdir())
    try:
        run = run_playbook(procedure, "-e", f"backup_id={fresh_backup[0]}", *extra)
        assert run.rc != 0
        assert "locked by alice@ops-box" in run.text and since in run.text
        assert "common_lock_max_age=0" in run.text
        assert sorted(path.name for path in BACKUPS.iterdir()) == backups
        assert run.recap()["changed"] == 0
        assert json.loads(lock.read_text(encoding="utf-8"))["token"] == "someone-else"
        assert canary_present(marker) == (True, True)
        assert json.loads((STATE / "deployments.json").read_text(encoding="utf-8"))["current"] == deployed
        assert not MAINTENANCE.exists() and http_get("/health")[1]["version"] == deployed["ref"]
    finally:
        lock.unlink()


def test_a_lock_left_by_a_killed_run_is_taken_over_when_asked(fresh_backup):
    lock = STATE / "lock.json"
    lock.write_text(json.dumps({"app": APP, "holder": "alice@ops-box", "procedure": "backup",
                                "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5)),
                                "token": "killed-run"}), encoding="utf-8")
    try:
        run = run_playbook("backup", "-e", "common_lock_max_age=0")
        assert run.rc == 0, run.output[-3000:]
        assert "Took over a stale lock" in run.text and "alice@ops-box" in run.text
        backup_id = re.search(r"backup (\d{8}T\d{6}Z\S*)", run.text).group(1)
        assert (BACKUPS / backup_id / "manifest.json").is_file()
        assert not lock.exists()
    finally:
        lock.unlink(missing_ok=True)


def test_latest_refuses_to_pass_over_a_newer_damaged_backup(fresh_backup):
    backup_id, _manifest = fresh_backup
    damaged_id = "20991231T235959Z"
    shutil.copytree(BACKUPS / backup_id, BACKUPS / damaged_id)
    try:
        (BACKUPS / damaged_id / "manifest.json").write_text('{"app": "coffee-tr', encoding="utf-8")
        marker = plant_canary()
        run = run_playbook("restore")
        assert run.rc != 0
        assert f"backup {damaged_id}" in run.text and "missing or unreadable" in run.text
        assert run.recap()["changed"] == 0 and canary_present(marker) == (True, True)
        assert not MAINTENANCE.exists()
    finally:
        shutil.rmtree(BACKUPS / damaged_id, ignore_errors=True)


def test_restore_keeps_maintenance_on_when_it_was_on(fresh_backup, maintenance_off):
    backup_id, described = fresh_backup
    expected = {store["name"]: store for store in described["stores"]}["main"]["row_counts"]["public.coffee_logs"]
    switch_maintenance_on()
    assert http_get("/")[0] == 503
    pg_execute("DELETE FROM coffee_logs WHERE id IN (SELECT id FROM coffee_logs LIMIT 10)")
    run = run_playbook("restore", "-e", f"backup_id={backup_id}")
    assert run.rc == 0, run.output[-4000:]
    assert "main: row counts match the manifest" in run.text
    assert pg_count("coffee_logs") >= expected
    assert canary_present(described["canary"]) == (True, True)
    assert MAINTENANCE.exists()
    assert http_get("/")[0] == 503


def test_the_safety_backup_s_retention_keeps_the_backup_being_restored(fresh_backup, maintenance_off):
    # A catalog of its own (host directory and its path in the postgres container), so retention
    # here cannot touch the backups other tests use. It holds three full backups: the session's
    # and two copies of it made a second and two seconds later (what retention reads: the
    # manifest's backup_id, kind and created_at), so no backup run is needed to fill it.
    name = f"retention-{int(time.time() * 1000)}"
    root = BACKUPS / name
    root.mkdir(mode=0o777)
    root.chmod(0o777)
    catalog = ("-e", f"common_backup_root={root}", "-e", f"compose_postgres_container_backup_dir=/backups/{name}")
    try:
        made = [copy_backup(BACKUPS / fresh_backup[0], root, later_by) for later_by in range(3)]
        oldest = made[0]
        expected = {store["name"]: store for store in json.loads(
            (root / oldest / "manifest.json").read_text(encoding="utf-8"))["stores"]}
        pg_execute("DROP TABLE coffee_logs")

        # Keep only the newest full backup, made[2] (safety backups are counted apart). The oldest
        # is the one being restored: protected, it stays too; made[1] goes.
        run = run_playbook("restore", *catalog, "-e", f"backup_id={oldest}", "-e", "common_backup_keep_last=1",
                           "-e", "common_backup_max_age_days=0")
        assert run.rc == 0, run.output[-4000:]
        assert f"RESTORED {APP} from backup {oldest}" in run.text
        safety_id = re.search(r"safety_backup=(\S+)", run.text).group(1)
        assert sorted(path.name for path in root.iterdir()) == sorted([oldest, made[2], safety_id])
        assert (root / oldest / "main.dump").stat().st_size == expected["main"]["files"][0]["size"]
        assert pg_count("coffee_logs") >= expected["main"]["row_counts"]["public.coffee_logs"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_restore_that_fails_half_way_loses_nothing(fresh_backup, maintenance_off):
    """pg_restore has replaced the database when the row-count check fails: maintenance stays on
    (nobody verified the data now served), the lock is free, and the failure gives the commands
    that bring the data back (the safety backup) and then switch maintenance off."""
    backup_id = fresh_backup[0]
    bad_id = "20000102T000000Z"
    shutil.copytree(BACKUPS / backup_id, BACKUPS / bad_id)
    try:
        described = manifest(bad_id)
        described["backup_id"] = bad_id
        main = {store["name"]: store for store in described["stores"]}["main"]
        # The files (and so their checksums) are intact; the manifest promises one row more.
        main["row_counts"]["public.coffee_logs"] += 1
        (BACKUPS / bad_id / "manifest.json").write_text(json.dumps(described), encoding="utf-8")
        marker = plant_canary()  # the state before the restore: only the safety backup has it

        run = run_playbook("restore", "-e", f"backup_id={bad_id}")
        assert run.rc != 0
        assert f"Restore of {APP} from {bad_id} FAILED" in run.text
        assert "row counts after the restore differ" in run.text
        safety_id = re.search(r"The data as it was before is in safety backup (\S+) \(restore it with -e backup_id=\1\)",
                              run.text).group(1)
        assert canary_present(marker)[0] is False  # main was replaced by the bad backup's rows
        assert "Maintenance stays ON" in run.text
        assert MAINTENANCE.exists() and http_get("/")[0] == 503
        assert not (STATE / "lock.json").exists()

        # The two commands of the message, run as they are written.
        restore_command = re.search(r"Put the data back as it was: (ansible-playbook playbooks/restore\.yml .*?) ;",
                                    run.text).group(1)
        assert restore_command == f"ansible-playbook playbooks/restore.yml -l {APP} -e backup_id={safety_id}"
        off_command = re.search(r"then switch maintenance off: (ansible-playbook playbooks/maintenance\.yml -l \S+ -e state=off)",
                                run.text).group(1)
        back = run_command_line(restore_command)
        assert back.rc == 0, back.output[-4000:]
        assert f"RESTORED {APP} from backup {safety_id}" in back.text
        assert canary_present(marker) == (True, True)
        # The restore of the safety backup leaves maintenance as it found it: on.
        assert MAINTENANCE.exists()
        off = run_command_line(off_command)
        assert off.rc == 0, off.output[-4000:]
        assert not MAINTENANCE.exists() and http_get("/health")[0] == 200 and http_get("/")[0] == 200
    finally:
        shutil.rmtree(BACKUPS / bad_id, ignore_errors=True)


def test_a_restore_that_fails_half_way_can_put_maintenance_back_when_asked(fresh_backup, maintenance_off):
    """common_restore_failed_maintenance=restore: the same failure puts maintenance back off."""
    bad_id = "20000103T000000Z"
    shutil.copytree(BACKUPS / fresh_backup[0], BACKUPS / bad_id)
    try:
        described = manifest(bad_id)
        described["backup_id"] = bad_id
        {store["name"]: store for store in described["stores"]}["main"]["row_counts"]["public.coffee_logs"] += 1
        (BACKUPS / bad_id / "manifest.json").write_text(json.dumps(described), encoding="utf-8")
        run = run_playbook("restore", "-e", f"backup_id={bad_id}", "-e", "common_restore_failed_maintenance=restore")
        assert run.rc != 0 and f"Restore of {APP} from {bad_id} FAILED" in run.text
        assert "Maintenance stays ON" not in run.text
        assert not MAINTENANCE.exists() and not (STATE / "lock.json").exists()
        # The data as it was before is in the named safety backup (its restore is proven above).
        safety_id = re.search(r"safety backup (\S+) \(restore it", run.text).group(1)
        assert manifest(safety_id)["kind"] == "safety"
    finally:
        shutil.rmtree(BACKUPS / bad_id, ignore_errors=True)


def copy_backup(source: Path, root: Path, later_by: int) -> str:
    """A copy of the backup in source under root, as if taken later_by seconds after it; its id."""
    described = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    taken = datetime.datetime.strptime(described["created_at"], "%Y-%m-%dT%H:%M:%SZ") + datetime.timedelta(
        seconds=later_by)
    described["backup_id"] = taken.strftime("%Y%m%dT%H%M%SZ")
    described["created_at"] = taken.strftime("%Y-%m-%dT%H:%M:%SZ")
    shutil.copytree(source, root / described["backup_id"])
    (root / described["backup_id"] / "manifest.json").write_text(json.dumps(described), encoding="utf-8")
    return described["backup_id"]


def run_command_line(command: str):
    """An ansible-playbook command line as a failure message gives it, run against the lab."""
    words = shlex.split(command)
    assert words[0] == "ansible-playbook" and words[2] == "-l"
    return run_playbook(words[1], *words[4:], limit=words[3])
