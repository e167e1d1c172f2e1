# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.modules import heroku_dyno
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests


def test_run_wraps_command_reads_log_stream_and_returns_output(heroku):
    app = heroku.add_app("sc-mvp-production")
    heroku.command_results["rails db:migrate"] = (["== CreateShifts: migrating", "== CreateShifts: migrated"], 0)

    result = run_module(heroku_dyno, {"app": "sc-mvp-production", "state": "run", "command": "rails db:migrate",
                                      "env": {"VERBOSE": "1"}, "size": "standard-1X"})

    assert result["changed"] is True and result["rc"] == 0
    assert result["stdout_lines"] == ["== CreateShifts: migrating", "== CreateShifts: migrated"]
    body = heroku.requests("POST", "/apps/sc-mvp-production/dynos")[0]["body"]
    assert body == {"command": 'rails db:migrate; echo "\uFFFF heroku-command-exit-status: $?"',
                    "attach": False, "type": "run", "size": "standard-1X", "env": {"VERBOSE": "1"}}
    session = heroku.requests("POST", "/apps/sc-mvp-production/log-sessions")[0]["body"]
    assert session == {"dyno_name": result["dyno"]["name"], "tail": True}
    stream = heroku.requests("GET", "/__logs")[0]
    assert "authorization" not in stream["headers"], "the signed log URL must not get the API token"
    assert list(app.oneoffs) == [result["dyno"]["name"]]


def test_non_zero_exit_status_fails_with_output(heroku):
    heroku.add_app("sc-mvp-production")
    heroku.command_results["rails db:migrate"] = (["PG::UndefinedTable: ERROR"], 1)
    result = run_module(heroku_dyno, {"app": "sc-mvp-production", "state": "run", "command": "rails db:migrate"})
    assert result["failed"] is True and result["rc"] == 1
    assert "'rails db:migrate' exited with status 1 in run." in result["msg"]
    assert result["stdout_lines"] == ["PG::UndefinedTable: ERROR"]


def test_output_without_trailing_newline_keeps_text_before_the_marker(heroku):
    heroku.add_app("a")
    heroku.command_results["printf done"] = (["done\uFFFF heroku-command-exit-status: 0"], 0)
    result = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "printf done"})
    assert result["rc"] == 0 and result["stdout_lines"] == ["done"]


def unwrap_marker(heroku, app):
    """As if the command ended the shell itself (``exit 3``): the wrapper's marker never prints."""
    original = heroku.handle

    def handle(method, path, query, headers, body):
        answer = original(method, path, query, headers, body)
        if method == "POST" and path.endswith("/dynos"):
            for dyno in app.oneoffs.values():
                dyno["wrapped"] = False
        return answer

    heroku.handle = handle


def test_exit_status_from_the_platform_line_when_the_marker_is_missing(heroku):
    app = heroku.add_app("a")
    heroku.command_results["echo bye; exit 3"] = (["bye"], 3)
    unwrap_marker(heroku, app)
    result = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "echo bye; exit 3"})
    assert result["failed"] and result["changed"] is True
    assert result["rc"] == 3 and result["stdout_lines"] == ["bye"]


def test_missing_exit_status_fails(heroku):
    app = heroku.add_app("a")
    heroku.report_process_exit = False
    unwrap_marker(heroku, app)
    result = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "true"})
    assert result["failed"] and "ended without the command's exit status" in result["msg"]
    assert result["rc"] is None


def test_silent_command_outlasting_wait_timeout_is_a_timeout(heroku):
    app = heroku.add_app("a")
    heroku.command_results["sleep 999"] = (["started"], 0)
    heroku.report_process_exit = False
    heroku.stall_logs = 3.0
    unwrap_marker(heroku, app)
    result = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "sleep 999", "wait_timeout": 1})
    assert result["failed"] and result["changed"] is True
    assert "timed out after 1s waiting for run." in result["msg"]
    assert result["stdout_lines"] == ["started"] and result["rc"] is None


def test_run_check_mode_and_detached(heroku):
    app = heroku.add_app("a")
    checked = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "true"}, check_mode=True)
    assert checked["changed"] is True and app.oneoffs == {} and heroku.writes() == []
    detached = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "true", "wait": False})
    assert detached["changed"] is True and "rc" not in detached
    assert heroku.requests("POST", "/apps/a/log-sessions") == []


