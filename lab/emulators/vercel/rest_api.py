"""The Vercel REST API routes the runbooks and the Vercel CLI use, shaped as vercel-spec.json says."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from typing import Any

from heroku.httpcore import Request, Response, Router

from . import TEAM_ID, TEAM_SLUG, USER_ID, domain_url
from .lab import FINAL_STATES, Lab, VercelError, now_ms

USER_EMAIL = "ops@appops.example"
USERNAME = "appops-ops"
REGION = "iad1"


def _query(request: Request, name: str, default: str | None = None) -> str | None:
    values = request.query.get(name)
    return values[-1] if values else default


def _int_query(request: Request, name: str) -> int | None:
    value = _query(request, name)
    if value in (None, ""):
        return None
    try:
        return int(float(value))
    except ValueError:
        raise VercelError(400, "bad_request", f"Invalid request: query.{name} should be number.") from None


def _creator() -> dict[str, Any]:
    return {"uid": USER_ID, "email": USER_EMAIL, "username": USERNAME}


class RestApi:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/v2/user", self.get_user)
        add("GET", "/www/user", self.get_user, schema=False)
        add("GET", "/v2/teams", self.list_teams)
        add("GET", "/v2/teams/{teamId}", self.get_team)
        add("GET", "/teams/{teamId}", self.get_team, schema=False)
        add("GET", "/v10/projects", self.list_projects)
        add("GET", "/v9/projects/{idOrName}", self.get_project)
        add("GET", "/v9/projects/{idOrName}/domains", self.project_domains)
        add("GET", "/projects/{idOrName}/custom-environments", self.custom_environments, schema=False)
        add("GET", "/v9/projects/{idOrName}/custom-environments", self.custom_environments, schema=False)
        add("GET", "/v6/deployments", self.list_deployments)
        add("GET", "/v7/deployments", self.list_deployments, schema=False)
        add("POST", "/v13/deployments", self.create_deployment)
        add("GET", "/v13/deployments/{idOrUrl}", self.get_deployment)
        add("PATCH", "/v12/deployments/{id}/cancel", self.cancel_deployment)
        add("GET", "/v3/deployments/{idOrUrl}/events", self.deployment_events)
        add("GET", "/v11/deployments/{id}/builds", self.deployment_builds, schema=False)
        add("GET", "/v1/projects/{projectId}/deployments/{deploymentId}/runtime-logs", self.runtime_logs)
        add("POST", "/v1/observability/events", self.observability_events, schema=False)
        add("POST", "/v10/projects/{projectId}/promote/{deploymentId}", self.promote)
        add("POST", "/v9/projects/{projectId}/rollback/{deploymentId}", self.rollback_v9, schema=False)
        add("POST", "/v1/projects/{projectId}/rollback/{deploymentId}", self.rollback_v1, schema=False)
        add("GET", "/v1/projects/{projectId}/promote/aliases", self.promote_aliases)
        add("GET", "/v9/projects/{projectId}/promote/aliases", self.promote_aliases, schema=False)
        add("GET", "/v9/projects/{projectId}/rollback/aliases", self.promote_aliases, schema=False)
        add("GET", "/v2/deployments/{id}/aliases", self.deployment_aliases)
        add("GET", "/now/deployments/{id}/aliases", self.deployment_aliases, schema=False)
        add("POST", "/v2/deployments/{id}/aliases", self.assign_alias)
        add("POST", "/now/deployments/{id}/aliases", self.assign_alias, schema=False)
        add("GET", "/v4/aliases", self.list_aliases)
        add("GET", "/v5/domains/{domain}", self.get_domain)
        add("GET", "/v10/projects/{idOrName}/env", self.list_env)
        add("POST", "/v10/projects/{idOrName}/env", self.create_env)
        add("GET", "/v1/projects/{idOrName}/env/{id}", self.get_env)
        add("PATCH", "/v9/projects/{idOrName}/env/{id}", self.edit_env)
        add("PATCH", "/v10/projects/{idOrName}/env/{id}", self.edit_env, schema=False)
        add("DELETE", "/v10/projects/{idOrName}/env/{id}", self.delete_env, schema=False)
        add("DELETE", "/v9/projects/{idOrName}/env/{id}", self.delete_env)

    # ------------------------------------------------------------------ user and teams
    def get_user(self, request: Request) -> Response:
        created = now_ms() - 400 * 86_400_000
        return Response(200, {"user": {
            "createdAt": created, "softBlock": None, "billing": None,
            "resourceConfig": {"nodeType": "standard", "concurrentBuilds": 1},
            "stagingPrefix": "appops", "hasTrialAvailable": False, "id": USER_ID, "email": USER_EMAIL,
            "name": "AppOps Operator", "username": USERNAME, "avatar": None, "defaultTeamId": TEAM_ID,
            "version": "northstar"}})

    def _team(self) -> dict[str, Any]:
        created = now_ms() - 400 * 86_400_000
        return {"creatorId": USER_ID, "updatedAt": created, "description": None, "stagingPrefix": "swbams",
                "id": TEAM_ID, "slug": TEAM_SLUG, "name": "swbam's projects", "avatar": None,
                "membership": {"confirmed": True, "role": "OWNER", "createdAt": created, "created": created,
                               "uid": USER_ID},
                "createdAt": created, "billing": {"plan": "hobby"}}

    def list_teams(self, request: Request) -> Response:
        return Response(200, {"teams": [self._team()], "pagination": {"count": 1, "next": None, "prev": None}})

    def get_team(self, request: Request) -> Response:
        if request.params["teamId"] not in (TEAM_ID, TEAM_SLUG):
            raise VercelError(404, "not_found", "Team not found")
        return Response(200, self._team())

    # ------------------------------------------------------------------ projects
    def _project_json(self, project: dict[str, Any]) -> dict[str, Any]:
        lab = self.lab
        latest = [self._deployment_brief(d) for d in lab.deployments(project["id"])[:5]]
        production = lab.docs["deployment"].get(project.get("productionDeploymentId") or "")
        job = project.get("lastAliasRequest")
        body: dict[str, Any] = {
            "accountId": project["accountId"], "directoryListing": False, "id": project["id"],
            "name": project["name"], "nodeVersion": "20.x", "framework": project.get("framework"),
            "resourceConfig": {"functionDefaultRegions": [REGION]},
            "defaultResourceConfig": {"functionDefaultRegions": [REGION]},
            "createdAt": project["createdAt"], "updatedAt": project["updatedAt"],
            "latestDeployments": latest, "live": False,
            "autoAssignCustomDomains": True, "autoExposeSystemEnvs": True,
            "targets": {"production": self._deployment_brief(production)} if production else {},
            "lastAliasRequest": ({k: v for k, v in job.items() if k != "dueAt"} if job else None),
            "lastRollbackTarget": project.get("lastRollbackTarget"),
        }
        return body

    def _deployment_brief(self, deployment: dict[str, Any]) -> dict[str, Any]:
        return {"id": deployment["id"], "url": deployment["url"], "name": deployment["name"],
                "deploymentHostname": deployment["url"].removesuffix(".vercel.app"), "userId": USER_ID,
                "createdAt": deployment["createdAt"], "buildingAt": deployment["buildingAt"],
                "readyState": deployment["readyState"], "readySubstate": deployment.get("readySubstate"),
                "target": deployment["target"], "type": "LAMBDAS", "meta": deployment["meta"],
                "alias": [a["alias"] for a in self.lab.aliases(deployment["id"])],
                "aliasAssigned": deployment.get("aliasAssignedAt"), "aliasError": None,
                "creator": {"uid": USER_ID, "email": USER_EMAIL, "username": USERNAME},
                "createdIn": REGION, "plan": "hobby", "previewCommentsEnabled": False,
                "private": True, "readyAt": deployment["ready"] if deployment["readyState"] == "READY" else None,
                "deployHooks": []}

    def list_projects(self, request: Request) -> Response:
        projects = sorted(self.lab.docs["project"].values(), key=lambda p: p["updatedAt"], reverse=True)
        search = _query(request, "search")
        if search:
            projects = [p for p in projects if search in p["name"]]
        body = [self._project_json(p) for p in projects]
        return Response(200, {"projects": body, "pagination": {"count": len(body), "next": None, "prev": None}})

    def get_project(self, request: Request) -> Response:
        return Response(200, self._project_json(self.lab.project(request.params["idOrName"])))

    def project_domains(self, request: Request) -> Response:
        """The project's domains, verified, in the order they were added (the first one is production's)."""
        project = self.lab.project(request.params["idOrName"])
        domains = []
        for number, name in enumerate(project["domains"]):
            apex = name if name.endswith(".vercel.app") else ".".join(name.split(".")[-2:])
            domains.append({"name": name, "apexName": apex, "projectId": project["id"], "redirect": None,
                            "redirectStatusCode": None, "gitBranch": None, "customEnvironmentId": None,
                            "updatedAt": project["createdAt"] + number, "createdAt": project["createdAt"] + number,
                            "verified": True})
        return Response(200, {"domains": domains, "pagination": {"count": len(domains), "next": None, "prev": None}})

    def custom_environments(self, request: Request) -> Response:
        self.lab.project(request.params["idOrName"])
        return Response(200, {"accountLimit": {"total": 1}, "environments": []})

    # ------------------------------------------------------------------ deployments
    def _deployment_list_item(self, deployment: dict[str, Any], project: dict[str, Any]) -> dict[str, Any]:
        ready = deployment["readyState"]
        candidate = (ready == "READY" and deployment["target"] == "production"
                     and deployment["id"] != project.get("productionDeploymentId"))
        source = "git" if "gitSource" in deployment["source"] else "cli"
        if deployment["meta"].get("action") == "redeploy":
            source = "redeploy"
        item = {"uid": deployment["id"], "name": deployment["name"], "projectId": deployment["projectId"],
                "url": deployment["url"], "created": deployment["createdAt"], "createdAt": deployment["createdAt"],
                "buildingAt": deployment["buildingAt"], "type": "LAMBDAS", "creator": _creator(),
                "inspectorUrl": self._inspector(deployment), "state": ready, "readyState": ready,
                "target": deployment["target"], "meta": deployment["meta"], "isRollbackCandidate": candidate,
                "source": source, "aliasAssigned": deployment.get("aliasAssignedAt") is not None,
                "aliasError": None}
        if ready == "READY":
            item["ready"] = deployment["ready"]
        if deployment.get("readySubstate"):
            item["readySubstate"] = deployment["readySubstate"]
        return item

    @staticmethod
    def _inspector(deployment: dict[str, Any]) -> str:
        return f"https://vercel.com/{TEAM_SLUG}/{deployment['name']}/{deployment['id'].removeprefix('dpl_')}"

    def list_deployments(self, request: Request) -> Response:
        lab = self.lab
        with lab.lock:
            lab.settle()
            project_id = _query(request, "projectId") or _query(request, "app")
            project = lab.project(project_id) if project_id else None
            found = lab.deployments(project["id"] if project else None)
            target = _query(request, "target")
            if target:
                found = [d for d in found if (d["target"] or "preview") == target]
            state = _query(request, "state")
            if state:
                states = {s.strip().upper() for s in state.split(",")}
                found = [d for d in found if d["readyState"] in states]
            sha = _query(request, "sha")
            if sha:
                found = [d for d in found if d["meta"].get("githubCommitSha") == sha]
            branch = _query(request, "branch")
            if branch:
                found = [d for d in found if d["meta"].get("githubCommitRef") == branch]
            until, since = _int_query(request, "until"), _int_query(request, "since")
            if until is not None:
                found = [d for d in found if d["createdAt"] < until]
            if since is not None:
                found = [d for d in found if d["createdAt"] > since]
            limit = min(max(_int_query(request, "limit") or 20, 1), 100)
            projects = {p["id"]: p for p in lab.docs["project"].values()}
            items = [self._deployment_list_item(d, projects[d["projectId"]]) for d in found]
            if _query(request, "rollbackCandidate") in ("true", "1"):
                items = [i for i in items if i["isRollbackCandidate"]]
            page = items[:limit]
            more = len(items) > limit
        pagination = {"count": len(page), "next": page[-1]["created"] if page and more else None,
                      "prev": page[0]["created"] if page else None}
        return Response(200, {"deployments": page, "pagination": pagination})

    def _deployment_json(self, deployment: dict[str, Any]) -> dict[str, Any]:
        ready = deployment["readyState"]
        aliases = [a["alias"] for a in self.lab.aliases(deployment["id"])]
        keys = sorted(deployment["env"])
        body: dict[str, Any] = {
            "build": {"env": keys}, "env": keys, "inspectorUrl": self._inspector(deployment),
            "isInConcurrentBuildsQueue": False, "isInSystemBuildsQueue": False,
            "projectSettings": {"framework": "nextjs", "buildCommand": None, "installCommand": None,
                                "outputDirectory": None},
            "aliasAssigned": deployment.get("aliasAssignedAt") is not None,
            "aliasAssignedAt": deployment.get("aliasAssignedAt"),
            "bootedAt": deployment["buildingAt"], "buildingAt": deployment["buildingAt"],
            "buildSkipped": deployment["buildSkipped"], "creator": {"uid": USER_ID, "username": USERNAME},
            "public": False, "status": ready, "id": deployment["id"], "createdAt": deployment["createdAt"],
            "readyState": ready, "name": deployment["name"], "type": "LAMBDAS", "meta": deployment["meta"],
            "regions": [REGION], "url": deployment["url"], "version": 2, "projectId": deployment["projectId"],
            "plan": "hobby", "createdIn": REGION, "ownerId": TEAM_ID, "routes": None,
            "team": {"id": TEAM_ID, "name": "swbam's projects", "slug": TEAM_SLUG},
            "alias": aliases, "aliasError": None, "target": deployment["target"],
            "source": "git" if "gitSource" in deployment["source"] else "cli",
            "project": {"id": deployment["projectId"], "name": deployment["name"], "framework": "nextjs"},
        }
        if ready in ("READY", "ERROR", "CANCELED"):
            body["ready"] = deployment["ready"]
        if deployment.get("readySubstate"):
            body["readySubstate"] = deployment["readySubstate"]
        if ready == "ERROR":
            body.update(errorCode=deployment["errorCode"], errorMessage=deployment["errorMessage"],
                        errorStep="build")
        git = deployment["source"].get("gitSource")
        if git:
            body["gitSource"] = {k: v for k, v in git.items() if v is not None}
        if deployment.get("canceledAt"):
            body["canceledAt"] = deployment["canceledAt"]
        return body

    def get_deployment(self, request: Request) -> Response:
        with self.lab.lock:
            self.lab.settle()
            return Response(200, self._deployment_json(self.lab.deployment(request.params["idOrUrl"])))

    def create_deployment(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise VercelError(400, "bad_request", "Invalid request: body should be an object.")
        force = _query(request, "forceNew") in ("1", "true")
        deployment = self.lab.create_deployment(body, force)
        return Response(200, self._deployment_json(deployment))

    def cancel_deployment(self, request: Request) -> Response:
        deployment = self.lab.cancel(self.lab.deployment(request.params["id"]))
        return Response(200, self._deployment_json(deployment))

    def deployment_events(self, request: Request) -> Response:
        """The build log: lines written as the build reaches each moment."""
        with self.lab.lock:
            self.lab.settle()
            deployment = self.lab.deployment(request.params["idOrUrl"])
        lines = build_log(deployment, now_ms())
        events = []
        for serial, (at, kind, text) in enumerate(lines, start=1):
            events.append({"type": kind, "created": at, "payload": {
                "deploymentId": deployment["id"], "id": f"{deployment['id']}-{serial}", "date": at,
                "serial": f"{at}{serial:06d}", "text": text, "info": {"type": "build", "name": "bld_lab",
                                                                       "entrypoint": "."}}})
        limit = _int_query(request, "limit")
        if limit is not None and limit > 0:
            events = events[-limit:]
        return Response(200, events)

    def deployment_builds(self, request: Request) -> Response:
        with self.lab.lock:
            self.lab.settle()
            deployment = self.lab.deployment(request.params["id"])
        state = deployment["readyState"]
        return Response(200, {"builds": [{
            "id": "bld_" + deployment["id"].removeprefix("dpl_"), "deploymentId": deployment["id"],
            "entrypoint": "package.json", "readyState": state, "readyStateAt": deployment["ready"],
            "createdAt": deployment["createdAt"], "createdIn": REGION, "use": "@vercel/next",
            "config": {"framework": "nextjs"}, "output": [], "fingerprint": None}]})

    def runtime_logs(self, request: Request) -> Response:
        """What the domain served for this deployment, one JSON object a line (stream+json)."""
        self.lab.project(request.params["projectId"])
        deployment = self.lab.deployment(request.params["deploymentId"])
        with self.lab.lock:
            rows = list(self.lab.runtime_logs.get(deployment["id"], []))
        payload = "".join(json.dumps(row) + "\n" for row in rows)
        return Response(200, payload, content_type="application/stream+json")

    def observability_events(self, request: Request) -> Response:
        """``vercel logs`` (CLI 64) queries runtime logs here: ``event: vercel.log``, a scope and a filter."""
        body = request.json() or {}
        scope = body.get("scope") or {}
        projects = set(scope.get("projectIds") or [])
        wanted = {m.group(1): m.group(2) for m in re.finditer(r"(deploymentId|level|requestPath):\"?([^\s\"]+)",
                                                               str(body.get("filter") or ""))}
        events: list[dict[str, Any]] = []
        if body.get("event") in ("vercel.log", "vercel.proxy_response"):
            with self.lab.lock:
                for deployment_id, rows in self.lab.runtime_logs.items():
                    deployment = self.lab.docs["deployment"].get(deployment_id)
                    if deployment is None or (projects and deployment["projectId"] not in projects):
                        continue
                    for row in rows:
                        events.append(self._log_event(deployment, row, body.get("event")))
        for name, value in wanted.items():
            events = [e for e in events if str(e.get(name, "")).strip("*") == value
                      or (value.startswith("*") and value.strip("*") in str(e.get(name, "")))]
        events.sort(key=lambda e: e["timestamp"], reverse=body.get("order", "desc") == "desc")
        limit = int(body.get("limit") or 100)
        return Response(200, {"events": events[:limit], "pagination": {"hasMore": len(events) > limit,
                                                                       "nextCursor": None}})

    @staticmethod
    def _log_event(deployment: dict[str, Any], row: dict[str, Any], event: str) -> dict[str, Any]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(row["timestampInMs"] / 1000)) + \
            f".{row['timestampInMs'] % 1000:03d}Z"
        common = {"timestamp": stamp, "projectId": deployment["projectId"], "requestId": row["rowId"],
                  "deploymentId": deployment["id"], "environment": deployment["target"] or "preview",
                  "requestPath": row["requestPath"], "requestMethod": row["requestMethod"], "region": REGION}
        if event == "vercel.proxy_response":
            return {**common, "requestHostname": row["domain"], "httpStatus": row["responseStatusCode"],
                    "route": row["requestPath"], "pathType": "func", "cacheResult": "MISS"}
        return {**common, "domain": row["domain"], "source": "function", "level": row["level"],
                "message": row["message"], "stream": "stderr" if row["level"] == "error" else "stdout",
                "runtime": "nodejs", "isSystemLog": False, "truncated": False}

    # ------------------------------------------------------------------ promote / rollback
    def _alias_job(self, request: Request, kind: str) -> dict[str, Any]:
        project = self.lab.project(request.params["projectId"])
        deployment = self.lab.deployment(request.params["deploymentId"])
        return self.lab.request_alias_job(project, deployment, kind)

    def promote(self, request: Request) -> Response:
        # 202 would tell the CLI the promote waits behind a rolling release; the lab has none.
        self._alias_job(request, "promote")
        return Response(201, None)

    def rollback_v9(self, request: Request) -> Response:
        self._alias_job(request, "rollback")
        return Response(201, {})

    def rollback_v1(self, request: Request) -> Response:
        description = _query(request, "description")
        self._alias_job(request, "rollback")
        if description:
            project = self.lab.project(request.params["projectId"])
            project["rollbackDescription"] = {"userId": USER_ID, "username": USERNAME,
                                              "description": description[:250], "createdAt": now_ms()}
            self.lab.store.put("project", project)
        return Response(201, None)

    def promote_aliases(self, request: Request) -> Response:
        project = self.lab.project(request.params["projectId"])
        aliases = [{"alias": a["alias"], "status": "SUCCESS", "deploymentId": a["deploymentId"]}
                   for a in self.lab.aliases() if a["projectId"] == project["id"] and a["alias"] in project["domains"]]
        if _query(request, "failedOnly") in ("true", "1"):
            aliases = []
        return Response(200, {"aliases": aliases, "pagination": {"count": len(aliases), "next": None,
                                                                  "prev": None}})

    # ------------------------------------------------------------------ aliases
    @staticmethod
    def _iso(ms: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"

    def deployment_aliases(self, request: Request) -> Response:
        deployment = self.lab.deployment(request.params["id"])
        aliases = [{"uid": a["uid"], "alias": a["alias"], "created": self._iso(a["createdAt"]),
                    "redirect": None, "protectionBypass": {}} for a in self.lab.aliases(deployment["id"])]
        return Response(200, {"aliases": aliases})

    def assign_alias(self, request: Request) -> Response:
        deployment = self.lab.deployment(request.params["id"])
        body = request.json()
        alias = str((body or {}).get("alias") or "")
        if not alias:
            raise VercelError(400, "bad_request", "Invalid request: missing required property `alias`.")
        if deployment["readyState"] != "READY":
            raise VercelError(400, "deployment_not_ready", "The deployment is not READY and can not be aliased.")
        project = self.lab.project(deployment["projectId"])
        owner = next((p for p in self.lab.docs["project"].values()
                      if alias.lower() in p["domains"] and p["id"] != project["id"]), None)
        if owner is not None:
            raise VercelError(409, "alias_in_use", f"The alias {alias} is already in use by another project.")
        doc = self.lab.set_alias(deployment, alias)
        if doc["alias"] == project["domains"][0]:
            # Pointing the production domain by hand is what the runbooks call a rollback.
            with self.lab.lock:
                project.update(productionDeploymentId=deployment["id"], updatedAt=now_ms())
                self.lab.store.put("project", project)
        return Response(200, {"uid": doc["uid"], "alias": doc["alias"], "created": self._iso(doc["createdAt"]),
                              "oldDeploymentId": doc["oldDeploymentId"]})

    def list_aliases(self, request: Request) -> Response:
        aliases = self.lab.aliases()
        project_id = _query(request, "projectId")
        if project_id:
            project = self.lab.project(project_id)
            aliases = [a for a in aliases if a["projectId"] == project["id"]]
        domain = _query(request, "domain")
        if domain:
            aliases = [a for a in aliases if a["alias"] == domain or a["alias"].endswith("." + domain)]
        limit = min(max(_int_query(request, "limit") or 20, 1), 100)
        page = aliases[:limit]
        body = [{"alias": a["alias"], "created": self._iso(a["createdAt"]), "createdAt": a["createdAt"],
                 "deploymentId": a["deploymentId"], "projectId": a["projectId"], "uid": a["uid"],
                 "updatedAt": a["updatedAt"],
                 "deployment": {"id": a["deploymentId"], "url": self.lab.docs["deployment"][a["deploymentId"]]["url"]}
                 if a["deploymentId"] in self.lab.docs["deployment"] else None}
                for a in page]
        more = len(aliases) > limit
        return Response(200, {"aliases": body, "pagination": {
            "count": len(body), "next": page[-1]["createdAt"] if more else None,
            "prev": page[0]["createdAt"] if page else None}})

    def get_domain(self, request: Request) -> Response:
        """The team's custom domains (the projects' domains outside vercel.app)."""
        name = request.params["domain"].lower()
        project = next((p for p in self.lab.docs["project"].values()
                        if name in p["domains"] and not name.endswith(".vercel.app")), None)
        apex = name.split(".", name.count(".") - 1)[-1] if name.count(".") > 1 else name
        if project is None or name != apex:
            raise VercelError(404, "not_found", f"Domain not found: {name}")
        return Response(200, {"domain": {
            "suffix": False, "verified": True, "nameservers": ["ns1.vercel-dns.com", "ns2.vercel-dns.com"],
            "intendedNameservers": ["ns1.vercel-dns.com", "ns2.vercel-dns.com"], "customNameservers": [],
            "creator": {"username": USERNAME, "email": USER_EMAIL, "id": USER_ID},
            "teamId": TEAM_ID, "boughtAt": None, "name": name, "createdAt": project["createdAt"], "expiresAt": None,
            "id": "dom_" + hashlib.sha1(name.encode()).hexdigest()[:20], "serviceType": "external",
            "userId": USER_ID}})

    def delete_alias(self, request: Request) -> Response:
        ident = request.params["aliasId"]
        alias = next((a for a in self.lab.aliases() if ident in (a["uid"], a["alias"])), None)
        if alias is None:
            raise VercelError(404, "not_found", "Alias not found")
        self.lab.remove_alias(alias)
        return Response(200, {"status": "SUCCESS"})

    # ------------------------------------------------------------------ env vars
    @staticmethod
    def _env_json(env: dict[str, Any], decrypt: bool) -> dict[str, Any]:
        value = env["value"]
        if env["type"] == "sensitive":
            value = ""  # never returned, not even with decrypt
        elif env["type"] in ("encrypted", "secret") and not decrypt:
            value = base64.b64encode(hashlib.sha256(f"{env['id']}:{value}".encode()).digest()).decode()
        body = {"id": env["id"], "key": env["key"], "value": value, "type": env["type"], "target": env["target"],
                "configurationId": None, "createdAt": env["createdAt"], "updatedAt": env["updatedAt"],
                "createdBy": env.get("createdBy"), "updatedBy": None,
                "decrypted": bool(decrypt and env["type"] in ("encrypted", "secret"))}
        for name in ("gitBranch", "comment"):
            if env.get(name):
                body[name] = env[name]
        return body

    def list_env(self, request: Request) -> Response:
        project = self.lab.project(request.params["idOrName"])
        decrypt = _query(request, "decrypt") in ("true", "1")
        envs = self.lab.envs(project)
        branch = _query(request, "gitBranch")
        if branch:
            envs = [e for e in envs if e.get("gitBranch") in (None, branch)]
        target = _query(request, "target")
        if target:
            envs = [e for e in envs if target in e["target"]]
        body = [self._env_json(e, decrypt) for e in envs]
        return Response(200, {"envs": body, "pagination": {"count": len(body), "next": None, "prev": None}})

    def create_env(self, request: Request) -> Response:
        project = self.lab.project(request.params["idOrName"])
        body = request.json()
        items = body if isinstance(body, list) else [body]
        upsert = _query(request, "upsert") in ("true", "1")
        created, failed = [], []
        for item in items:
            try:
                created.append(self._env_json(self.lab.upsert_env(project, item if isinstance(item, dict) else {},
                                                                  upsert), False))
            except VercelError as error:
                if len(items) == 1:
                    raise
                failed.append({"error": {"code": error.code, "message": error.message,
                                         "key": str(item.get("key")) if isinstance(item, dict) else None}})
        return Response(201, {"created": created[0] if not isinstance(body, list) else created, "failed": failed})

    def get_env(self, request: Request) -> Response:
        project = self.lab.project(request.params["idOrName"])
        return Response(200, self._env_json(self.lab.env(project, request.params["id"]), True))

    def edit_env(self, request: Request) -> Response:
        project = self.lab.project(request.params["idOrName"])
        env = self.lab.edit_env(project, request.params["id"], request.json() or {})
        return Response(200, self._env_json(env, False))

    def delete_env(self, request: Request) -> Response:
        project = self.lab.project(request.params["idOrName"])
        return Response(200, self._env_json(self.lab.delete_env(project, request.params["id"]), False))


def build_log(deployment: dict[str, Any], moment: int) -> list[tuple[int, str, str]]:
    """The build output written so far: (ms, event type, text)."""
    start, ready = deployment["buildingAt"], deployment["ready"]
    if deployment["buildSkipped"] or deployment.get("seeded"):
        start = min(start, ready - 4)
    span = max(ready - start, 4)
    commit = deployment["meta"].get("githubCommitSha", "")[:7]
    lines = [(start, "stdout", f"Cloning github.com/{TEAM_SLUG}/{deployment['name']} (Branch: "
                               f"{deployment['meta'].get('githubCommitRef', 'main')}, Commit: {commit})"
              if commit else f"Uploading {deployment['name']} files"),
             (start + span // 4, "stdout", "Running \"vercel build\""),
             (start + span // 4 + 1, "command", "npm run build"),
             (start + span // 2, "stdout", "Creating an optimized production build ...")]
    if deployment["outcome"] == "fail":
        lines += [(ready - 2, "stderr", "Error: Build failed because of webpack errors"),
                  (ready - 1, "stderr", "Command \"npm run build\" exited with 1"),
                  (ready, "exit", "Build failed")]
    else:
        lines += [(ready - 2, "stdout", "Compiled successfully"),
                  (ready - 1, "stdout", "Build Completed in /vercel/output"),
                  (ready, "stdout", f"Deployment completed: https://{deployment['url']}")]
    if deployment["readyState"] == "CANCELED":
        cut = deployment.get("canceledAt", moment)
        return [line for line in lines if line[0] <= cut] + [(cut, "stderr", "Build canceled")]
    return [line for line in lines if line[0] <= moment] if deployment["readyState"] not in FINAL_STATES else lines


def served_url(deployment: dict[str, Any]) -> str:
    return f"{domain_url()}/{deployment['url']}/"
