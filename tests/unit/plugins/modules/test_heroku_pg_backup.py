# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

from ansible_collections.appops.runbooks.plugins.modules import heroku_pg_backup, heroku_pg_backup_info
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests

APP = "sc-mvp-production"


def backups_of(app):
    return [t for t in app.transfers if t["to_type"] == "gof3r"]


def test_capture_waits_and_returns_named_backup(heroku):
    app = heroku.add_app(APP)
    heroku.add_backup(app)
    heroku.pending_polls = 2

    checked = run_module(heroku_pg_backup, {"app": APP, "state": "captured"}, check_mode=True)
    assert checked["changed"] is True and len(app.transfers) == 1

    result = run_module(heroku_pg_backup, {"app": APP, "state": "captured"})
    assert result["changed"] is True and result["attached"] is False
    assert result["backup"]["name"] == "b002" and result["backup"]["status"] == "succeeded"
    assert "to_url" not in result["backup"]
    assert heroku.requests("POST", f"/client/v11/databases/{app.addon['id']}/backups")
    resolve = heroku.requests("POST", "/actions/addon-attachments/resolve")[0]
    assert resolve["body"] == {"addon_attachment": "DATABASE", "app": APP}
    assert resolve["headers"]["accept-inclusion"] == "addon:plan"


def test_capture_attaches_to_a_running_backup(heroku):
    app = heroku.add_app(APP)
    running = heroku.add_backup(app, finished=False)
    running["_polls"] = 2
    result = run_module(heroku_pg_backup, {"app": APP, "state": "captured"})
    assert result["changed"] is False and result["attached"] is True
    assert result["backup"]["num"] == running["num"] and result["backup"]["status"] == "succeeded"
    assert len(backups_of(app)) == 1
    assert heroku.requests("POST", f"/client/v11/databases/{app.addon['id']}/backups") == []


def test_failed_capture_reports_last_log_lines(heroku):
    app = heroku.add_app(APP)
    heroku.transfer_result = False
    result = run_module(heroku_pg_backup, {"app": APP, "state": "captured"})
    assert result["failed"]
    assert "transfer b001 failed: transfer 1 log 2 | transfer 1 log 3" in result["msg"]
    assert result["msg"].endswith("transfer 1 log 6")
    assert app.transfers[0]["succeeded"] is False


def test_restore_requires_confirm_before_any_request(heroku):
    heroku.add_app(APP)
    for confirm in (None, "sc-mvp-staging"):
        args = {"app": APP, "state": "restored", "backup": "b001"}
        if confirm:
            args["confirm"] = confirm
        result = run_module(heroku_pg_backup, args, check_mode=True)
        assert result["failed"]
    assert "set confirm to 'sc-mvp-production'" in result["msg"]
    assert heroku.log == []


def test_restore_check_apply_idempotent(heroku):
    app = heroku.add_app(APP)
    heroku.add_backup(app)
    heroku.add_backup(app)
    args = {"app": APP, "state": "restored", "backup": "b001", "confirm": APP}

    checked = run_module(heroku_pg_backup, args, check_mode=True, diff=True)
    assert checked["changed"] is True and checked["diff"]["after"] == {"restored_from": "b001"}
    assert len(app.transfers) == 2

    applied = run_module(heroku_pg_backup, args)
    assert applied["changed"] is True and applied["restore"]["status"] == "succeeded"
    posted = heroku.requests("POST", f"/client/v11/databases/{app.addon['id']}/restores")
    assert [p["body"] for p in posted] == [{"backup_url": "https://blobs.invalid/1.dump"}]
    assert "blobs.invalid" not in json.dumps(applied), "signed backup URLs stay out of results"

    for check_mode in (True, False):
        again = run_module(heroku_pg_backup, args, check_mode=check_mode)
        assert again["changed"] is False and again["restore"]["num"] == 3
    assert len(heroku.requests("POST", f"/client/v11/databases/{app.addon['id']}/restores")) == 1

    other = run_module(heroku_pg_backup, dict(args, backup="latest"), check_mode=True, diff=True)
    assert other["changed"] is True and other["backup"]["name"] == "b002"
    assert other["diff"]["before"] == {"restored_from": "b001"}


