# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime
import json
import os

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _backup

UTC = datetime.timezone.utc


def make_backup(root, moment, kind="manual", payload=b"dump-bytes"):
    backup_id, path = _backup.create_backup_dir(str(root), now=moment)
    with open(os.path.join(path, "main.dump"), "wb") as handle:
        handle.write(payload)
    manifest = _backup.build_manifest("coffee-tracker", backup_id, path,
                                      [{"name": "main", "kind": "compose_postgres", "files": ["main.dump"],
                                        "row_counts": {"public.coffee_logs": 3}}],
                                      kind=kind, created_at=_backup.format_time(moment))
    _backup.finalize(path, manifest)
    return backup_id, path


def test_manifest_records_size_sha256_and_counts(tmp_path):
    backup_id, path = make_backup(tmp_path, datetime.datetime(2025, 1, 1, 2, 0, tzinfo=UTC))
    assert backup_id == "20250101T020000Z"
    manifest = json.loads(open(os.path.join(path, "manifest.json"), encoding="utf-8").read())
    described = manifest["stores"][0]["files"][0]
    assert described["size"] == len(b"dump-bytes")
    assert described["sha256"] == _backup.sha256_file(os.path.join(path, "main.dump"))
    assert manifest["stores"][0]["row_counts"] == {"public.coffee_logs": 3}
    assert not os.path.exists(os.path.join(path, _backup.INCOMPLETE_MARKER))


def test_same_second_ids_get_a_suffix(tmp_path):
    moment = datetime.datetime(2025, 1, 1, 2, 0, tzinfo=UTC)
    first, _path = _backup.create_backup_dir(str(tmp_path), now=moment)
    second, _path2 = _backup.create_backup_dir(str(tmp_path), now=moment)
    assert (first, second) == ("20250101T020000Z", "20250101T020000Z-2")


def test_next_free_backup_id_is_the_id_create_would_take_and_creates_nothing(tmp_path):
    moment = datetime.datetime(2025, 1, 1, 2, 0, tzinfo=UTC)
    assert _backup.next_free_backup_id(str(tmp_path), now=moment) == "20250101T020000Z"
    _backup.create_backup_dir(str(tmp_path), now=moment)
    planned = _backup.next_free_backup_id(str(tmp_path), now=moment)
    assert planned == "20250101T020000Z-2" and sorted(os.listdir(tmp_path)) == ["20250101T020000Z"]
    assert _backup.create_backup_dir(str(tmp_path), now=moment)[0] == planned


def test_checksum_mismatch_is_refused(tmp_path):
    backup_id, path = make_backup(tmp_path, datetime.datetime(2025, 1, 1, 2, 0, tzinfo=UTC))
    dump = os.path.join(path, "main.dump")
    data = bytearray(open(dump, "rb").read())
    data[3] ^= 0xFF
    open(dump, "wb").write(bytes(data))
    item = _backup.resolve(str(tmp_path), backup_id)
    with pytest.raises(_backup.BackupCorrupt) as corrupt:
        _backup.verify_or_raise(item)
    assert "main.dump sha256" in str(corrupt.value)


def test_latest_skips_safety_and_incomplete_backups(tmp_path):
    make_backup(tmp_path, datetime.datetime(2025, 1, 1, 2, 0, tzinfo=UTC))
    make_backup(tmp_path, datetime.datetime(2025, 1, 2, 2, 0, tzinfo=UTC), kind="safety")
    _backup.create_backup_dir(str(tmp_path), now=datetime.datetime(2025, 1, 3, 2, 0, tzinfo=UTC))
    assert _backup.resolve(str(tmp_path))["backup_id"] == "20250101T020000Z"
    assert _backup.resolve(str(tmp_path), include_safety=True)["backup_id"] == "20250102T020000Z"


def test_latest_refuses_to_pass_over_a_newer_damaged_backup(tmp_path):
    older, _path = make_backup(tmp_path, datetime.datetime(2025, 1, 1, 2, 0, tzinfo=UTC))
    newer, path = make_backup(tmp_path, datetime.datetime(2025, 1, 2, 2, 0, tzinfo=UTC))
    with open(os.path.join(path, _backup.MANIFEST_NAME), "w", encoding="utf-8") as handle:
        handle.write('{"truncated": ')
    with pytest.raises(_backup.BackupCorrupt) as damaged:
        _backup.resolve(str(tmp_path))
    assert newer in str(damaged.value) and older in str(damaged.value)
    with pytest.raises(_backup.BackupCorrupt):
        _backup.resolve(str(tmp_path), newer)
    # Asked for by id, the older backup is a choice and is found.
    assert _backup.resolve(str(tmp_path), older)["backup_id"] == older