def test_restart_all_type_and_one_dyno(heroku):
    app = heroku.add_app("micmap-api")
    assert run_module(heroku_dyno, {"app": "micmap-api", "state": "restarted"}, check_mode=True)["changed"]
    assert app.restarts == []
    everything = run_module(heroku_dyno, {"app": "micmap-api", "state": "restarted"})
    web = run_module(heroku_dyno, {"app": "micmap-api", "state": "restarted", "type": "web"})
    one = run_module(heroku_dyno, {"app": "micmap-api", "state": "restarted", "dyno": "web.1"})
    assert app.restarts == ["all", "type:web", "dyno:web.1"]
    assert everything["changed"] and web["restarted"] == "web dynos" and one["restarted"] == "web.1"
    assert [d["name"] for d in one["dynos"]] == ["web.1"]


def test_restart_unknown_type_and_bad_combinations_fail(heroku):
    app = heroku.add_app("micmap-api")
    unknown = run_module(heroku_dyno, {"app": "micmap-api", "state": "restarted", "type": "clock"})
    assert unknown["failed"] and "no process type 'clock'" in unknown["msg"]
    both = run_module(heroku_dyno, {"app": "micmap-api", "state": "restarted", "type": "web", "dyno": "web.1"})
    assert both["failed"] and "mutually exclusive" in both["msg"]
    no_command = run_module(heroku_dyno, {"app": "micmap-api", "state": "run"})
    assert no_command["failed"] and "command" in no_command["msg"]
    assert app.restarts == [] and heroku.writes() == []


def throttle_log_sessions(heroku, times):
    """The next ``times`` log-session requests answer 429 (Retry-After: 0), as in a burst."""
    original = heroku.handle
    left = {"n": times}

    def handle(method, path, query, headers, body):
        if method == "POST" and path.endswith("/log-sessions") and left["n"] > 0:
            left["n"] -= 1
            with heroku.lock:
                heroku.log.append({"method": method, "path": path, "query": query, "headers": headers, "body": body})
            return 429, {"Retry-After": "0"}, {"id": "rate_limit", "message": "Your account reached the API rate limit."}
        return original(method, path, query, headers, body)

    heroku.handle = handle


def test_rate_limits_after_the_dyno_started_are_outlasted_with_one_dyno(heroku):
    app = heroku.add_app("a")
    # More 429s than the client's own retries take: the module must keep the dyno it started.
    throttle_log_sessions(heroku, 7)
    result = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "rails db:migrate"})
    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["rc"] == 0 and result["attached"] is False
    assert len(heroku.requests("POST", "/apps/a/dynos")) == 1 and len(app.oneoffs) == 1
    assert len(heroku.requests("POST", "/apps/a/log-sessions")) == 8


def test_failure_after_the_dyno_started_returns_the_dyno(heroku):
    app = heroku.add_app("a")
    throttle_log_sessions(heroku, 1000)
    result = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "rails db:migrate", "wait_timeout": 1})
    assert result["failed"] is True and result["changed"] is True
    assert result["dyno"]["name"] in app.oneoffs and result["api_error"]["status"] == 429
    # The deploy role's retry condition: no second run once a dyno exists.
    assert len(heroku.requests("POST", "/apps/a/dynos")) == 1


def test_re_run_attaches_to_the_dyno_still_running_the_command(heroku):
    app = heroku.add_app("a")
    heroku.command_results["rails db:migrate"] = (["== migrated"], 0)
    first = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "rails db:migrate", "wait": False})
    app.oneoffs[first["dyno"]["name"]]["state"] = "up"

    checked = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "rails db:migrate"}, check_mode=True)
    again = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "rails db:migrate"})
    other = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "rails db:seed"})

    assert checked["changed"] is False and checked["attached"] is True
    assert again["changed"] is False and again["attached"] is True
    assert again["dyno"]["name"] == first["dyno"]["name"] and again["rc"] == 0 and again["stdout_lines"] == ["== migrated"]
    # Another command is another job: it gets its own dyno.
    assert other["changed"] is True and other["attached"] is False
    assert len(heroku.requests("POST", "/apps/a/dynos")) == 2


def test_run_whose_answer_is_lost_attaches_to_the_dyno_it_started(heroku):
    app = heroku.add_app("a")
    heroku.oneoff_state = "up"  # the command is still running when the module looks again
    heroku.command_results["rails db:migrate"] = (["== migrated"], 0)
    heroku.lose_answer("POST", "/apps/a/dynos", how="drop")

    result = run_module(heroku_dyno, {"app": "a", "state": "run", "command": "rails db:migrate"})

    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["attached"] is False
    assert result["rc"] == 0 and result["stdout_lines"] == ["== migrated"]
    assert len(heroku.requests("POST", "/apps/a/dynos")) == 1 and len(app.oneoffs) == 1
