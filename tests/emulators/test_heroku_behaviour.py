"""Behaviour of the Heroku emulator: state changes, async work, knobs, health, with real data."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from heroku_lab_helpers import (API, REPO, ROUTER, app_state, count_rows, execute, lab_env,  # noqa: E402
                                publish_source, wait_for)

pytestmark = pytest.mark.integration

PROD = "sc-mvp-production"
STAGING = "sc-mvp-staging"
NODE = "micmap-api"
MARKER = "\uffff heroku-command-exit-status:"


def releases(http: requests.Session, app: str) -> list[dict[str, Any]]:
    return http.get(f"{API}/apps/{app}/releases", headers={"Range": "version ..; max=1000"}).json()


def writes_since(seq: int) -> list[dict[str, Any]]:
    log = requests.get(f"{API}/__lab/requests", params={"since": seq}, timeout=5).json()["requests"]
    return [r for r in log if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]


def last_seq() -> int:
    return int(requests.get(f"{API}/__lab/requests", params={"since": 10**9}, timeout=5).json()["last_seq"])


def wait_transfer(http: requests.Session, app: str, ident: str) -> dict[str, Any]:
    return wait_for(lambda: (t := http.get(f"{API}/client/v11/apps/{app}/transfers/{ident}").json())
                    ["finished_at"] and t, timeout=30)


def run_dyno(http: requests.Session, app: str, command: str) -> tuple[str, dict[str, Any]]:
    """Run a one-off dyno to its end; returns its output (from a log session) and final state."""
    dyno = http.post(f"{API}/apps/{app}/dynos", json={"command": command, "attach": False}).json()
    final = wait_for(lambda: (d := http.get(f"{API}/apps/{app}/dynos/{dyno['name']}").json())["state"]
                     in ("complete", "crashed") and d)
    session = http.post(f"{API}/apps/{app}/log-sessions", json={"dyno": dyno["name"], "lines": 1500}).json()
    text = requests.get(session["logplex_url"], timeout=10).text
    prefix = f"app[{dyno['name']}]: "
    output = "\n".join(line.split(prefix, 1)[1] for line in text.splitlines() if prefix in line)
    return output, final


def health(app: str, path: str = "/health/deep", **kwargs: Any) -> requests.Response:
    return requests.get(f"{ROUTER}/{app}{path}", timeout=10, **kwargs)


def health_once_recovered(app: str, tries: int = 10) -> requests.Response:
    """The app's health once its database answers again: the first check after an outage opens a
    new connection, which on a loaded machine can take over the 100 ms that count as degraded."""
    response = health(app)
    left = tries - 1
    while response.status_code != 200 and left > 0:
        time.sleep(0.3)
        response = health(app)
        left -= 1
    return response


# ---------------------------------------------------------------------- auth, rate limit, faults

def test_requests_need_a_valid_bearer_token(lab: requests.Session) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = requests.get(f"{API}/apps/{PROD}", headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json()["id"] == "unauthorized"
        assert response.headers["Request-Id"]


def test_rate_limit_answers_429_when_the_bucket_is_empty(lab: requests.Session) -> None:
    requests.post(f"{API}/__lab/rate-limit", json={"capacity": 5, "refill_per_minute": 0}, timeout=5)
    remaining = [int(lab.get(f"{API}/apps/{PROD}").headers["RateLimit-Remaining"]) for _attempt in range(5)]
    assert remaining == [4, 3, 2, 1, 0]
    limited = lab.get(f"{API}/apps/{PROD}")
    assert limited.status_code == 429
    assert limited.json()["id"] == "rate_limit"
    assert limited.headers["RateLimit-Remaining"] == "0"


def test_rate_limits_endpoint_reports_the_bucket(lab: requests.Session) -> None:
    requests.post(f"{API}/__lab/rate-limit", json={"capacity": 100, "refill_per_minute": 0}, timeout=5)
    lab.get(f"{API}/apps")
    assert lab.get(f"{API}/account/rate-limits").json()["remaining"] == 98


def test_fault_burst_gives_429_with_retry_after_then_recovers(lab: requests.Session) -> None:
    requests.post(f"{API}/__lab/faults", json={"rate_limit_burst": 2}, timeout=5)
    codes = [lab.get(f"{API}/apps/{PROD}") for _attempt in range(3)]
    assert [r.status_code for r in codes] == [429, 429, 200]
    assert codes[0].headers["Retry-After"] == "1"


def test_fault_error_rate_and_latency(lab: requests.Session) -> None:
    requests.post(f"{API}/__lab/faults", json={"error_rate": 1.0, "error_status": 502, "seed": 7}, timeout=5)
    failed = lab.get(f"{API}/apps/{PROD}")
    assert failed.status_code == 502 and failed.json()["id"] and failed.json()["message"]
    requests.post(f"{API}/__lab/faults", json={"latency_ms": 400}, timeout=5)
    started = time.monotonic()
    assert lab.get(f"{API}/apps/{PROD}").status_code == 200
    assert time.monotonic() - started >= 0.4
    requests.delete(f"{API}/__lab/faults", timeout=5)
    started = time.monotonic()
    assert lab.get(f"{API}/apps/{PROD}").status_code == 200
    assert time.monotonic() - started < 0.4


def test_seeded_error_rate_is_reproducible(lab: requests.Session) -> None:
    def pattern() -> list[int]:
        requests.post(f"{API}/__lab/faults", json={"error_rate": 0.5, "seed": 42}, timeout=5)
        return [lab.get(f"{API}/account").status_code for _attempt in range(12)]

    first = pattern()
    assert first == pattern()
    assert {200, 503} == set(first)


# ---------------------------------------------------------------------- releases

def test_rollback_creates_exactly_one_release(lab: requests.Session) -> None:
    before = releases(lab, PROD)
    v8 = next(r for r in before if r["version"] == 8)
    seq = last_seq()
    created = lab.post(f"{API}/apps/{PROD}/releases", json={"release": v8["id"]})
    assert created.status_code == 201
    body = created.json()
    assert body["version"] == 10 and body["description"] == "Rollback to v8" and body["status"] == "pending"
    assert len(writes_since(seq)) == 1
    done = wait_for(lambda: (r := lab.get(f"{API}/apps/{PROD}/releases/10").json())["status"] == "succeeded" and r)
    assert done["current"] is True and done["slug"] == v8["slug"]
    after = releases(lab, PROD)
    assert len(after) == len(before) + 1
    assert [r["version"] for r in after if r["current"]] == [10]


def test_rollback_to_a_release_without_slug_is_refused(lab: requests.Session) -> None:
    v1 = lab.get(f"{API}/apps/{PROD}/releases/v1").json()
    assert v1["eligible_for_rollback"] is False
    response = lab.post(f"{API}/apps/{PROD}/releases", json={"release": v1["id"]})
    assert response.status_code == 422
    assert len(releases(lab, PROD)) == 9


def test_range_pagination_returns_206_and_next_range(lab: requests.Session) -> None:
    seen: list[int] = []
    headers = {"Range": "version ..; max=4, order=desc"}
    statuses = []
    while True:
        response = lab.get(f"{API}/apps/{PROD}/releases", headers=headers)
        statuses.append(response.status_code)
        seen += [r["version"] for r in response.json()]
        if response.status_code != 206:
            break
        headers = {"Range": response.headers["Next-Range"]}
    assert statuses == [206, 206, 200]
    assert seen == list(range(9, 0, -1))


def test_config_patch_sets_deletes_and_releases_once(lab: requests.Session) -> None:
    seq_releases = len(releases(lab, NODE))
    body = lab.patch(f"{API}/apps/{NODE}/config-vars", json={"SHEET_ID": "new_sheet", "NODE_ENV": None}).json()
    assert body["SHEET_ID"] == "new_sheet" and "NODE_ENV" not in body
    assert lab.get(f"{API}/apps/{NODE}/config-vars").json() == body
    assert len(releases(lab, NODE)) == seq_releases + 1
    lab.patch(f"{API}/apps/{NODE}/config-vars", json={"SHEET_ID": "new_sheet"})
    assert len(releases(lab, NODE)) == seq_releases + 1, "an unchanged config must not create a release"


# ---------------------------------------------------------------------- formation and dynos

def test_scale_accepts_string_quantity_and_enforces_eco_limit(lab: requests.Session) -> None:
    eco = lab.patch(f"{API}/apps/{NODE}/formation", json={"updates": [{"type": "web", "quantity": "2"}]})
    assert eco.status_code == 422 and eco.json()["id"] == "cannot_update_above_limit"
    scaled = lab.patch(f"{API}/apps/{NODE}/formation",
                       json={"updates": [{"type": "web", "quantity": "2", "size": "standard-1x"}]})
    assert scaled.status_code == 200
    assert scaled.json()[0]["quantity"] == 2 and scaled.json()[0]["size"] == "Standard-1X"
    assert app_state(NODE)["formation"]["web"] == {"quantity": 2, "size": "Standard-1X"}
    assert [d["name"] for d in lab.get(f"{API}/apps/{NODE}/dynos").json()] == ["web.1", "web.2"]


def test_restart_all_moves_dynos_through_starting(lab: requests.Session) -> None:
    booted = app_state(PROD)["dynos_booted_at"]
    assert lab.delete(f"{API}/apps/{PROD}/dynos").status_code == 202
    assert app_state(PROD)["dynos_booted_at"] > booted
    assert lab.get(f"{API}/apps/{PROD}/dynos/web.1").json()["state"] == "starting"
    wait_for(lambda: lab.get(f"{API}/apps/{PROD}/dynos/web.1").json()["state"] == "up", timeout=5)


def test_one_off_runner_reads_the_real_database(lab: requests.Session) -> None:
    output, final = run_dyno(lab, PROD, 'rails runner "puts \'Workers: \' + Worker.count.to_s\n'
                                        'puts \'Assignments: \' + Assignment.count.to_s"')
    assert final["state"] == "complete"
    assert output.splitlines() == ["Workers: 250", "Assignments: 400"]
    execute(PROD, "DELETE FROM assignments WHERE id > 100")
    output, _final = run_dyno(lab, PROD, 'rails runner "puts Assignment.count"')
    assert output == "100"


def test_exit_code_marker_and_crashed_state(lab: requests.Session) -> None:
    output, final = run_dyno(lab, PROD, f'false ; echo "{MARKER} $?"')
    assert output == f"{MARKER} 1"
    output, final = run_dyno(lab, PROD, f'sh -c "exit 3" ; echo "{MARKER} $?"')
    assert output == f"{MARKER} 3" and final["state"] == "complete"
    _output, final = run_dyno(lab, PROD, "exit 4")
    assert final["state"] == "crashed"
    assert app_state(PROD)["oneoffs"][final["name"]]["exit_status"] == 4


def test_unknown_command_fails_like_bash(lab: requests.Session) -> None:
    output, final = run_dyno(lab, NODE, "rails db:migrate")
    assert "command not found" in output and final["state"] == "crashed"


def test_npm_run_seed_on_the_node_app(lab: requests.Session) -> None:
    output, final = run_dyno(lab, NODE, "npm run seed")
    assert final["state"] == "complete" and "Seeded 412 open mics" in output


# ---------------------------------------------------------------------- builds, migrations, health

def test_build_release_migrate_and_crash_rollback(lab: requests.Session, blob_server: Any) -> None:
    url = publish_source(blob_server, "v10.tgz", {"build": "ok", "runtime": "ok", "schema_version": 20251201000000})
    build = lab.post(f"{API}/apps/{PROD}/builds", json={"source_blob": {"url": url, "version": "abc1234"}}).json()
    assert build["status"] == "pending"
    done = wait_for(lambda: (b := lab.get(f"{API}/apps/{PROD}/builds/{build['id']}").json())["status"] != "pending"
                    and b)
    assert done["status"] == "succeeded" and done["release"]["id"]
    wait_for(lambda: lab.get(f"{API}/apps/{PROD}/releases/10").json()["current"])
    before, _before_final = run_dyno(lab, PROD, 'rails runner "puts ActiveRecord::Base.connection.migration_context.current_version"')
    _migrate_output, migrated = run_dyno(lab, PROD, "rails db:migrate")
    after, _after_final = run_dyno(lab, PROD, 'rails runner "puts ActiveRecord::Base.connection.migration_context.current_version"')
    assert migrated["state"] == "complete"
    assert int(before) < 20251201000000 == int(after)

    crash = publish_source(blob_server, "v11.tgz", {"runtime": "crash"})
    build = lab.post(f"{API}/apps/{PROD}/builds", json={"source_blob": {"url": crash}}).json()
    wait_for(lambda: lab.get(f"{API}/apps/{PROD}/releases/11").status_code == 200
             and lab.get(f"{API}/apps/{PROD}/releases/11").json()["current"])
    assert health(PROD).status_code == 503
    assert health(PROD, "/healthz").status_code == 503
    assert lab.get(f"{API}/apps/{PROD}/dynos/web.1").json()["state"] == "crashed"
    v10 = lab.get(f"{API}/apps/{PROD}/releases/10").json()
    lab.post(f"{API}/apps/{PROD}/releases", json={"release": v10["id"]})
    wait_for(lambda: health(PROD).status_code == 200)


def test_failed_build_makes_no_release(lab: requests.Session, blob_server: Any) -> None:
    url = publish_source(blob_server, "broken.tgz", {"build": "fail"})
    build = lab.post(f"{API}/apps/{NODE}/builds", json={"source_blob": {"url": url}}).json()
    done = wait_for(lambda: (b := lab.get(f"{API}/apps/{NODE}/builds/{build['id']}").json())["status"] != "pending"
                    and b)
    assert done["status"] == "failed" and done["release"] is None
    assert "failed to compile" in requests.get(done["output_stream_url"], timeout=5).text
    assert len(releases(lab, NODE)) == 5


def test_build_source_must_be_loopback(lab: requests.Session) -> None:
    response = lab.post(f"{API}/apps/{NODE}/builds", json={"source_blob": {"url": "https://example.com/a.tgz"}})
    assert response.status_code == 422


def test_health_follows_database_latency_redis_and_reachability(lab: requests.Session) -> None:
    assert health(PROD).status_code == 200 and health(PROD).json()["status"] == "healthy"
    requests.post(f"{API}/__lab/apps/{PROD}/db-latency", json={"ms": 200}, timeout=5)
    degraded = health(PROD)
    assert degraded.status_code == 207 and degraded.json()["status"] == "degraded"
    assert health(PROD, "/healthz").status_code == 200
    requests.post(f"{API}/__lab/apps/{PROD}/db-latency", json={"ms": 600}, timeout=5)
    assert health(PROD).status_code == 503
    requests.post(f"{API}/__lab/apps/{PROD}/knobs", json={"db_latency_ms": 0, "db_down": True}, timeout=5)
    down = health(PROD)
    assert down.status_code == 503 and down.json()["checks"]["database"]["status"] == "down"
    with pytest.raises(psycopg2.OperationalError):
        count_rows(PROD, "workers")
    requests.post(f"{API}/__lab/apps/{PROD}/knobs", json={"db_down": False}, timeout=5)
    assert health_once_recovered(PROD).status_code == 200

    assert health(NODE).status_code == 200
    requests.post(f"{API}/__lab/apps/{NODE}/knobs", json={"redis_down": True}, timeout=5)
    assert health(NODE).status_code == 207 and health(NODE).json()["checks"]["redis"]["status"] == "down"


def test_maintenance_makes_every_route_503(lab: requests.Session) -> None:
    assert lab.patch(f"{API}/apps/{NODE}", json={"maintenance": True}).json()["maintenance"] is True
    for path in ("/health", "/health/deep", "/healthz", "/api/v1/mics"):
        response = health(NODE, path)
        assert response.status_code == 503
        assert "Application Unavailable - Scheduled Maintenance" in response.text
    as_json = health(NODE, "/health", headers={"Accept": "application/json"})
    assert as_json.json()["message"] == "Application Unavailable - Scheduled Maintenance"
    lab.patch(f"{API}/apps/{NODE}", json={"maintenance": False})
    assert health(NODE).status_code == 200


# ---------------------------------------------------------------------- backups

def test_capture_then_restore_brings_rows_back(lab: requests.Session) -> None:
    addon = lab.get(f"{API}/apps/{PROD}/addons/DATABASE").json()
    capture = lab.post(f"{API}/client/v11/databases/{addon['id']}/backups")
    assert capture.status_code == 201
    backup = wait_transfer(lab, PROD, capture.json()["uuid"])
    assert backup["succeeded"] and backup["processed_bytes"] > 0 and backup["num"] == 2
    execute(PROD, "DROP TABLE assignments")
    with pytest.raises(psycopg2.errors.UndefinedTable):
        count_rows(PROD, "assignments")
    restore = lab.post(f"{API}/client/v11/databases/{addon['id']}/restores", json={"backup_url": backup["to_url"]})
    assert restore.status_code == 201
    done = wait_transfer(lab, app_state(PROD)["id"], restore.json()["uuid"])
    assert done["succeeded"] and done["from_type"] != "pg_dump" and done["to_type"] == "pg_restore"
    assert count_rows(PROD, "assignments") == 400
    assert count_rows(PROD, "workers") == 250


def test_restore_staging_from_a_production_public_url(lab: requests.Session) -> None:
    url = lab.post(f"{API}/client/v11/apps/{PROD}/transfers/1/actions/public-url").json()["url"]
    assert requests.get(url, timeout=10).content[:5] == b"PGDMP"
    assert requests.get(url.replace("signature=", "signature=x"), timeout=10).status_code == 403
    addon = lab.get(f"{API}/apps/{STAGING}/addons/DATABASE").json()
    restore = lab.post(f"{API}/client/v11/databases/{addon['id']}/restores", json={"backup_url": url}).json()
    assert wait_transfer(lab, STAGING, restore["uuid"])["succeeded"]
    assert count_rows(STAGING, "workers") == 250


def test_in_flight_transfer_can_be_polled_and_cancelled(lab: requests.Session) -> None:
    requests.post(f"{API}/__lab/apps/{PROD}/knobs", json={"transfer_delay_ms": 3000}, timeout=5)
    addon = lab.get(f"{API}/apps/{PROD}/addons/DATABASE").json()
    transfer = lab.post(f"{API}/client/v11/databases/{addon['id']}/backups").json()
    polled = lab.get(f"{API}/client/v11/apps/{PROD}/transfers/{transfer['num']}").json()
    assert polled["started_at"] is None and polled["finished_at"] is None
    lab.post(f"{API}/client/v11/apps/{PROD}/transfers/{transfer['uuid']}/actions/cancel")
    cancelled = lab.get(f"{API}/client/v11/apps/{PROD}/transfers/{transfer['uuid']}?verbose=true").json()
    assert cancelled["finished_at"] and cancelled["succeeded"] is False and cancelled["canceled_at"]
    assert any("canceled" in log["message"] for log in cancelled["logs"])


def test_delete_and_schedules(lab: requests.Session) -> None:
    addon = lab.get(f"{API}/apps/{PROD}/addons/DATABASE").json()
    schedules = lab.get(f"{API}/client/v11/databases/{addon['id']}/transfer-schedules").json()
    assert [(s["name"], s["hour"], s["timezone"]) for s in schedules] == [("DATABASE_URL", 2, "America/Los_Angeles")]
    lab.post(f"{API}/client/v11/databases/{addon['id']}/transfer-schedules",
             json={"hour": "03", "timezone": "UTC", "schedule_name": "DATABASE_URL"})
    schedules = lab.get(f"{API}/client/v11/databases/{addon['id']}/transfer-schedules").json()
    assert [(s["hour"], s["timezone"]) for s in schedules] == [(3, "UTC")]
    assert lab.delete(f"{API}/client/v11/apps/{PROD}/transfers/1").status_code == 200
    assert lab.get(f"{API}/client/v11/apps/{PROD}/transfers").json() == []


# ---------------------------------------------------------------------- admin

def test_admin_creates_and_deletes_an_app_with_a_real_database(lab: requests.Session) -> None:
    created = requests.post(f"{API}/__lab/apps", json={"name": "lab-scratch", "postgres": True, "releases": 4,
                                                       "rows": [7, 3, 5]}, timeout=30)
    assert created.status_code == 201
    assert count_rows("lab-scratch", "workers") == 7
    assert len(releases(lab, "lab-scratch")) == 4
    assert health("lab-scratch").status_code == 200
    assert requests.delete(f"{API}/__lab/apps/lab-scratch", timeout=30).status_code == 200
    assert lab.get(f"{API}/apps/lab-scratch").status_code == 404


def test_lab_up_is_idempotent_and_fast(emulator: str) -> None:
    started = time.monotonic()
    again = subprocess.run([str(REPO / "lab" / "emulators" / "lab-up.sh")], capture_output=True, text=True,
                           check=False, timeout=120, env=lab_env())
    assert again.returncode == 0, again.stderr
    assert time.monotonic() - started < 10
    cli_env = dict(line.split("=", 1) for line in (Path(lab_env()["HEROKU_EMU_CLI_ENV"]).read_text().splitlines())
                   if "=" in line and not line.startswith("#"))
    assert cli_env["HEROKU_HOST"] == API and cli_env["HEROKU_DATA_HOST"] == "127.0.0.1"
    assert cli_env["DISABLE_TELEMETRY"] == "true" and cli_env["HEROKU_API_KEY"]