def test_unknown_backup_id_lists_what_exists(tmp_path):
    make_backup(tmp_path, datetime.datetime(2025, 1, 1, 2, 0, tzinfo=UTC))
    with pytest.raises(_backup.BackupNotFound) as missing:
        _backup.resolve(str(tmp_path), "20990101T000000Z")
    assert "20990101T000000Z" in str(missing.value) and "20250101T020000Z" in str(missing.value)


def test_retention_keeps_newest_and_protected(tmp_path):
    ids = [make_backup(tmp_path, datetime.datetime(2025, 1, day, 2, 0, tzinfo=UTC))[0] for day in range(1, 6)]
    backups = _backup.list_backups(str(tmp_path))
    now = datetime.datetime(2025, 1, 10, tzinfo=UTC)

    def doomed(full, **kwargs):
        return [item["backup_id"] for item in _backup.plan_retention(backups, full, now=now, **kwargs)]

    assert doomed(_backup.RetentionRule(keep_last=2), protect=[ids[0]]) == [ids[1], ids[2]]
    assert doomed(_backup.RetentionRule(max_age_days=7)) == [ids[0], ids[1]]
    # keep_last 0 and an age limit that would delete all still keep the newest.
    everything = doomed(_backup.RetentionRule(keep_last=0, max_age_days=0.001))
    assert ids[-1] not in everything and len(everything) == 4
    assert doomed(_backup.RetentionRule()) == []


def test_keep_last_is_a_floor_under_the_age_limit(tmp_path):
    # Daily backups up to 40 days ago, then a month of failed ones: all 7 are past 30 days.
    old = [make_backup(tmp_path, datetime.datetime(2025, 1, day, 2, 0, tzinfo=UTC))[0] for day in range(1, 8)]
    now = datetime.datetime(2025, 2, 9, 2, 0, tzinfo=UTC)
    new = make_backup(tmp_path, now)[0]
    rule = _backup.RetentionRule(keep_last=7, max_age_days=30)
    doomed = _backup.plan_retention(_backup.list_backups(str(tmp_path)), rule, protect=[new], now=now)
    # The new backup and the newest 6 old ones are the 7 kept; only the oldest goes.
    assert [item["backup_id"] for item in doomed] == [old[0]]
    # Beyond the floor, backups younger than the age limit stay.
    young = _backup.RetentionRule(keep_last=1, max_age_days=60)
    assert _backup.plan_retention(_backup.list_backups(str(tmp_path)), young, now=now) == []


def test_safety_backups_have_their_own_retention_and_never_displace_the_newest_full_one(tmp_path):
    full = make_backup(tmp_path, datetime.datetime(2025, 1, 1, 2, 0, tzinfo=UTC))[0]
    safety = [make_backup(tmp_path, datetime.datetime(2025, 2, day, 2, 0, tzinfo=UTC), kind="safety")[0]
              for day in (1, 2, 3, 20)]
    backups = _backup.list_backups(str(tmp_path))
    now = datetime.datetime(2025, 2, 21, tzinfo=UTC)
    # The full backup is past its age limit but the newest full one; safety ones are not counted with it.
    doomed = _backup.plan_retention(backups, _backup.RetentionRule(keep_last=1, max_age_days=30),
                                    _backup.RetentionRule(keep_last=2, max_age_days=14), now=now)
    assert [item["backup_id"] for item in doomed] == [safety[0], safety[1]]
    kept_all = _backup.plan_retention(backups, _backup.RetentionRule(keep_last=1), now=now)
    assert kept_all == [] and full not in [item["backup_id"] for item in kept_all]


def test_only_safety_backups_keep_the_newest(tmp_path):
    ids = [make_backup(tmp_path, datetime.datetime(2025, 1, day, 2, 0, tzinfo=UTC), kind="safety")[0]
           for day in (1, 2)]
    doomed = _backup.plan_retention(_backup.list_backups(str(tmp_path)), _backup.RetentionRule(),
                                    _backup.RetentionRule(keep_last=0), now=datetime.datetime(2025, 3, 1, tzinfo=UTC))
    assert [item["backup_id"] for item in doomed] == [ids[0]]


def test_read_deployed(tmp_path):
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps({"current": {"ref": "v1.1.0", "sha": "abc", "image": "i", "deployed_at": "t", "x": 1}}),
                    encoding="utf-8")
    assert _backup.read_deployed(str(path)) == {"ref": "v1.1.0", "sha": "abc", "image": "i", "deployed_at": "t"}
    assert _backup.read_deployed(str(tmp_path / "missing.json")) == {}
