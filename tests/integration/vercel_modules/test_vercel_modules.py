# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vercel_* modules against the emulator: check -> apply -> idempotent check -> idempotent apply,
each step asserted on the emulator's own state and request log, plus attach, failure and fault cases.

ansible-playbook's start dominates the wall time, so one play carries every module through the four
runs, and each other case needs one or two runs.
"""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.appops.runbooks.tests.integration.playbooks import Playbooks
from ansible_collections.appops.runbooks.tests.integration.vercel_modules.conftest import TOKEN, Lab

pytestmark = pytest.mark.integration

FIXZIT = "fixzit"
POLL = {"poll_interval": 0.2, "wait_timeout": 30}
CANARY = "lab-canary-sensitive-9f3a1c"
SHA = "4f1e2d3c4b5a69788796a5b4c3d2e1f001122334"


def creates(lab: Lab, seq: int) -> list[dict[str, t.Any]]:
    return [r for r in lab.requests_since(seq) if r["method"] == "POST" and r["path"] == "/v13/deployments"
            and r["status"] == 200]


def env_value(state: dict[str, t.Any], key: str, target: str) -> str | None:
    """The value ``key`` has in ``target`` (the emulator's truth, sensitive values included)."""
    found = [e["value"] for e in state["envs"] if e["key"] == key and target in e["target"]]
    assert len(found) <= 1, f"{key} has {len(found)} records for {target}"
    return found[0] if found else None


def four_runs(playbooks: Playbooks, lab: Lab, tasks: list[dict[str, t.Any]], check_state: t.Callable[[str], None],
              read_after: list[dict[str, t.Any]]) -> list[t.Any]:
    """check, apply (at -vvvv), check again, apply again; ``check_state(step)`` asserts the emulator after each.

    The read-only ``read_after`` tasks run in the last run only.
    """
    runs = []
    for step, check in (("check", True), ("apply", False), ("recheck", True), ("reapply", False)):
        seq = lab.last_seq()
        run = playbooks.run(tasks + (read_after if step == "reapply" else []), check=check, diff=True,
                            verbosity=4 if step == "apply" else 0)
        assert run.rc == 0, run.stdout[-3000:]
        if check or step == "reapply":
            assert lab.writes_since(seq) == [], f"{step} wrote to the API"
        check_state(step)
        runs.append(run)
    return runs


def test_every_module_check_apply_idempotent(playbooks: Playbooks, lab: Lab) -> None:
    start = lab.state(FIXZIT)
    live = start["productionDeploymentId"]
    seq = lab.last_seq()
    tasks = [
        {"appops.runbooks.vercel_env": {
            "project": FIXZIT, "targets": ["production"],
            "env": {"MAINTENANCE_MODE": True, "FEATURE_BULK_EXPORT": "disabled", "FEATURE_AI_ASSISTANT": None,
                    "NEXTAUTH_SECRET": "lab-nextauth-secret", "CRON_TOKEN": CANARY},
            "types": {"MAINTENANCE_MODE": "plain", "CRON_TOKEN": "sensitive"}}},
        {"appops.runbooks.vercel_deployment": {"project": FIXZIT, "git_source": {"ref": "main", "sha": SHA}, **POLL},
         "register": "deploy"},
        # An instant rollback from the new deployment to the one that was live before it.
        {"appops.runbooks.vercel_production": {"project": FIXZIT, "deployment": "previous",
                                               "description": "health gate failed", **POLL}},
        {"appops.runbooks.vercel_alias": {"alias": "status.fixzit.com", "deployment": live}},
    ]
    read_after = [
        {"appops.runbooks.vercel_project_info": {"project": FIXZIT, "deployments_limit": 2}},
        {"appops.runbooks.vercel_env_info": {"project": FIXZIT, "target": "production"}},
        {"appops.runbooks.vercel_deployment_info": {"deployment": "fixzit.com", "build_log_lines": 3}},
    ]

    def check_state(step: str) -> None:
        state = lab.state(FIXZIT)
        built = [d for d in state["deployments"] if d["meta"].get("githubCommitSha") == SHA]
        if step == "check":
            assert state["envs"] == start["envs"] and built == []
            assert state["productionDeploymentId"] == live and "status.fixzit.com" not in state["aliases"]
            return
        assert env_value(state, "MAINTENANCE_MODE", "production") == "true"
        assert env_value(state, "CRON_TOKEN", "production") == CANARY
        # The managed target changed; preview and development kept their values.
        assert env_value(state, "FEATURE_BULK_EXPORT", "production") == "disabled"
        assert env_value(state, "FEATURE_BULK_EXPORT", "preview") == "enabled"
        assert env_value(state, "FEATURE_AI_ASSISTANT", "production") is None
        assert env_value(state, "FEATURE_AI_ASSISTANT", "development") == "disabled"
        assert env_value(state, "NEXTAUTH_SECRET", "production") == "lab-nextauth-secret"
        # One build, with the new env, then rolled back: the old deployment serves again.
        assert len(built) == 1 and built[0]["readyState"] == "READY"
        assert built[0]["env"]["MAINTENANCE_MODE"] == "true"
        assert state["productionDeploymentId"] == live == state["aliases"]["fixzit.com"]
        assert state["lastAliasRequest"]["type"] == "rollback"
        assert state["lastAliasRequest"]["fromDeploymentId"] == built[0]["id"]
        assert state["aliases"]["status.fixzit.com"] == live
        assert state["builds_today"] == 1

    runs = four_runs(playbooks, lab, tasks, check_state, read_after)
    for index in range(4):
        assert [run.results[index]["changed"] for run in runs] == [True, True, False, False], index
    env_check, env_apply = runs[0].results[0], runs[1].results[0]
    assert env_check["changed_keys"] == ["CRON_TOKEN", "FEATURE_BULK_EXPORT", "MAINTENANCE_MODE"]
    assert env_check["removed_keys"] == ["FEATURE_AI_ASSISTANT"]
    assert env_check["uncompared_keys"] == ["NEXTAUTH_SECRET"]
    assert "cannot compare" in env_check["diff"]["after"]["NEXTAUTH_SECRET@production"]
    assert env_check["diff"]["after"]["MAINTENANCE_MODE@production"].endswith("added")
    assert env_apply["redeploy_needed"] and not runs[3].results[0]["redeploy_needed"]
    deployed = runs[1].results[1]["deployment"]
    assert runs[3].results[1]["deployment"]["id"] == deployed["id"]
    rollback = runs[1].results[2]
    assert rollback["operation"] == "rollback" and rollback["from_deployment"] == deployed["id"]
    assert rollback["to_deployment"] == live and runs[3].results[2]["operation"] == "none"
    project_info, env_info, deployment_info = runs[3].results[4:7]
    assert project_info["production_deployment"]["id"] == live
    assert project_info["rollback_info"]["rolled_back"] is True
    assert {d["name"] for d in project_info["domains"]} == {"fixzit.com", "www.fixzit.com", "fixzit.vercel.app"}
    assert len(project_info["deployments"]) == 2
    assert {"MAINTENANCE_MODE", "CRON_TOKEN"} <= set(env_info["keys"]["production"])
    assert all("value" not in e for e in env_info["env"])
    assert deployment_info["deployments"][0]["id"] == live and len(deployment_info["build_log"]) == 3
    # Rollback and alias cost no build; the rollback took the v1 path, which carries the description.
    assert len(creates(lab, seq)) == 1
    assert any(r["path"].startswith("/v1/projects/") and "/rollback/" in r["path"] for r in lab.requests_since(seq))
    # No sensitive value and no token in any output, -vvvv included.
    assert all(CANARY not in run.stdout and TOKEN not in run.stdout for run in runs)


def test_rerun_while_building_attaches_through_faults(playbooks: Playbooks, lab: Lab) -> None:
    lab.knobs(build_ms=10000)
    seq = lab.last_seq()
    lab.faults(error_rate=0.25, error_status=503, rate_limit_burst=3, seed=7)
    # force: no server-side reuse of a running build; only the module's own lookup can attach.
    redeploy = {"project": FIXZIT, "redeploy": "production", "state": "redeployed", "force": True,
                "retry_max_wait": 20, **POLL}
    first = playbooks.run([{"appops.runbooks.vercel_deployment": {**redeploy, "wait": False}}])
    assert first.rc == 0 and first.last["changed"], first.stdout[-3000:]
    building = first.last["deployment"]["id"]
    assert next(d for d in lab.state(FIXZIT)["deployments"] if d["id"] == building)["readyState"] != "READY"
    second = playbooks.run([{"appops.runbooks.vercel_deployment": redeploy}])
    assert second.rc == 0, second.stdout[-3000:]
    assert second.last["attached"] and not second.last["changed"]
    assert second.last["deployment"]["id"] == building and second.last["deployment"]["readyState"] == "READY"
    seen = lab.requests_since(seq)
    assert any(r["status"] == 429 for r in seen) and any(r["status"] == 503 for r in seen)
    assert len(creates(lab, seq)) == 1
    state = lab.state(FIXZIT)
    assert state["builds_today"] == 1 and state["productionDeploymentId"] == building


def test_promote_then_failed_build_reports_the_build_log(playbooks: Playbooks, lab: Lab) -> None:
    older = lab.state(FIXZIT)["deployments"][-1]["id"]
    lab.knobs(next_builds=["fail"])
    run = playbooks.run([
        {"appops.runbooks.vercel_production": {"project": FIXZIT, "deployment": older, "method": "promote", **POLL}},
        {"appops.runbooks.vercel_deployment": {"project": FIXZIT, "git_source": {"ref": "feature/broken"}, **POLL}},
    ])
    assert run.rc != 0
    promoted, failed = run.results
    assert promoted["changed"] and promoted["operation"] == "promote"
    assert failed["failed"] and 'Command "npm run build" exited with 1' in failed["msg"]
    assert any("exited with 1" in line for line in failed["build_log"])
    assert failed["deployment"]["readyState"] == "ERROR"
    state = lab.state(FIXZIT)
    assert state["productionDeploymentId"] == older and state["lastAliasRequest"]["type"] == "promote"
    assert state["builds_today"] == 1
