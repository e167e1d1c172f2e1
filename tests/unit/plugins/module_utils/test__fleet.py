# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.filter.fleet import fleet_outcomes
from ansible_collections.appops.runbooks.plugins.module_utils._fleet import (
    FleetRun,
    guarded,
    handle_all,
    unique,
    workers_for,
)
from ansible_collections.appops.runbooks.plugins.module_utils._http import ApiError


def test_a_failed_member_keeps_its_error_and_the_others_their_outcome():
    def converge(name: str) -> dict:
        if name == "b":
            raise ApiError("boom", status=500)
        return {"changed": name == "c"}

    names = unique(["a", "b", "c", "a"])
    progress = FleetRun("clusters", lambda: [])
    result = progress.result(handle_all(names, guarded("cluster", converge), workers_for(16, names)), "clusters")
    outcomes = result["clusters"]
    assert list(outcomes) == ["a", "b", "c"]
    assert result["changed_clusters"] == ["c"] and result["failed_clusters"] == ["b"]
    assert outcomes["b"]["error"] == "cluster 'b': returned HTTP 500: boom" and outcomes["b"]["api_error"]["status"] == 500
    assert progress.failure(result, "clusters") == (
        "1 of 3 clusters failed (b); first error: cluster 'b': returned HTTP 500: boom")


def test_workers_never_exceed_the_members_nor_fall_below_one():
    assert workers_for(40, list(range(12))) == 12 and workers_for(8, list(range(200))) == 8 and workers_for(16, []) == 1


def test_backup_fleet_outcomes_name_each_apps_backup():
    fleet = {"apps": ["a", "b"], "changed_apps": ["a"], "backup_ids": {"a": "1" * 24, "b": "2" * 24},
             "stores": {"a": ["db"], "b": ["db"]}, "details": {"b": {"fresh": True}}}
    outcomes = fleet_outcomes(fleet["apps"], fleet, procedure="backup")
    assert outcomes["a"]["procedure"] == "backup" and outcomes["a"]["changed"] is True
    assert outcomes["a"]["backup_id"] == "1" * 24 and outcomes["b"]["stores"] == ["db"]
    assert outcomes["b"]["changed"] is False and outcomes["b"]["details"] == {"fresh": True}
    # A maintenance fleet result has none of these: its outcomes are as before.
    assert fleet_outcomes(["a"], {"state": "on", "changed_apps": ["a"]})["a"]["details"] == {"state": "on"}


def test_a_failed_fleet_fails_only_the_apps_with_an_error():
    fleet = {"state": "on", "changed_apps": ["a"],
             "apps": {"a": {"changed": True}, "b": {"changed": False, "error": "Heroku app 'b': HTTP 404"}}}
    outcomes = fleet_outcomes(["a", "b", "c"], fleet, failed=True, failed_step="Switch", message="1 of 3 apps failed")
    assert (outcomes["a"]["failed"], outcomes["a"]["changed"], outcomes["a"]["message"]) == (False, True, "")
    assert (outcomes["b"]["failed"], outcomes["b"]["message"], outcomes["b"]["failed_step"]) == (
        True, "Heroku app 'b': HTTP 404", "Switch")
    # An app the fleet result does not name was not reached: it gets the run's message.
    assert outcomes["c"]["failed"] is True and outcomes["c"]["message"] == "1 of 3 apps failed"
    # Without per-app results (the run failed before the fleet task answered) every app failed.
    assert all(outcome["failed"] and outcome["message"] == "early" for outcome in
               fleet_outcomes(["a", "b"], {"apps": ["a", "b"]}, failed=True, message="early").values())
    # Every app did its part and a later step failed: the run failed for each of them.
    assert all(outcome["failed"] for outcome in fleet_outcomes(
        ["a"], {"apps": {"a": {"changed": True}}}, failed=True, message="later").values())
