# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared documents the procedures keep (deploy history, restore markers, safety backups),
in both state backends: a real directory and a real PostgreSQL (see conftest)."""

from __future__ import annotations

import json
import typing as t

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils import _backup
from ansible_collections.appops.runbooks.plugins.module_utils._postgres import procedures
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.marker import MarkerDocument, MarkerFile
from ansible_collections.appops.runbooks.plugins.module_utils._state import open_backend
from ansible_collections.appops.runbooks.plugins.modules import postgres_db
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module

HISTORY = {"current": {"ref": "v1.4.0", "sha": "abc123", "image": "coffee:abc123", "deployed_at": "2026-12-01T10:00:00Z"},
           "history": [{"ref": "v1.4.0", "sha": "abc123"}]}


def test_the_local_backend_keeps_the_deploy_history_and_safety_list_where_earlier_releases_wrote_them(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    # A state folder as an earlier release left it: read as it is, nothing to migrate.
    (state / "deployments.json").write_text(json.dumps(HISTORY), encoding="utf-8")
    (state / "heroku_postgres").mkdir()
    (state / "heroku_postgres" / "safety-backups.json").write_text('["b003"]\n', encoding="utf-8")
    store = open_backend("local", state_dir=str(state))
    assert store.get_document("app", "deploy_history") == HISTORY
    assert store.get_document("app", "heroku_postgres.safety_backups") == ["b003"]
    store.put_document("app", "heroku_postgres.safety_backups", ["b003", "b005"])
    written = state / "heroku_postgres" / "safety-backups.json"
    assert json.loads(written.read_text(encoding="utf-8")) == ["b003", "b005"]
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    assert not (state / "documents").exists(), "no second copy of a document kept in its historic file"
    # What the manifest records as deployed comes from the same document.
    assert _backup.deployed_from_history(store.get_document("app", "deploy_history")) == HISTORY["current"]
    assert _backup.read_deployed(str(state / "deployments.json")) == HISTORY["current"]


def test_two_controllers_with_their_own_folders_share_the_documents_of_the_postgres_backend(state_dsn, tmp_path):
    first, second = open_backend("postgres", dsn=state_dsn), open_backend("postgres", dsn=state_dsn)
    try:
        first.put_document("sc-mvp-production", "heroku_postgres.safety_backups", ["b003"])
        first.put_document("sc-mvp-production", "deploy_history", HISTORY)
        assert second.get_document("sc-mvp-production", "heroku_postgres.safety_backups") == ["b003"]
        assert second.get_document("sc-mvp-production", "deploy_history") == HISTORY
        assert second.get_document("other-app", "deploy_history") is None
    finally:
        first.close()
        second.close()


def test_a_marker_document_round_trips_and_anything_but_a_marker_reads_as_none(state_dsn):
    store = open_backend("postgres", dsn=state_dsn)
    try:
        markers = MarkerDocument(store, "coffee-tracker", "restore-main")
        assert markers.read() == {}
        markers.write({"backup_id": "20261201T100000Z", "sha256": "a" * 64, "tables": {}})
        assert MarkerDocument(store, "coffee-tracker", "restore-main").read()["backup_id"] == "20261201T100000Z"
        assert MarkerDocument(store, "coffee-tracker", "restore-cache").read() == {}
        store.put_document("coffee-tracker", "restore-main", ["not", "a", "marker"])
        assert markers.read() == {}
    finally:
        store.close()


def restore_params(**overrides: t.Any) -> dict[str, t.Any]:
    params = {"state": "restored", "backend": "local", "dsn": None, "state_dir": None, "marker": None,
              "app": None, "marker_key": None}
    params.update(overrides)
    return params


def test_the_marker_store_follows_the_backend(state_dsn, tmp_path):
    with procedures.marker_store(restore_params(marker=str(tmp_path / "restore-main.json"))) as markers:
        assert isinstance(markers, MarkerFile)
        markers.write({"backup_id": "b1"})
    assert json.loads((tmp_path / "restore-main.json").read_text(encoding="utf-8")) == {"backup_id": "b1"}

    shared = restore_params(backend="postgres", dsn=state_dsn, app="coffee-tracker", marker_key="restore-main")
    with procedures.marker_store(shared) as markers:
        markers.write({"backup_id": "b2"})
    # Another run (another controller, another folder) reads what the first one wrote.
    with procedures.marker_store(dict(shared, marker=str(tmp_path / "ignored.json"))) as markers:
        assert markers.read() == {"backup_id": "b2"}
    assert not (tmp_path / "ignored.json").exists()

    local_document = restore_params(state_dir=str(tmp_path / "state"), app="coffee-tracker", marker_key="restore-main")
    with procedures.marker_store(local_document) as markers:
        markers.write({"backup_id": "b3"})
    assert json.loads((tmp_path / "state" / "documents" / "restore-main.json").read_text(encoding="utf-8")) == {
        "backup_id": "b3"}


@pytest.mark.parametrize(("params", "message"), [
    (restore_params(), "backend=local needs marker (a file), or state_dir, app and marker_key"),
    (restore_params(backend="postgres", dsn="host=x", app="a"), "needs marker_key"),
    (restore_params(backend="postgres", app="a", marker_key="restore-main"), "needs dsn"),
])
def test_a_restore_without_a_place_for_its_marker_is_refused(params, message):
    assert message in (procedures.marker_missing(params) or "")


@pytest.mark.parametrize("params", [
    restore_params(marker="/srv/app/.appops/restore-main.json"),
    restore_params(backend="postgres", dsn="host=x", app="a", marker_key="restore-main"),
    restore_params(state="dumped"),
])
def test_a_restore_with_a_place_for_its_marker_or_a_dump_is_accepted(params):
    assert procedures.marker_missing(params) is None


def test_the_manifest_records_the_deployed_ref_given_as_a_history_document():
    assert _backup.deployed_from_history(HISTORY) == HISTORY["current"]
    assert _backup.deployed_from_history({}) == {} and _backup.deployed_from_history(None) == {}
    assert _backup.deployed_from_history({"current": "v1"}) == {}


def test_a_restore_whose_state_database_cannot_be_reached_fails_before_touching_the_database(tmp_path):
    failed = run_module(postgres_db, {
        "url": "postgresql://app@127.0.0.1:1/app", "state": "restored", "path": str(tmp_path / "none.dump"),
        "backup_id": "b001", "sha256": "a" * 64, "backend": "postgres", "app": "micmap-api", "marker_key": "restore-main",
        "dsn": "postgresql://appops:s3cret-pw@127.0.0.1:1/state"})
    assert failed["failed"] is True
    assert "state backend: cannot connect to the state database" in failed["msg"] and "s3cret-pw" not in failed["msg"]
    refused = run_module(postgres_db, {
        "url": "postgresql://app@127.0.0.1:1/app", "state": "restored", "path": str(tmp_path / "none.dump"),
        "backup_id": "b001", "sha256": "a" * 64})
    assert refused["failed"] is True and "backend=local needs marker (a file)" in refused["msg"]
