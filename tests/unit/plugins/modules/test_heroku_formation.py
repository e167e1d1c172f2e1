# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.modules import heroku_formation, heroku_formation_info
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests


def test_scale_sends_one_batch_with_only_differing_entries(heroku):
    app = heroku.add_app("sc-mvp-production")
    args = {"app": "sc-mvp-production", "formation": [
        {"type": "web", "quantity": 2, "size": "standard-1X"},
        {"type": "worker", "quantity": 0},  # already 0: must not be sent
    ]}

    checked = run_module(heroku_formation, args, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert checked["updates"] == [{"type": "web", "quantity": 2, "dyno_size": {"name": "standard-1X"}}]
    assert checked["diff"]["before"]["web"] == {"quantity": 1, "size": "Basic"}
    assert checked["diff"]["after"]["web"] == {"quantity": 2, "size": "standard-1X"}
    assert app.formation["web"]["quantity"] == 1 and heroku.writes() == []

    applied = run_module(heroku_formation, args)
    assert applied["changed"] is True
    patches = heroku.requests("PATCH", "/apps/sc-mvp-production/formation")
    assert [p["body"] for p in patches] == [{"updates": [
        {"type": "web", "quantity": 2, "dyno_size": {"name": "standard-1X"}}]}]
    assert app.formation["web"]["quantity"] == 2 and app.formation["web"]["size"] == "Standard-1X"
    web = next(e for e in applied["formation"] if e["type"] == "web")
    assert web == {"type": "web", "quantity": 2, "size": "Standard-1X", "command": "npm start"}

    # The API answers Standard-1X; asking for standard-1x again is no change.
    args["formation"][0]["size"] = "standard-1x"
    assert run_module(heroku_formation, args, check_mode=True)["changed"] is False
    assert run_module(heroku_formation, args)["changed"] is False
    assert len(heroku.requests("PATCH")) == 1


def test_quantity_only_leaves_size_alone(heroku):
    heroku.add_app("a")
    result = run_module(heroku_formation, {"app": "a", "formation": [{"type": "worker", "quantity": 3}]})
    assert result["updates"] == [{"type": "worker", "quantity": 3}]


def test_unknown_type_duplicates_and_negative_quantities_fail_without_writes(heroku):
    heroku.add_app("a")
    unknown = run_module(heroku_formation, {"app": "a", "formation": [{"type": "clock", "quantity": 1}]})
    assert unknown["failed"] and "no process type 'clock' (it has: web, worker)" in unknown["msg"]
    twice = run_module(heroku_formation, {"app": "a", "formation": [{"type": "web"}, {"type": "web"}]})
    assert twice["failed"] and "listed twice" in twice["msg"]
    negative = run_module(heroku_formation, {"app": "a", "formation": [{"type": "web", "quantity": -1}]})
    assert negative["failed"] and "negative" in negative["msg"]
    assert heroku.writes() == []


def test_api_rejection_names_the_operation(heroku):
    heroku.add_app("a")
    original = heroku.apps["a"].formation

    class Vanishing(dict):
        """A process type that disappears between the read and the write (a concurrent deploy)."""

        def get(self, key, default=None):
            return None if key == "worker" else super().get(key, default)

    heroku.apps["a"].formation = Vanishing(original)
    result = run_module(heroku_formation, {"app": "a", "formation": [{"type": "worker", "quantity": 1}]})
    assert result["failed"]
    assert result["msg"].startswith("Heroku app 'a': scaling worker failed: PATCH /apps/a/formation returned HTTP 404")


def test_info_lists_formation_and_dynos(heroku):
    heroku.add_app("a").formation["web"]["quantity"] = 2
    result = run_module(heroku_formation_info, {"app": "a"})
    assert result["changed"] is False
    assert [(e["type"], e["quantity"]) for e in result["formation"]] == [("web", 2), ("worker", 0)]
    assert [d["name"] for d in result["dynos"]] == ["web.1", "web.2"]