def test_restore_attaches_to_running_restore_of_same_backup_and_refuses_others(heroku):
    app = heroku.add_app(APP)
    heroku.add_backup(app)
    heroku.add_backup(app)
    heroku.pending_polls = 10 ** 6
    started = run_module(heroku_pg_backup, {"app": APP, "state": "restored", "backup": "b001",
                                            "confirm": APP, "wait": False})
    assert started["changed"] is True and started["restore"]["status"] == "pending"

    refused = run_module(heroku_pg_backup, {"app": APP, "state": "restored", "backup": "b002", "confirm": APP})
    assert refused["failed"] and "another restore (r003) is running" in refused["msg"]

    app.transfers[-1]["_polls"] = 2
    attached = run_module(heroku_pg_backup, {"app": APP, "state": "restored", "backup": "b001", "confirm": APP})
    assert attached["changed"] is False and attached["attached"] is True
    assert attached["restore"]["status"] == "succeeded"
    assert len(heroku.requests("POST", f"/client/v11/databases/{app.addon['id']}/restores")) == 1


def test_restore_of_missing_or_failed_backup_fails(heroku):
    app = heroku.add_app(APP)
    heroku.add_backup(app, succeeded=False)
    base = {"app": APP, "state": "restored", "confirm": APP}
    assert "has no backup b009" in run_module(heroku_pg_backup, dict(base, backup="b009"))["msg"]
    assert "its status is failed" in run_module(heroku_pg_backup, dict(base, backup="b001"))["msg"]
    assert "no succeeded backup" in run_module(heroku_pg_backup, dict(base, backup="latest"))["msg"]
    assert "like b003" in run_module(heroku_pg_backup, dict(base, backup="yesterday"))["msg"]


def test_schedule_and_unschedule(heroku):
    app = heroku.add_app(APP)
    args = {"app": APP, "state": "scheduled", "hour": 2, "timezone": "America/Los_Angeles"}

    checked = run_module(heroku_pg_backup, args, check_mode=True, diff=True)
    assert checked["changed"] is True and app.schedules == []
    applied = run_module(heroku_pg_backup, args)
    assert applied["changed"] is True
    assert applied["schedule"]["hour"] == 2 and applied["schedule"]["name"] == "DATABASE_URL"
    posted = heroku.requests("POST", f"/client/v11/databases/{app.addon['id']}/transfer-schedules")
    assert [p["body"] for p in posted] == [{"hour": "02", "timezone": "America/Los_Angeles",
                                           "schedule_name": "DATABASE_URL"}]
    assert run_module(heroku_pg_backup, args)["changed"] is False

    moved = run_module(heroku_pg_backup, dict(args, hour=3, timezone="UTC"), diff=True)
    assert moved["changed"] and moved["diff"]["before"]["hour"] == 2 and moved["diff"]["after"]["hour"] == 3
    assert len(app.schedules) == 1

    assert run_module(heroku_pg_backup, {"app": APP, "state": "unscheduled"}, check_mode=True)["changed"]
    assert len(app.schedules) == 1
    assert run_module(heroku_pg_backup, {"app": APP, "state": "unscheduled"})["changed"] is True
    assert app.schedules == []
    assert run_module(heroku_pg_backup, {"app": APP, "state": "unscheduled"})["changed"] is False

    bad_hour = run_module(heroku_pg_backup, dict(args, hour=24))
    assert bad_hour["failed"] and "between 0 and 23" in bad_hour["msg"]


def test_app_without_postgres_fails_clearly(heroku):
    heroku.add_app("micmap-api", postgres=False)
    result = run_module(heroku_pg_backup, {"app": "micmap-api", "state": "captured"})
    assert result["failed"]
    assert result["msg"].startswith("Heroku app 'micmap-api': resolving the database DATABASE failed")


