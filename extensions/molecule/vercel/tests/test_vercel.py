# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What converge left in the Vercel emulator, read through its admin API and fixzit's domain."""
from __future__ import annotations

import json
import os

API = os.environ.get("VERCEL_API_URL", "http://127.0.0.1:18200").rstrip("/")
DOMAIN = os.environ.get("VERCEL_DOMAINS_URL", "http://127.0.0.1:18201").rstrip("/") + "/fixzit.com"


def project(host) -> dict:
    return json.loads(host.check_output(f"curl -sf {API}/__lab/projects/fixzit"))


def production(state: dict) -> dict:
    return next(d for d in state["deployments"] if d["id"] == state["productionDeploymentId"])


def served(host, path: str) -> tuple[str, dict]:
    """(HTTP status, JSON body) of a GET on fixzit's production domain."""
    answer = host.run(f"curl -s -w '\\n%{{http_code}}' {DOMAIN}{path}")
    body, status = answer.stdout.rsplit("\n", 1)
    return status, json.loads(body)


def test_production_is_a_ready_build_of_v5_serving_every_domain(host):
    state = project(host)
    live = production(state)
    assert live["readyState"] == "READY" and live["meta"]["githubCommitRef"] == "v5.0.0"
    assert state["aliases"]["fixzit.com"] == live["id"]


def test_one_deploy_and_one_redeploy_per_change_and_none_on_the_rerun(host):
    # v5.0.0, the flag flip, the config change: the idempotence run built nothing.
    assert project(host)["builds_today"] == 3


def test_the_env_vars_are_as_converge_set_them(host):
    env = project(host)["env"]
    assert env["FEATURE_NEW_DASHBOARD@production,preview,development"] == "disabled"
    assert env["NEXTAUTH_URL@production"] == "https://www.fixzit.com"


def test_the_domain_serves_the_flag_and_is_healthy(host):
    status, features = served(host, "/api/features")
    assert status == "200" and features["features"]["new_dashboard"]["enabled"] is False
    assert served(host, "/api/health")[0] == "200"
    status, ready = served(host, "/api/health/ready")
    assert status == "200" and ready["ready"] is True
