"""What the Vercel emulator does over time and across calls, checked against its real state."""

from __future__ import annotations

import psycopg2
import pytest
import requests

from vercel_lab_helpers import API, FIXZIT, MYSETLIST, TEAM_ID, domain, project_state, wait_for

pytestmark = pytest.mark.integration

T = f"teamId={TEAM_ID}"


def knobs(**values: object) -> None:
    assert requests.post(f"{API}/__lab/knobs", json=values, timeout=5).status_code == 200


def deploy(http: requests.Session, project: str, **extra: object) -> dict:
    body = {"name": project, "target": "production", "gitSource": {"type": "github", "ref": "main", "repoId": 1},
            **extra}
    response = http.post(f"{API}/v13/deployments?forceNew=1&{T}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def state_of(http: requests.Session, ident: str) -> str:
    return http.get(f"{API}/v13/deployments/{ident}?{T}").json()["readyState"]


def wait_final(http: requests.Session, ident: str) -> str:
    return wait_for(lambda: (s := state_of(http, ident)) in ("READY", "ERROR", "CANCELED") and s)


def test_ready_state_progresses_over_time(vercel: requests.Session) -> None:
    knobs(queue_ms=400, build_ms=800)
    made = deploy(vercel, FIXZIT)
    assert made["readyState"] == "QUEUED"
    seen = {made["readyState"]}
    wait_for(lambda: seen.add(state_of(vercel, made["id"])) or "READY" in seen, interval=0.05)
    assert seen >= {"QUEUED", "BUILDING", "READY"}
    assert project_state(FIXZIT)["aliases"]["fixzit.com"] == made["id"]


def test_failed_build_is_error_and_keeps_production(vercel: requests.Session) -> None:
    live = project_state(FIXZIT)["productionDeploymentId"]
    knobs(next_builds=["fail"], build_ms=200)
    made = deploy(vercel, FIXZIT)
    assert wait_final(vercel, made["id"]) == "ERROR"
    body = vercel.get(f"{API}/v13/deployments/{made['id']}?{T}").json()
    assert body["errorCode"] == "BUILD_FAILED"
    events = vercel.get(f"{API}/v3/deployments/{made['id']}/events?{T}").json()
    assert any("exited with 1" in e["payload"]["text"] for e in events)
    assert project_state(FIXZIT)["productionDeploymentId"] == live
    assert domain("fixzit.com", "/api/health").status_code == 200


def test_unhealthy_build_serves_failing_health(vercel: requests.Session) -> None:
    knobs(next_builds=["unhealthy"], build_ms=200)
    made = deploy(vercel, FIXZIT)
    assert wait_final(vercel, made["id"]) == "READY"
    assert domain("fixzit.com", "/api/health").status_code == 500


def test_env_change_takes_effect_only_in_a_new_deployment(vercel: requests.Session) -> None:
    knobs(build_ms=200)
    flags = domain("fixzit.com", "/api/admin/features").json()["features"]
    assert flags["new_dashboard"]["enabled"] is True
    env = next(e for e in project_state(FIXZIT)["envs"] if e["key"] == "FEATURE_NEW_DASHBOARD")
    assert vercel.patch(f"{API}/v9/projects/{FIXZIT}/env/{env['id']}?{T}", json={"value": "disabled"}).ok
    assert domain("fixzit.com", "/api/features").json()["features"]["new_dashboard"]["enabled"] is True
    live = project_state(FIXZIT)["productionDeploymentId"]
    made = vercel.post(f"{API}/v13/deployments?{T}", json={"name": FIXZIT, "deploymentId": live,
                                                           "target": "production"}).json()
    assert wait_final(vercel, made["id"]) == "READY"
    assert domain("fixzit.com", "/api/features").json()["features"]["new_dashboard"]["enabled"] is False
    assert project_state(FIXZIT)["builds_today"] == 1


def test_maintenance_page_from_the_build_env(vercel: requests.Session) -> None:
    knobs(build_ms=200)
    for key, value in (("MAINTENANCE_MODE", "true"), ("MAINTENANCE_MESSAGE", "Back at 10:00 GMT")):
        assert vercel.post(f"{API}/v10/projects/{FIXZIT}/env?upsert=true&{T}",
                           json={"key": key, "value": value, "type": "plain", "target": ["production"]}).ok
    assert domain("fixzit.com", "/api/health").status_code == 200
    live = project_state(FIXZIT)["productionDeploymentId"]
    made = vercel.post(f"{API}/v13/deployments?{T}", json={"name": FIXZIT, "deploymentId": live}).json()
    assert wait_final(vercel, made["id"]) == "READY"
    page = domain("fixzit.com", "/api/health")
    assert page.status_code == 503 and page.json()["message"] == "Back at 10:00 GMT"
    assert "Back at 10:00 GMT" in domain("www.fixzit.com", "/").text


def test_promote_and_rollback_cost_no_build_and_keep_old_env(vercel: requests.Session) -> None:
    knobs(build_ms=200, alias_job_ms=300)
    state = project_state(FIXZIT)
    old = state["deployments"][-1]["id"]
    env = next(e for e in state["envs"] if e["key"] == "FEATURE_BULK_EXPORT")
    vercel.delete(f"{API}/v9/projects/{FIXZIT}/env/{env['id']}?{T}")
    made = vercel.post(f"{API}/v13/deployments?{T}", json={"name": FIXZIT, "deploymentId": state["productionDeploymentId"]}).json()
    wait_final(vercel, made["id"])
    assert "bulk_export" not in domain("fixzit.com", "/api/features").json()["features"]
    assert vercel.post(f"{API}/v9/projects/{FIXZIT}/rollback/{old}?{T}", json={}).status_code == 201
    assert project_state(FIXZIT)["lastAliasRequest"]["jobStatus"] == "pending"
    done = wait_for(lambda: (s := project_state(FIXZIT))["lastAliasRequest"]["jobStatus"] == "succeeded" and s)
    assert done["aliases"]["fixzit.com"] == old and done["builds_today"] == 1
    assert domain("fixzit.com", "/api/features").json()["features"]["bulk_export"]["enabled"] is True
    assert vercel.post(f"{API}/v10/projects/{FIXZIT}/promote/{made['id']}?{T}").status_code == 201
    done = wait_for(lambda: (s := project_state(FIXZIT))["lastAliasRequest"]["jobStatus"] == "succeeded" and s)
    assert done["aliases"]["fixzit.com"] == made["id"] and done["builds_today"] == 1


def test_daily_build_quota(vercel: requests.Session) -> None:
    knobs(daily_build_quota=3, build_ms=0, queue_ms=0)
    for _round in range(3):
        deploy(vercel, MYSETLIST)
    refused = vercel.post(f"{API}/v13/deployments?forceNew=1&{T}", json={"name": MYSETLIST,
                                                                         "gitSource": {"ref": "main"}})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "api-deployments-free-per-day"
    assert project_state(MYSETLIST)["builds_today"] == 3
    assert deploy(vercel, FIXZIT)["readyState"] in ("QUEUED", "BUILDING", "READY")  # per project


def test_hobby_quota_is_one_hundred(vercel: requests.Session) -> None:
    knobs(build_ms=0, queue_ms=0)
    for _round in range(100):
        deploy(vercel, MYSETLIST)
    refused = vercel.post(f"{API}/v13/deployments?forceNew=1&{T}", json={"name": MYSETLIST,
                                                                         "gitSource": {"ref": "main"}})
    assert refused.status_code == 429 and "more than 100" in refused.json()["error"]["message"]


def test_rate_limit_headers_and_429(vercel: requests.Session) -> None:
    first = vercel.get(f"{API}/v2/user")
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(first.headers)
    requests.post(f"{API}/__lab/rate-limit", json={"limits": {"GET /v2/user": 2}}, timeout=5)
    answers = [vercel.get(f"{API}/v2/user") for _round in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1].headers["X-RateLimit-Remaining"] == "0"
    assert answers[2].json()["error"]["limit"]["total"] == 2 and "Retry-After" in answers[2].headers
    assert vercel.get(f"{API}/v10/projects?{T}").status_code == 200  # per endpoint


def test_fault_knobs_and_request_log(vercel: requests.Session) -> None:
    seq = requests.get(f"{API}/__lab/health", timeout=5).json()["last_request_seq"]
    requests.post(f"{API}/__lab/faults", json={"rate_limit_burst": 2}, timeout=5)
    assert [vercel.get(f"{API}/v2/user").status_code for _round in range(3)] == [429, 429, 200]
    requests.post(f"{API}/__lab/faults", json={"error_rate": 1.0, "error_status": 503}, timeout=5)
    assert vercel.get(f"{API}/v2/user").status_code == 503
    log = requests.get(f"{API}/__lab/requests?since={seq}", timeout=5).json()
    assert [r["status"] for r in log] == [429, 429, 200, 503]


def test_pagination_with_until(vercel: requests.Session) -> None:
    knobs(build_ms=0, queue_ms=0)
    for _round in range(4):
        deploy(vercel, MYSETLIST)
    project = project_state(MYSETLIST)["id"]
    seen, until = [], None
    while True:
        page = vercel.get(f"{API}/v6/deployments?projectId={project}&limit=3&{T}"
                          + (f"&until={until}" if until else "")).json()
        seen += [d["uid"] for d in page["deployments"]]
        until = page["pagination"]["next"]
        if until is None:
            break
    assert len(seen) == len(set(seen)) == 8
    newest = vercel.get(f"{API}/v6/deployments?projectId={project}&since={page['deployments'][-1]['created']}&{T}")
    assert len(newest.json()["deployments"]) == 7


def test_sensitive_values_never_returned(vercel: requests.Session) -> None:
    for query in ("", "&decrypt=true"):
        envs = vercel.get(f"{API}/v10/projects/{MYSETLIST}/env?{T}{query}").json()["envs"]
        secret = next(e for e in envs if e["key"] == "SUPABASE_SERVICE_ROLE_KEY")
        assert secret["value"] == ""
        one = vercel.get(f"{API}/v1/projects/{MYSETLIST}/env/{secret['id']}?{T}").json()
        assert one["value"] == ""
    encrypted = next(e for e in envs if e["key"] == "DATABASE_URL")
    assert encrypted["value"].startswith("postgres://")
    plain = vercel.get(f"{API}/v10/projects/{MYSETLIST}/env?{T}").json()["envs"]
    assert not next(e for e in plain if e["key"] == "DATABASE_URL")["value"].startswith("postgres://")


def test_health_endpoints_and_real_database(vercel: requests.Session) -> None:
    assert domain("fixzit.com", "/api/health/ready").json() == {"ready": True}
    assert domain("fixzit.com", "/api/health/redis").json() == {"redis": "connected"}
    db = domain("fixzit.com", "/api/health/db")
    assert db.status_code == 503 and db.json() == {"mongodb": "disconnected", "error": "ServerSelectionTimeoutError"}
    uri = vercel.get(f"{API}/v10/projects/{FIXZIT}/env?decrypt=true&{T}").json()["envs"]
    assert next(e for e in uri if e["key"] == "MONGODB_URI")["value"] == "mongodb://127.0.0.1:18213/fixzit"
    assert domain("fixzit.com", "/api/health").json() == {"status": "ok"}
    health = domain("mysetlist-sonnet.vercel.app", "/api/health/db")
    assert health.status_code == 200 and health.json()["tables"] == {"shows": 40, "setlists": 400, "songs": 120}
    assert domain("mysetlist-sonnet.vercel.app", "/api/health/comprehensive").json()["status"] == "healthy"
    url = vercel.get(f"{API}/v10/projects/{MYSETLIST}/env?decrypt=true&{T}").json()["envs"][0]["value"]
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE setlists")
    connection.close()
    broken = domain("mysetlist-sonnet.vercel.app", "/api/health/db")
    assert broken.status_code == 503 and "setlists" in broken.json()["error"]
    assert domain("mysetlist-sonnet.vercel.app", "/api/health/comprehensive").json()["status"] == "unhealthy"
    assert domain("mysetlist-sonnet.vercel.app", "/api/health").status_code == 200


def test_host_header_routing_and_state_survives_restart(vercel: requests.Session) -> None:
    import subprocess
    import sys
    from vercel_lab_helpers import REPO, lab_env
    answer = requests.get(f"{API.replace('18210', '18211')}/api/health/ready", headers={"Host": "fixzit.com"},
                          timeout=5)
    assert answer.json() == {"ready": True}
    env = next(e for e in project_state(FIXZIT)["envs"] if e["key"] == "NEXTAUTH_URL")
    vercel.patch(f"{API}/v9/projects/{FIXZIT}/env/{env['id']}?{T}", json={"value": "https://kept.example"})
    python = sys.executable
    run = dict(cwd=REPO, capture_output=True, text=True, timeout=120)
    lab_env_pp = {**lab_env(), "PYTHONPATH": str(REPO / "lab" / "emulators")}
    assert subprocess.run([python, "-m", "vercel", "down", "--keep-services"], check=False, env=lab_env_pp,
                          **run).returncode == 0
    assert subprocess.run([python, "-m", "vercel", "up", "--cli-env", str(REPO / ".lab" / "tests-vercel" / "cli.env")],
                          check=False, env=lab_env_pp, **run).returncode == 0
    kept = next(e for e in project_state(FIXZIT)["envs"] if e["key"] == "NEXTAUTH_URL")
    assert kept["value"] == "https://kept.example"
    cli_env = REPO / ".lab" / "tests-vercel" / "cli.env"
    assert cli_env.stat().st_mode & 0o777 == 0o600
    assert cli_env.read_text().count("VERCEL_TOKEN=") == 1
