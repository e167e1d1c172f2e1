"""Every Vercel REST route the emulator serves answers with what vercel-spec.json promises.

Each case calls a route and validates the status (declared for that path and method) and the
body (that status's schema, ``$ref``s resolved inside the spec, ``nullable`` honoured, ``format``
not enforced). Routes the spec does not describe (the CLI's unversioned and newer paths) are
checked against their documented twin. A spec route without a case fails
``test_every_served_spec_route_has_a_case``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from vercel_lab_helpers import API, FIXZIT, MYSETLIST, TEAM_ID, domain, project_state, validate, wait_for

pytestmark = pytest.mark.integration

Case = Callable[[requests.Session, dict[str, Any]], requests.Response]
T = f"teamId={TEAM_ID}"


def _ids() -> dict[str, Any]:
    fixzit, mysetlist = project_state(FIXZIT), project_state(MYSETLIST)
    env = next(e for e in fixzit["envs"] if e["key"] == "FEATURE_NEW_DASHBOARD")
    return {"fixzit": fixzit["id"], "mysetlist": mysetlist["id"], "env": env["id"],
            "live": fixzit["productionDeploymentId"], "old": fixzit["deployments"][-1]["id"],
            "old_url": fixzit["deployments"][-1]["url"], "live_url": fixzit["aliases"]["fixzit.com"]}


def _get(path: str) -> Case:
    return lambda http, ctx: http.get(API + path.format(**ctx))


def _send(method: str, path: str, body: Any) -> Case:
    return lambda http, ctx: http.request(method, API + path.format(**ctx), json=body(ctx) if callable(body) else body)


# (spec path, method, case name, call)
CASES: list[tuple[str, str, str, Case]] = [
    ("/v2/user", "GET", "user", _get(f"/v2/user?{T}")),
    ("/v2/teams", "GET", "teams", _get("/v2/teams")),
    ("/v2/teams/{teamId}", "GET", "team", _get(f"/v2/teams/{TEAM_ID}")),
    ("/v2/teams/{teamId}", "GET", "team missing", _get("/v2/teams/team_nope")),
    ("/v10/projects", "GET", "projects", _get(f"/v10/projects?{T}")),
    ("/v9/projects/{idOrName}", "GET", "project", _get(f"/v9/projects/{FIXZIT}?{T}")),
    ("/v9/projects/{idOrName}", "GET", "project other team", _get(f"/v9/projects/{FIXZIT}?teamId=team_other")),
    ("/v9/projects/{idOrName}/domains", "GET", "project domains", _get(f"/v9/projects/{FIXZIT}/domains?{T}")),
    ("/v6/deployments", "GET", "deployments", _get(f"/v6/deployments?projectId={{fixzit}}&limit=2&{T}")),
    ("/v6/deployments", "GET", "deployments filtered",
     _get(f"/v6/deployments?projectId={{mysetlist}}&target=production&state=READY&{T}")),
    ("/v6/deployments", "GET", "deployments bad until", _get(f"/v6/deployments?until=yesterday&{T}")),
    ("/v13/deployments/{idOrUrl}", "GET", "deployment by id", _get(f"/v13/deployments/{{live}}?{T}")),
    ("/v13/deployments/{idOrUrl}", "GET", "deployment by url", _get(f"/v13/deployments/{{old_url}}?{T}")),
    ("/v13/deployments/{idOrUrl}", "GET", "deployment missing", _get(f"/v13/deployments/dpl_missing?{T}")),
    ("/v13/deployments", "POST", "create from git",
     _send("POST", f"/v13/deployments?{T}", {"name": FIXZIT, "project": FIXZIT, "target": "production",
                                             "gitSource": {"type": "github", "ref": "main", "repoId": 1}})),
    ("/v13/deployments", "POST", "create from files",
     _send("POST", f"/v13/deployments?forceNew=1&{T}", {"name": MYSETLIST, "files": [
         {"file": "package.json", "data": "{}"}]})),
    ("/v13/deployments", "POST", "redeploy", _send("POST", f"/v13/deployments?{T}",
                                                   lambda ctx: {"name": FIXZIT, "deploymentId": ctx["live"],
                                                                "target": "production"})),
    ("/v13/deployments", "POST", "create without name", _send("POST", f"/v13/deployments?{T}", {"files": []})),
    ("/v13/deployments", "POST", "create unknown project",
     _send("POST", f"/v13/deployments?{T}", {"name": "nope", "gitSource": {"ref": "main"}})),
    ("/v12/deployments/{id}/cancel", "PATCH", "cancel", _send("PATCH", f"/v12/deployments/{{live}}/cancel?{T}", {})),
    ("/v3/deployments/{idOrUrl}/events", "GET", "events", _get(f"/v3/deployments/{{live}}/events?{T}")),
    ("/v1/projects/{projectId}/deployments/{deploymentId}/runtime-logs", "GET", "runtime logs",
     _get(f"/v1/projects/{{fixzit}}/deployments/{{live}}/runtime-logs?{T}")),
    ("/v10/projects/{projectId}/promote/{deploymentId}", "POST", "promote",
     _send("POST", f"/v10/projects/{{fixzit}}/promote/{{old}}?{T}", {})),
    ("/v10/projects/{projectId}/promote/{deploymentId}", "POST", "promote current",
     _send("POST", f"/v10/projects/{{fixzit}}/promote/{{live}}?{T}", {})),
    ("/v1/projects/{projectId}/promote/aliases", "GET", "promote aliases",
     _get(f"/v1/projects/{{fixzit}}/promote/aliases?{T}")),
    ("/v2/deployments/{id}/aliases", "GET", "deployment aliases", _get(f"/v2/deployments/{{live}}/aliases?{T}")),
    ("/v2/deployments/{id}/aliases", "POST", "assign alias",
     _send("POST", f"/v2/deployments/{{old}}/aliases?{T}", {"alias": "fixzit-old.vercel.app"})),
    ("/v2/deployments/{id}/aliases", "POST", "assign alias of another project",
     _send("POST", f"/v2/deployments/{{old}}/aliases?{T}", {"alias": "mysetlist-sonnet.vercel.app"})),
    ("/v4/aliases", "GET", "aliases", _get(f"/v4/aliases?projectId={{fixzit}}&limit=2&{T}")),
    ("/v5/domains/{domain}", "GET", "domain", _get(f"/v5/domains/fixzit.com?{T}")),
    ("/v10/projects/{idOrName}/env", "GET", "env list", _get(f"/v10/projects/{FIXZIT}/env?{T}")),
    ("/v10/projects/{idOrName}/env", "GET", "env list decrypted", _get(f"/v10/projects/{MYSETLIST}/env?decrypt=true&{T}")),
    ("/v10/projects/{idOrName}/env", "POST", "env create",
     _send("POST", f"/v10/projects/{FIXZIT}/env?{T}",
           {"key": "NEW_VAR", "value": "1", "type": "plain", "target": ["production"]})),
    ("/v10/projects/{idOrName}/env", "POST", "env create many",
     _send("POST", f"/v10/projects/{FIXZIT}/env?upsert=true&{T}", [
         {"key": "A_VAR", "value": "a", "type": "encrypted", "target": ["preview"]},
         {"key": "B_VAR", "value": "b", "type": "bogus", "target": ["preview"]}])),
    ("/v10/projects/{idOrName}/env", "POST", "env create duplicate",
     _send("POST", f"/v10/projects/{FIXZIT}/env?{T}",
           {"key": "FEATURE_NEW_DASHBOARD", "value": "x", "type": "plain", "target": ["production"]})),
    ("/v1/projects/{idOrName}/env/{id}", "GET", "env get", _get(f"/v1/projects/{FIXZIT}/env/{{env}}?{T}")),
    ("/v9/projects/{idOrName}/env/{id}", "PATCH", "env edit",
     _send("PATCH", f"/v9/projects/{FIXZIT}/env/{{env}}?{T}", {"value": "disabled"})),
    ("/v9/projects/{idOrName}/env/{id}", "PATCH", "env edit missing",
     _send("PATCH", f"/v9/projects/{FIXZIT}/env/env_missing?{T}", {"value": "x"})),
    ("/v9/projects/{idOrName}/env/{id}", "DELETE", "env delete",
     _send("DELETE", f"/v9/projects/{FIXZIT}/env/{{env}}?{T}", None)),
]

# Routes outside the spec, each checked against the documented route it mirrors.
TWINS: list[tuple[str, str, str, Case]] = [
    ("/v2/teams/{teamId}", "GET", "/teams/{teamId}", _get(f"/teams/{TEAM_ID}")),
    ("/v6/deployments", "GET", "/v7/deployments", _get(f"/v7/deployments?projectId={{fixzit}}&{T}")),
    ("/v2/deployments/{id}/aliases", "GET", "/now/deployments/{id}/aliases",
     _get(f"/now/deployments/{{live_url}}/aliases?{T}")),
    ("/v2/deployments/{id}/aliases", "POST", "/now/deployments/{id}/aliases",
     _send("POST", f"/now/deployments/{{old_url}}/aliases?{T}", {"alias": "fixzit-now.vercel.app"})),
    ("/v9/projects/{idOrName}/env/{id}", "PATCH", "/v10/projects/{idOrName}/env/{id}",
     _send("PATCH", f"/v10/projects/{FIXZIT}/env/{{env}}?{T}", {"target": ["production", "preview"]})),
    ("/v9/projects/{idOrName}/env/{id}", "DELETE", "/v10/projects/{idOrName}/env/{id}",
     _send("DELETE", f"/v10/projects/{FIXZIT}/env/{{env}}?{T}", None)),
    ("/v1/projects/{projectId}/promote/aliases", "GET", "/v9/projects/{projectId}/promote/aliases",
     _get(f"/v9/projects/{{fixzit}}/promote/aliases?failedOnly=true&{T}")),
    ("/v1/projects/{projectId}/promote/aliases", "GET", "/v9/projects/{projectId}/rollback/aliases",
     _get(f"/v9/projects/{{fixzit}}/rollback/aliases?{T}")),
]
# Rollback (README: v1 added to the API in 2026-01, v9 what the CLI calls): 201; v1 has no body.
ROLLBACKS = ("/v1/projects/{projectId}/rollback/{deploymentId}", "/v9/projects/{projectId}/rollback/{deploymentId}")
UNDOCUMENTED_OWN_SHAPE = {("GET", "/projects/{idOrName}/custom-environments"),
                          ("GET", "/v9/projects/{idOrName}/custom-environments"),
                          ("GET", "/v11/deployments/{id}/builds"), ("POST", "/v1/observability/events"),
                          ("GET", "/www/user")}


@pytest.mark.parametrize(("path", "method", "name", "call"), CASES, ids=[f"{c[1]} {c[2]}" for c in CASES])
def test_spec_route(vercel: requests.Session, path: str, method: str, name: str, call: Case) -> None:
    if name.startswith("cancel"):
        # Cancel needs a deployment still building.
        made = vercel.post(f"{API}/v13/deployments?{T}", json={"name": FIXZIT, "gitSource": {"type": "github", "ref": "cancel-me", "repoId": 1}})
        call = _send("PATCH", f"/v12/deployments/{made.json()['id']}/cancel?{T}", {})
    if name == "runtime logs":
        assert domain("fixzit.com", "/api/health").status_code == 200
    response = call(vercel, _ids())
    validate(response, path, method)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body


@pytest.mark.parametrize(("spec_path", "method", "path", "call"), TWINS, ids=[f"{t[1]} {t[2]}" for t in TWINS])
def test_undocumented_route_matches_its_twin(vercel: requests.Session, spec_path: str, method: str, path: str,
                                             call: Case) -> None:
    validate(call(vercel, _ids()), spec_path, method)


@pytest.mark.parametrize("path", ROLLBACKS)
def test_rollback_paths_answer_201(vercel: requests.Session, path: str) -> None:
    ctx = _ids()
    response = vercel.post(API + path.replace("{projectId}", ctx["fixzit"]).replace("{deploymentId}", ctx["old"])
                           + f"?{T}", json={})
    assert response.status_code == 201, response.text
    state = wait_for(lambda: (s := project_state(FIXZIT))["lastAliasRequest"]["jobStatus"] == "succeeded" and s)
    assert state["productionDeploymentId"] == ctx["old"]


def test_every_served_spec_route_has_a_case(vercel: requests.Session) -> None:
    served = {(r["method"], r["path"]) for r in requests.get(f"{API}/__lab/routes", timeout=5).json()}
    covered = {(m, p) for p, m, _name, _call in CASES} | {(m, p) for _twin, m, p, _call in TWINS}
    covered |= {("POST", p) for p in ROLLBACKS} | UNDOCUMENTED_OWN_SHAPE
    assert served - covered == set()
    spec_routes = {(r["method"], r["path"]) for r in requests.get(f"{API}/__lab/routes", timeout=5).json()
                   if r["spec"]}
    assert {(m, p) for p, m, _name, _call in CASES} == spec_routes - {("POST", p) for p in ROLLBACKS}


@pytest.mark.parametrize(("method", "path"), [("GET", "/v99/nothing"), ("POST", "/v13/deployments/x/y"),
                                              ("DELETE", "/v2/user")])
def test_unknown_paths_answer_vercel_errors(vercel: requests.Session, method: str, path: str) -> None:
    response = vercel.request(method, API + path)
    assert response.status_code in (404, 405)
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] in ("not_found", "method_not_allowed")


def test_rate_limited_answer_has_the_spec_shape(vercel: requests.Session) -> None:
    """``VercelRateLimitError`` in the spec's components: ``{error: {code, message, limit}}``."""
    from vercel_lab_helpers import _validate_against
    requests.post(f"{API}/__lab/rate-limit", json={"limits": {"POST /v10/projects/{idOrName}/env": 1}}, timeout=5)
    ok = vercel.post(f"{API}/v10/projects/{FIXZIT}/env?{T}", json={"key": "K1", "value": "v", "type": "plain",
                                                                   "target": ["preview"]})
    limited = vercel.post(f"{API}/v10/projects/{FIXZIT}/env?{T}", json={"key": "K2", "value": "v", "type": "plain",
                                                                        "target": ["preview"]})
    assert ok.status_code == 201 and limited.status_code == 429
    validate(limited, "/v10/projects/{idOrName}/env", "POST")
    _validate_against(limited.json(), "#/components/schemas/VercelRateLimitError")
