# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.releases import parse_version
from ansible_collections.appops.runbooks.plugins.modules import heroku_release, heroku_release_info
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests


def current(app):
    return next(r for r in app.releases if r["current"])


def test_rollback_to_named_version_check_apply_idempotent(heroku):
    app = heroku.add_app("sc-mvp-production", releases=9)
    heroku.pending_polls = 2
    args = {"app": "sc-mvp-production", "version": "v8"}

    checked = run_module(heroku_release, args, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert checked["release"]["description"] == "Rollback to v8" and checked["release"]["version"] == 10
    assert checked["diff"] == {"before": {"version": 9, "description": "Deploy 0009"},
                               "after": {"version": 10, "description": "Rollback to v8"}}
    assert heroku.writes() == [] and len(app.releases) == 9

    applied = run_module(heroku_release, args)
    assert applied["changed"] is True
    target_id = next(r["id"] for r in app.releases if r["version"] == 8)
    assert [r["body"] for r in heroku.requests("POST", "/apps/sc-mvp-production/releases")] == [{"release": target_id}]
    # It waited for the new release to leave pending.
    assert applied["release"]["status"] == "succeeded" and applied["release"]["version"] == 10
    assert len(heroku.requests("GET", f"/apps/sc-mvp-production/releases/{applied['release']['id']}")) == 2
    assert current(app)["description"] == "Rollback to v8"
    assert applied["target"]["version"] == 8 and applied["previous_release"]["version"] == 9

    for check_mode in (True, False):
        again = run_module(heroku_release, {"app": "sc-mvp-production", "version": "8"}, check_mode=check_mode)
        assert again["changed"] is False and again["release"]["version"] == 10
    assert len(heroku.requests("POST")) == 1


def test_previous_is_idempotent_across_reruns(heroku):
    app = heroku.add_app("micmap-api", releases=5)
    app.releases[3]["status"] = "failed"  # v4 failed: previous skips it
    heroku.pending_polls = 0

    first = run_module(heroku_release, {"app": "micmap-api", "version": "previous"})
    assert first["changed"] is True and first["target"]["version"] == 3
    assert current(app)["description"] == "Rollback to v3"

    second = run_module(heroku_release, {"app": "micmap-api", "version": "previous"})
    assert second["changed"] is False
    assert second["target"]["version"] == 3 and second["release"]["version"] == 6
    assert len(heroku.requests("POST")) == 1


def test_previous_skips_releases_not_eligible_for_rollback(heroku):
    app = heroku.add_app("micmap-api", releases=4)
    app.releases[2]["eligible_for_rollback"] = False
    result = run_module(heroku_release, {"app": "micmap-api", "version": "previous"}, check_mode=True)
    assert result["target"]["version"] == 2


def test_current_version_is_no_change(heroku):
    heroku.add_app("micmap-api", releases=4)
    result = run_module(heroku_release, {"app": "micmap-api", "version": "v4"})
    assert result["changed"] is False and result["release"]["version"] == 4
    assert heroku.writes() == []


def test_pending_rollback_to_same_target_is_attached_to(heroku):
    app = heroku.add_app("micmap-api", releases=4)
    heroku.pending_polls = 3
    heroku._new_release(app, "Rollback to v2", "slug-2")  # an earlier run's rollback, still pending
    result = run_module(heroku_release, {"app": "micmap-api", "version": "2"})
    assert result["changed"] is False and result["attached"] is True
    assert result["release"]["status"] == "succeeded" and result["release"]["version"] == 5
    assert heroku.writes() == []


def test_failed_release_phase_fails_the_task(heroku):
    app = heroku.add_app("micmap-api", releases=4)
    heroku.pending_polls = 1
    original = heroku._tick

    def fail_release(item, app_):
        original(item, app_)
        if item.get("description", "").startswith("Rollback"):
            item["status"] = "failed"

    heroku._tick = fail_release
    result = run_module(heroku_release, {"app": "micmap-api", "version": "3"})
    assert result["failed"] is True
    assert "release v5 (Rollback to v3) failed" in result["msg"]
    assert app.releases[-1]["status"] == "failed"


def test_wait_timeout_reports_last_state(heroku):
    heroku.add_app("micmap-api", releases=3)
    heroku.pending_polls = 10 ** 6
    result = run_module(heroku_release, {"app": "micmap-api", "version": "1", "wait_timeout": 0.05})
    assert result["failed"] is True
    assert "waiting for release v4 failed: timed out after 0.05s" in result["msg"]
    assert result["last_state"]["status"] == "pending"


def test_no_wait_returns_the_pending_release(heroku):
    heroku.add_app("micmap-api", releases=3)
    heroku.pending_polls = 5
    result = run_module(heroku_release, {"app": "micmap-api", "version": "1", "wait": False})
    assert result["changed"] is True and result["release"]["status"] == "pending"


@pytest.mark.parametrize("version, message", [
    ("v99", "has no release v99"),
    ("latest", "version must be a number"),
])
def test_bad_targets_fail_without_writes(heroku, version, message):
    heroku.add_app("micmap-api", releases=3)
    result = run_module(heroku_release, {"app": "micmap-api", "version": version})
    assert result["failed"] and message in result["msg"]
    assert heroku.writes() == []


def test_target_that_failed_is_refused(heroku):
    app = heroku.add_app("micmap-api", releases=3)
    app.releases[1]["status"] = "failed"
    result = run_module(heroku_release, {"app": "micmap-api", "version": "2"})
    assert result["failed"] and "its status is failed" in result["msg"]


def test_previous_without_older_release_fails(heroku):
    heroku.add_app("micmap-api", releases=1)
    result = run_module(heroku_release, {"app": "micmap-api", "version": "previous"})
    assert result["failed"] and "no release before v1" in result["msg"]


def test_listing_pages_through_range_headers(heroku):
    heroku.add_app("micmap-api", releases=130)
    result = run_module(heroku_release, {"app": "micmap-api", "version": "previous"}, check_mode=True)
    assert result["target"]["version"] == 129
    ranges = [r["headers"]["range"] for r in heroku.requests("GET", "/apps/micmap-api/releases")]
    assert ranges == ["version ..; max=100, order=desc"]


def test_info_lists_newest_first_and_reads_one(heroku):
    heroku.add_app("micmap-api", releases=7)
    listed = run_module(heroku_release_info, {"app": "micmap-api", "limit": 3})
    assert [r["version"] for r in listed["releases"]] == [7, 6, 5]
    assert listed["current"]["version"] == 7 and listed["changed"] is False
    one = run_module(heroku_release_info, {"app": "micmap-api", "version": "v2"})
    assert one["release"]["version"] == 2
    bad = run_module(heroku_release_info, {"app": "micmap-api", "version": "previous"})
    assert bad["failed"]


def test_info_follows_next_range_pages(heroku):
    heroku.add_app("micmap-api", releases=1200)
    listed = run_module(heroku_release_info, {"app": "micmap-api", "limit": 1100})
    assert len(listed["releases"]) == 1100 and listed["releases"][-1]["version"] == 101
    ranges = [r["headers"]["range"] for r in heroku.requests("GET", "/apps/micmap-api/releases")]
    assert ranges == ["version ..; max=1000, order=desc", "]201..; max=1000, order=desc"]


@pytest.mark.parametrize("text, expected", [("42", 42), ("v42", 42), ("V7", 7), (" previous ", "previous"), (3, 3)])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_rollback_whose_answer_is_lost_rolls_back_once(heroku):
    app = heroku.add_app("sc-mvp-production", releases=5)
    heroku.lose_answer("POST", "/apps/sc-mvp-production/releases", how="503")

    result = run_module(heroku_release, {"app": "sc-mvp-production", "version": "v3"}, diff=True)

    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["attached"] is False
    assert result["release"]["version"] == 6 and result["release"]["description"] == "Rollback to v3"
    assert result["diff"] == {"before": {"version": 5, "description": "Deploy 0005"},
                              "after": {"version": 6, "description": "Rollback to v3"}}
    assert len(heroku.requests("POST", "/apps/sc-mvp-production/releases")) == 1
    assert [r["version"] for r in app.releases] == [1, 2, 3, 4, 5, 6]
