# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.backups import (
    backup_number,
    describe_transfer,
    transfer_in_flight,
    transfer_kind,
    transfer_name,
    transfer_status,
)
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.client import (
    HEROKU_ARGUMENT_SPEC,
    HerokuClient,
    formation_entry,
    normalize_api_url,
)
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.releases import (
    current_release,
    rollback_target_version,
)
from ansible_collections.appops.runbooks.plugins.module_utils._http import NotFound
from ansible_collections.appops.runbooks.plugins.modules import heroku_app
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import TOKEN, run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests


@pytest.mark.parametrize("given, expected", [
    ("https://api.heroku.com/", "https://api.heroku.com"),
    ("http://127.0.0.1:18100", "http://127.0.0.1:18100"),
    ("heroku.com", "https://api.heroku.com"),
    (" herokudev.com ", "https://api.herokudev.com"),
])
def test_normalize_api_url_accepts_urls_and_cli_style_hosts(given, expected):
    assert normalize_api_url(given) == expected


def test_argument_spec_keeps_the_token_secret_and_reads_the_environment():
    assert HEROKU_ARGUMENT_SPEC["api_key"]["no_log"] is True
    assert HEROKU_ARGUMENT_SPEC["api_key"]["fallback"][1] == ["HEROKU_API_KEY"]
    assert HEROKU_ARGUMENT_SPEC["api_url"]["fallback"][1] == ["HEROKU_API_URL", "HEROKU_HOST"]
    assert HEROKU_ARGUMENT_SPEC["data_api_url"]["fallback"][1] == ["HEROKU_DATA_API_URL"]


def test_heroku_host_environment_is_honoured(heroku, monkeypatch):
    heroku.add_app("a")
    monkeypatch.delenv("HEROKU_API_URL")
    monkeypatch.setenv("HEROKU_HOST", heroku.base_url)
    assert run_module(heroku_app, {"app": "a"})["app"]["name"] == "a"


def test_client_repr_and_history_hide_the_token(heroku):
    heroku.add_app("a")
    client = HerokuClient(TOKEN, api_url=heroku.base_url, data_api_url=heroku.base_url)
    client.app("a")
    client.transfers("a")
    assert TOKEN not in repr(client) and TOKEN not in repr(client.history)
    assert [(r.method, r.path, r.status) for r in client.history] == [
        ("GET", "/apps/a", 200), ("GET", "/client/v11/apps/a/transfers", 200)]


def test_app_names_are_path_escaped(heroku):
    client = HerokuClient(TOKEN, api_url=heroku.base_url, data_api_url=heroku.base_url)
    with pytest.raises(NotFound):
        client.app("../account")
    assert heroku.log[-1]["path"] == "/apps/..%2Faccount"


def test_postgres_addon_resolution(heroku):
    heroku.add_app("with-db")
    heroku.add_app("no-db", postgres=False)
    client = HerokuClient(TOKEN, api_url=heroku.base_url, data_api_url=heroku.base_url)
    assert client.postgres_addon("with-db")["id"] == heroku.apps["with-db"].addon["id"]
    with pytest.raises(NotFound):
        client.postgres_addon("no-db")
    heroku.apps["with-db"].addon["plan"]["name"] = "heroku-redis:mini"
    with pytest.raises(NotFound) as caught:
        client.postgres_addon("with-db")
    assert "no heroku-postgresql database is attached as DATABASE" in str(caught.value)


@pytest.mark.parametrize("transfer, kind, name, status", [
    ({"num": 3, "from_type": "pg_dump", "to_type": "gof3r", "finished_at": "x", "succeeded": True},
     "backup", "b003", "succeeded"),
    ({"num": 4, "from_type": "pg_dump", "to_type": "gof3r", "schedule": {"uuid": "s"}, "started_at": "x"},
     "backup", "a004", "running"),
    ({"num": 5, "from_type": "pg_dump", "to_type": "pg_restore", "finished_at": "x", "succeeded": False},
     "copy", "c005", "failed"),
    ({"num": 12, "from_type": "gof3r", "to_type": "pg_restore"}, "restore", "r012", "pending"),
    ({"num": 1, "from_type": "htcat", "to_type": "gof3r"}, "other", "r001", "pending"),
])
def test_transfer_classification_follows_the_cli(transfer, kind, name, status):
    assert (transfer_kind(transfer), transfer_name(transfer), transfer_status(transfer)) == (kind, name, status)


def test_transfer_helpers():
    assert transfer_in_flight({"finished_at": None}) is True
    assert transfer_in_flight({"finished_at": None, "canceled_at": "x"}) is False
    described = describe_transfer({"num": 1, "from_type": "pg_dump", "to_type": "gof3r",
                                   "to_url": "https://signed", "from_url": "postgres://u:p@h/db"})
    assert "to_url" not in described and "from_url" not in described and described["name"] == "b001"
    assert [backup_number(n) for n in ("b003", "A012", " r7 ", "latest", "x1")] == [3, 12, 7, None, None]


def test_formation_entry_prefers_dyno_size():
    assert formation_entry({"type": "web", "quantity": "2", "size": "old", "dyno_size": {"name": "Standard-1X"}}) == {
        "type": "web", "quantity": 2, "size": "Standard-1X", "command": None}
    assert formation_entry({"type": "web", "size": "Basic"})["size"] == "Basic"


def test_dyno_and_addon_reads(heroku):
    app = heroku.add_app("a")
    client = HerokuClient(TOKEN, api_url=heroku.base_url, data_api_url=heroku.base_url)
    assert client.dyno("a", "web.1")["state"] == "up"
    with pytest.raises(NotFound):
        client.dyno("a", "web.9")
    assert [addon["id"] for addon in client.addons("a")] == [app.addon["id"]]


def test_current_release_falls_back_to_newest_succeeded():
    releases = [{"version": 3, "status": "pending"}, {"version": 2, "status": "succeeded"}, {"version": 1}]
    assert current_release(releases)["version"] == 2
    assert current_release([{"version": 1, "status": "failed"}]) is None
    assert rollback_target_version({"description": "Rollback to v12 (hotfix)"}) == 12
    assert rollback_target_version({"description": "Deploy 1a2b"}) is None
