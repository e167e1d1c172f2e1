"""Every Management API route the Supabase emulator serves answers as openapi.json promises, and
its backups and restores really capture and bring back the project's rows.

Each case calls a route and validates the status (declared for that path and method) and the body
(that status's schema, ``$ref``s resolved inside the spec, ``nullable`` honoured).
"""

from __future__ import annotations

import time
from typing import Any

import psycopg2
import pytest
import requests

from supabase_lab_helpers import API, REF, capture, cli_env, project_state, validate_supabase

pytestmark = pytest.mark.integration

BACKUPS = "/v1/projects/{ref}/database/backups"
PITR = "/v1/projects/{ref}/database/backups/restore-pitr"
RESTORE = "/v1/projects/{ref}/database/backups/restore"


def _rows(table: str = "setlists") -> int:
    with psycopg2.connect(cli_env()["SUPABASE_DB_URL"]) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return int(cursor.fetchone()[0])


def _lose_rows() -> None:
    connection = psycopg2.connect(cli_env()["SUPABASE_DB_URL"])
    with connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM setlists WHERE votes > 10")
    connection.close()


def _statuses_until_healthy(http: requests.Session) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = http.get(f"{API}/v1/projects/{REF}", timeout=10)
        validate_supabase(response, "/v1/projects/{ref}", "GET")
        seen.append(response.json()["status"])
        if seen[-1] != "RESTORING":
            return seen
        time.sleep(0.2)
    raise AssertionError(f"still restoring after 30 s: {seen[-3:]}")


def test_reads_match_the_spec_and_need_the_token(supabase_lab: requests.Session) -> None:
    wrong_token = {"Authorization": "Bearer sbp_" + "0" * 40}
    cases: list[tuple[str, str, requests.Response]] = [
        ("/v1/projects", "GET", supabase_lab.get(f"{API}/v1/projects", timeout=10)),
        ("/v1/projects/{ref}", "GET", supabase_lab.get(f"{API}/v1/projects/{REF}", timeout=10)),
        (BACKUPS, "GET", supabase_lab.get(f"{API}/v1/projects/{REF}/database/backups", timeout=10)),
        ("/v1/projects", "GET", requests.get(f"{API}/v1/projects", timeout=10)),
        ("/v1/projects/{ref}", "GET", requests.get(f"{API}/v1/projects/{REF}", timeout=10, headers=wrong_token)),
    ]
    for path, method, response in cases:
        validate_supabase(response, path, method)
    assert [c[2].status_code for c in cases] == [200, 200, 200, 401, 401]
    project, backups = cases[1][2].json(), cases[2][2].json()
    assert project["ref"] == REF and project["name"] == "mysetlist-sonnet" and project["status"] == "ACTIVE_HEALTHY"
    assert backups["pitr_enabled"] is True and [b["status"] for b in backups["backups"]] == ["COMPLETED"]


def test_a_physical_backup_restore_brings_the_rows_back(supabase_lab: requests.Session) -> None:
    before = _rows()
    backup_id = supabase_lab.get(f"{API}/v1/projects/{REF}/database/backups", timeout=10).json()["backups"][0]["id"]
    _lose_rows()
    assert _rows() < before
    response = supabase_lab.post(f"{API}/v1/projects/{REF}/database/backups/restore", json={"id": backup_id},
                                 timeout=10)
    validate_supabase(response, RESTORE, "POST")
    assert response.status_code == 201
    statuses = _statuses_until_healthy(supabase_lab)
    assert statuses[0] == "RESTORING" and statuses[-1] == "ACTIVE_HEALTHY"
    assert _rows() == before
    assert project_state()["last_restore"]["backup_id"] == backup_id


def test_pitr_restores_the_newest_snapshot_at_or_before_the_target(supabase_lab: requests.Session) -> None:
    before = _rows()
    time.sleep(1.0)  # the target is in whole seconds: the snapshot must be of an earlier second than the loss
    snapshot = capture("pitr")
    target = int(time.time())
    time.sleep(1.0)
    _lose_rows()
    window: dict[str, Any] = supabase_lab.get(f"{API}/v1/projects/{REF}/database/backups",
                                              timeout=10).json()["physical_backup_data"]
    assert window["earliest_physical_backup_date_unix"] <= target <= window["latest_physical_backup_date_unix"]
    response = supabase_lab.post(f"{API}/v1/projects/{REF}/database/backups/restore-pitr",
                                 json={"recovery_time_target_unix": target}, timeout=10)
    validate_supabase(response, PITR, "POST")
    assert response.status_code == 201
    assert _statuses_until_healthy(supabase_lab)[-1] == "ACTIVE_HEALTHY"
    assert _rows() == before
    assert project_state()["last_restore"]["capture_id"] == snapshot["id"]
    # Before the recovery window: refused, nothing restored.
    early = supabase_lab.post(f"{API}/v1/projects/{REF}/database/backups/restore-pitr",
                              json={"recovery_time_target_unix": 1}, timeout=10)
    assert early.status_code == 400 and "recovery window" in early.json()["message"]
    unauthorized = requests.post(f"{API}/v1/projects/{REF}/database/backups/restore-pitr",
                                 json={"recovery_time_target_unix": target}, timeout=10)
    validate_supabase(unauthorized, PITR, "POST")
    assert unauthorized.status_code == 401


def test_injected_faults_and_the_request_log(supabase_lab: requests.Session) -> None:
    seq = requests.get(f"{API}/__lab/health", timeout=5).json()["last_request_seq"]
    requests.post(f"{API}/__lab/faults", json={"rate_limit_burst": 1}, timeout=5)
    limited = supabase_lab.get(f"{API}/v1/projects", timeout=10)
    validate_supabase(limited, "/v1/projects", "GET")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert supabase_lab.get(f"{API}/v1/projects", timeout=10).status_code == 200
    log = requests.get(f"{API}/__lab/requests", params={"since": seq}, timeout=5).json()
    assert [(r["path"], r["status"]) for r in log] == [("/v1/projects", 429), ("/v1/projects", 200)]