def test_info_lists_backups_restores_schedules_and_reads_one(heroku):
    app = heroku.add_app(APP)
    heroku.add_backup(app)
    heroku.add_backup(app, finished=False)
    app.schedules.append({"uuid": "s-1", "name": "DATABASE_URL", "hour": 2, "timezone": "UTC"})

    listed = run_module(heroku_pg_backup_info, {"app": APP})
    assert listed["changed"] is False
    assert [(b["name"], b["status"]) for b in listed["backups"]] == [("b002", "running"), ("b001", "succeeded")]
    assert listed["in_flight"] == ["b002"] and listed["restores"] == []
    assert listed["schedules"][0]["hour"] == 2

    one = run_module(heroku_pg_backup_info, {"app": APP, "backup": "latest", "public_url": True})
    assert one["backup"]["name"] == "b001" and len(one["backup"]["logs"]) == 7
    assert one["url"] == "https://blobs.invalid/1.dump?signature=zzz"
    assert heroku.requests("GET", f"/client/v11/apps/{APP}/transfers/1")[0]["query"] == {"verbose": ["true"]}
    # public-url is a POST but creates nothing; every other request was a read or a lookup.
    assert [w["path"] for w in heroku.writes()] == [f"/client/v11/apps/{APP}/transfers/1/actions/public-url"]


def capture_path(app):
    return f"/client/v11/databases/{app.addon['id']}/backups"


def test_capture_whose_answer_is_lost_takes_one_backup(heroku):
    app = heroku.add_app(APP)
    heroku.add_backup(app)
    heroku.pending_polls = 0  # the backup is over before anyone looks again
    heroku.lose_answer("POST", capture_path(app), how="drop")

    result = run_module(heroku_pg_backup, {"app": APP, "state": "captured"})

    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["attached"] is False
    assert result["backup"]["name"] == "b002" and result["backup"]["status"] == "succeeded"
    assert len(heroku.requests("POST", capture_path(app))) == 1 and len(backups_of(app)) == 2


def test_capture_answered_503_after_it_started_takes_one_backup(heroku):
    app = heroku.add_app(APP)
    heroku.lose_answer("POST", capture_path(app), how="503")
    result = run_module(heroku_pg_backup, {"app": APP, "state": "captured"})
    assert result["changed"] is True and result["backup"]["name"] == "b001"
    assert len(heroku.requests("POST", capture_path(app))) == 1 and len(backups_of(app)) == 1


def test_capture_lost_before_the_server_saw_it_is_sent_again(heroku):
    app = heroku.add_app(APP)
    original = heroku.handle
    refused = {"n": 1}

    def unreachable_once(method, path, query, headers, body):
        if method == "POST" and path == capture_path(app) and refused["n"]:
            refused["n"] -= 1
            heroku.log.append({"method": method, "path": path, "query": query, "headers": headers, "body": body})
            raise heroku_fake.ApiFailure(502, "bad_gateway", "The backend was not reached.")
        return original(method, path, query, headers, body)

    heroku.handle = unreachable_once
    result = run_module(heroku_pg_backup, {"app": APP, "state": "captured"})
    assert result["changed"] is True and result["backup"]["name"] == "b001"
    assert len(heroku.requests("POST", capture_path(app))) == 2 and len(backups_of(app)) == 1


def test_restore_whose_answer_is_lost_restores_once(heroku):
    app = heroku.add_app(APP)
    heroku.add_backup(app)
    restores_path = f"/client/v11/databases/{app.addon['id']}/restores"
    heroku.lose_answer("POST", restores_path, how="drop")

    result = run_module(heroku_pg_backup, {"app": APP, "state": "restored", "backup": "b001", "confirm": APP},
                        diff=True)

    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["attached"] is False
    assert result["restore"]["status"] == "succeeded" and result["restore"]["from_name"] == "b001"
    assert result["diff"] == {"before": {"restored_from": None}, "after": {"restored_from": "b001"}}
    assert len(heroku.requests("POST", restores_path)) == 1
    assert len([t for t in app.transfers if t["to_type"] == "pg_restore"]) == 1
