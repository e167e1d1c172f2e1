# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.modules import heroku_app_fleet
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests


def test_fleet_switches_only_the_apps_that_differ(heroku):
    apps = [heroku.add_app(f"fleet-{i}") for i in range(12)]
    for app in apps[:4]:
        app.maintenance = True
    names = [app.name for app in apps]

    checked = run_module(heroku_app_fleet, {"apps": names, "maintenance": True, "concurrency": 5},
                         check_mode=True, diff=True)
    assert checked["changed"] is True and checked["changed_apps"] == names[4:]
    assert heroku.writes() == []
    assert checked["diff"]["before"] == {name: {"maintenance": False} for name in names[4:]}

    applied = run_module(heroku_app_fleet, {"apps": names, "maintenance": True, "concurrency": 5})
    assert applied["changed_apps"] == names[4:] and applied["failed_apps"] == []
    assert all(app.maintenance for app in apps)
    assert sorted(r["path"] for r in heroku.writes()) == sorted(f"/apps/{n}" for n in names[4:])
    assert applied["apps"]["fleet-0"] == {"changed": False, "before": True, "maintenance": True}
    # One listing reads the whole fleet; only the 8 apps that differ are written.
    assert applied["requests"] == 1 + 8

    again = run_module(heroku_app_fleet, {"apps": names, "maintenance": True})
    assert again["changed"] is False and len(heroku.writes()) == 8
    assert again["requests"] == 1


def test_fleet_keeps_going_and_names_the_failed_apps(heroku):
    heroku.add_app("good-1")
    result = run_module(heroku_app_fleet, {"apps": ["good-1", "missing-app"], "maintenance": True})
    assert result["failed"] is True
    assert result["failed_apps"] == ["missing-app"] and result["changed_apps"] == ["good-1"]
    assert "1 of 2 Heroku apps failed (missing-app)" in result["msg"]
    assert "HTTP 404" in result["apps"]["missing-app"]["error"]
    # The app the listing does not show was read on its own, which is where its 404 came from.
    assert [r["path"] for r in heroku.requests("GET")] == ["/apps", "/apps/missing-app"]


def test_fleet_finds_apps_given_by_id_in_the_listing(heroku):
    app = heroku.add_app("by-id")
    result = run_module(heroku_app_fleet, {"apps": [app.id], "maintenance": True})
    assert result["changed_apps"] == [app.id] and app.maintenance is True
    assert [r["path"] for r in heroku.requests("GET")] == ["/apps"]
