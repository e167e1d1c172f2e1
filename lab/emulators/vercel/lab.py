"""The Vercel lab's state machine: projects, deployments, env vars, aliases and alias jobs.

Deployment progress and alias jobs are driven by time, not threads: ``settle()`` (run before
every request) moves each deployment from QUEUED to BUILDING to READY or ERROR once its
moments have passed, and finishes promote/rollback jobs, so an emulator restart resumes them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from atlas import CLUSTERS, cluster_uri
from heroku.httpcore import Faults, RequestLog

from . import TEAM_ID, TEAM_SLUG, USER_ID, state_dir
from .store import Store

ENV_TARGETS = ("production", "preview", "development")
ENV_TYPES = ("plain", "encrypted", "sensitive", "secret", "system")
FINAL_STATES = ("READY", "ERROR", "CANCELED")
DAY_MS = 86_400_000


class VercelError(Exception):
    """Rendered as Vercel's error body ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def stable_id(prefix: str, *parts: object) -> str:
    return f"{prefix}_" + hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:24]


@dataclass
class Knobs:
    """Lab knobs (``POST /__lab/knobs``)."""

    queue_ms: int = 300
    build_ms: int = 1200
    alias_job_ms: int = 800
    daily_build_quota: int = 100
    next_builds: list[str] = field(default_factory=list)  # outcomes for the next builds: ok, fail, unhealthy


@dataclass
class ProjectSpec:
    name: str
    app: str
    domains: list[str]
    env: list[dict[str, Any]]
    deployments: int = 3


def fixzit_mongodb_uri() -> str:
    """fixzit's cluster in the lab: the Atlas lab's fixzit cluster (nx-27017, lab/atlas, 18311), whose
    port ATLAS_EMU_FIXZIT_PORT moves for a test instance. No credentials: nx-27017 has no auth."""
    return next(cluster_uri(spec) for spec in CLUSTERS if spec["app"] == "fixzit")


def seed_fixture(database_url: str, redis_url: str) -> list[ProjectSpec]:
    """mysetlist (seed 001) and fixzit (seed 004) as their runbooks describe them; no real secrets."""
    everywhere = list(ENV_TARGETS)
    mysetlist = ProjectSpec("mysetlist-sonnet", "mysetlist", ["mysetlist-sonnet.vercel.app"], [
        {"key": "DATABASE_URL", "value": database_url, "type": "encrypted", "target": ["production", "preview"]},
        {"key": "NEXT_PUBLIC_SUPABASE_URL", "value": "http://127.0.0.1:54321", "type": "plain", "target": everywhere},
        {"key": "NEXT_PUBLIC_SUPABASE_ANON_KEY", "value": "lab-anon-key-not-a-secret", "type": "plain",
         "target": everywhere},
        {"key": "SUPABASE_SERVICE_ROLE_KEY", "value": "lab-service-role-key-not-a-secret", "type": "sensitive",
         "target": ["production", "preview"]},
        {"key": "SPOTIFY_CLIENT_ID", "value": "lab-spotify-client", "type": "encrypted", "target": everywhere},
        {"key": "CRON_SECRET", "value": "lab-cron-secret", "type": "sensitive", "target": ["production"]},
    ], deployments=4)
    fixzit = ProjectSpec("fixzit", "fixzit", ["fixzit.com", "www.fixzit.com", "fixzit.vercel.app"], [
        {"key": "REDIS_URL", "value": redis_url, "type": "encrypted", "target": ["production", "preview"]},
        {"key": "MONGODB_URI", "value": fixzit_mongodb_uri(), "type": "encrypted", "target": ["production"]},
        {"key": "NEXTAUTH_URL", "value": "https://fixzit.com", "type": "plain", "target": ["production"]},
        {"key": "NEXTAUTH_SECRET", "value": "lab-nextauth-secret", "type": "sensitive", "target": ["production"]},
        {"key": "FEATURE_NEW_DASHBOARD", "value": "enabled", "type": "plain", "target": everywhere},
        {"key": "FEATURE_AI_ASSISTANT", "value": "disabled", "type": "plain", "target": everywhere},
        {"key": "FEATURE_BULK_EXPORT", "value": "enabled", "type": "plain", "target": everywhere},
    ], deployments=3)
    return [mysetlist, fixzit]


class Lab:
    """All emulator state; one re-entrant lock guards it."""

    def __init__(self, tokens: set[str], store: Store | None = None) -> None:
        self.lock = threading.RLock()
        self.tokens = set(tokens)
        self.store = store or Store(state_dir() / "vercel.db")
        self.knobs = Knobs()
        self.faults = Faults()
        self.requests = RequestLog()
        # (token, limit key) -> (window start s, used); per-endpoint limits, overridable by the lab.
        self.rate_windows: dict[tuple[str, str], tuple[float, int]] = {}
        self.rate_limits: dict[str, int] = {}
        self.rate_window_seconds = 60
        # What each deployment's domain served (in memory, like Vercel's short-lived runtime logs).
        self.runtime_logs: dict[str, list[dict[str, Any]]] = {}
        self.database_url = ""
        self.redis_url = ""

    # ------------------------------------------------------------------ lookups
    @property
    def docs(self) -> dict[str, dict[str, dict[str, Any]]]:
        return self.store.docs

    def project(self, ident: str) -> dict[str, Any]:
        for project in self.docs["project"].values():
            if ident in (project["id"], project["name"]):
                return project
        raise VercelError(404, "not_found", "Project not found")

    def deployment(self, ident: str) -> dict[str, Any]:
        ident = ident.removeprefix("https://").removeprefix("http://").rstrip("/")
        found = self.docs["deployment"].get(ident)
        if found:
            return found
        for deployment in self.docs["deployment"].values():
            if ident == deployment["url"]:
                return deployment
        alias = next((a for a in self.docs["alias"].values() if a["alias"] == ident), None)
        if alias and alias["deploymentId"] in self.docs["deployment"]:
            return self.docs["deployment"][alias["deploymentId"]]
        raise VercelError(404, "not_found", "Deployment not found")

    def envs(self, project: dict[str, Any]) -> list[dict[str, Any]]:
        return sorted((e for e in self.docs["env"].values() if e["projectId"] == project["id"]),
                      key=lambda e: e["createdAt"])

    def deployments(self, project_id: str | None = None) -> list[dict[str, Any]]:
        found = [d for d in self.docs["deployment"].values() if project_id in (None, d["projectId"])]
        return sorted(found, key=lambda d: d["createdAt"], reverse=True)

    def aliases(self, deployment_id: str | None = None) -> list[dict[str, Any]]:
        found = [a for a in self.docs["alias"].values() if deployment_id in (None, a["deploymentId"])]
        return sorted(found, key=lambda a: a["createdAt"], reverse=True)

    def serving(self, host: str) -> dict[str, Any] | None:
        """The deployment a domain (an alias or a deployment URL) serves right now."""
        with self.lock:
            self.settle()
            try:
                return self.deployment(host)
            except VercelError:
                return None

    # ------------------------------------------------------------------ fixture
    def reset(self) -> None:
        with self.lock:
            self.store.clear()
            self.knobs = Knobs()
            self.faults = Faults()
            self.rate_windows = {}
            self.rate_limits = {}
            self.runtime_logs = {}
            start = now_ms() - 30 * DAY_MS
            for index, spec in enumerate(seed_fixture(self.database_url, self.redis_url)):
                self._seed_project(spec, start + index * 3_600_000)

    def add_project(self, spec: ProjectSpec) -> dict[str, Any]:
        """A project of the lab's own (a bench's or a test's fleet), seeded like the fixture's."""
        with self.lock:
            if any(p["name"] == spec.name for p in self.docs["project"].values()):
                raise VercelError(409, "conflict", f"Project {spec.name} already exists")
            self._seed_project(spec, now_ms() - 30 * DAY_MS)
            return self.project(spec.name)

    def _seed_project(self, spec: ProjectSpec, created: int) -> None:
        project = {"id": stable_id("prj", spec.name), "name": spec.name, "app": spec.app, "accountId": TEAM_ID,
                   "createdAt": created, "updatedAt": created, "domains": spec.domains,
                   "productionDeploymentId": None, "lastAliasRequest": None, "lastRollbackTarget": None,
                   "autoAssign": True, "framework": "nextjs"}
        self.store.put("project", project)
        for number, env in enumerate(spec.env):
            self.store.put("env", {"id": stable_id("env", spec.name, env["key"]), "projectId": project["id"],
                                   "key": env["key"], "value": env["value"], "type": env["type"],
                                   "target": env["target"], "createdAt": created + number,
                                   "updatedAt": created + number, "createdBy": USER_ID})
        for number in range(spec.deployments):
            # Seeded history: READY production deployments a few days apart, the last one live.
            at = now_ms() - (spec.deployments - number) * 3 * DAY_MS
            sha = hashlib.sha1(f"{spec.name}:{number}".encode()).hexdigest()
            deployment = self._new_deployment(project, "production", at, {
                "gitSource": {"type": "github", "ref": "main", "sha": sha, "repoId": 100 + number}},
                {"githubCommitRef": "main", "githubCommitSha": sha,
                 "githubCommitMessage": f"Release {number + 1} of {spec.name}"}, "ok")
            deployment.update(readyState="READY", buildingAt=at + 300, ready=at + 45_000, seeded=True)
            self.store.put("deployment", deployment)
            self._assign_production(project, deployment, at + 45_000)

    # ------------------------------------------------------------------ deployments
    def _new_deployment(self, project: dict[str, Any], target: str | None, at: int, source: dict[str, Any],
                        meta: dict[str, str], outcome: str, skipped: bool = False) -> dict[str, Any]:
        ident = new_id("dpl")
        suffix = hashlib.sha1(ident.encode()).hexdigest()[:9]
        env_target = target if target == "production" else "preview"
        env = {e["key"]: e["value"] for e in self.envs(project) if env_target in e["target"]}
        return {"id": ident, "projectId": project["id"], "name": project["name"],
                "url": f"{project['name']}-{suffix}-{TEAM_SLUG}.vercel.app", "target": target, "createdAt": at,
                "buildingAt": at + self.knobs.queue_ms, "ready": at + self.knobs.queue_ms + self.knobs.build_ms,
                "readyState": "QUEUED", "outcome": outcome, "buildSkipped": skipped, "source": source,
                "meta": meta, "env": env, "creator": USER_ID, "errorCode": None, "errorMessage": None}

    def builds_today(self, project: dict[str, Any]) -> int:
        midnight = int(time.time() // 86400 * 86400 * 1000)
        return sum(1 for d in self.deployments(project["id"])
                   if d["createdAt"] >= midnight and not d["buildSkipped"] and not d.get("seeded"))

    def create_deployment(self, body: dict[str, Any], force_new: bool) -> dict[str, Any]:
        with self.lock:
            self.settle()
            redeploy_of = None
            if body.get("deploymentId"):
                redeploy_of = self.deployment(str(body["deploymentId"]))
                project = self.project(redeploy_of["projectId"])
            else:
                name = body.get("project") or body.get("name")
                if not name:
                    raise VercelError(400, "bad_request", "Invalid request: missing required property `name`.")
                project = self.project(str(name))
            target = body.get("target", redeploy_of["target"] if redeploy_of and "target" not in body else None)
            if target not in (None, "production", "staging", "preview"):
                raise VercelError(400, "bad_request", f"Invalid request: `target` should be one of production, "
                                                      f"staging, preview ({target}).")
            target = "production" if target == "production" else None
            if redeploy_of is not None:
                source, meta = dict(redeploy_of["source"]), dict(redeploy_of["meta"])
                meta["action"] = "redeploy"
                meta["originalDeploymentId"] = redeploy_of["id"]
            else:
                source, meta = self._source(body), {str(k): str(v) for k, v in (body.get("meta") or {}).items()}
                if "gitSource" in source:
                    meta.setdefault("githubCommitRef", str(source["gitSource"].get("ref") or ""))
                    if source["gitSource"].get("sha"):
                        meta.setdefault("githubCommitSha", str(source["gitSource"]["sha"]))
            if not force_new:
                building = next((d for d in self.deployments(project["id"]) if d["readyState"] not in FINAL_STATES
                                 and d["source"] == source and d["target"] == target), None)
                if building is not None:
                    return building
            used = self.builds_today(project)
            if used >= self.knobs.daily_build_quota:
                reset = int(time.time() // 86400 * 86400 + 86400)
                raise VercelError(429, "api-deployments-free-per-day",
                                  f"Resource is limited - try again in {max(1, (reset - int(time.time())) // 3600)}"
                                  f" hours (more than {self.knobs.daily_build_quota}, code: "
                                  f"\"api-deployments-free-per-day\").",
                                  extra={"limit": {"total": self.knobs.daily_build_quota, "remaining": 0,
                                                   "reset": reset, "resetMs": reset * 1000}})
            outcome = self._outcome(source)
            deployment = self._new_deployment(project, target, now_ms(), source, meta, outcome)
            self.store.put("deployment", deployment)
            return deployment

    def _source(self, body: dict[str, Any]) -> dict[str, Any]:
        if isinstance(body.get("gitSource"), dict):
            return {"gitSource": {"type": "github", **body["gitSource"]}}
        files = body.get("files")
        if isinstance(files, list) and files:
            return {"files": [{"file": str(f.get("file")), "sha": f.get("sha"), "size": f.get("size"),
                               "data": f.get("data") if f.get("file") == "lab.json" else None}
                              for f in files if isinstance(f, dict)]}
        raise VercelError(400, "missing_files", "Missing files")

    def _outcome(self, source: dict[str, Any]) -> str:
        """A queued knob outcome first, then a ``lab.json`` in the file set, else a good build."""
        if self.knobs.next_builds:
            return self.knobs.next_builds.pop(0)
        for item in source.get("files", []):
            if item["file"] == "lab.json" and item.get("data"):
                try:
                    lab = json.loads(item["data"])
                except ValueError:
                    continue
                if lab.get("build") == "fail":
                    return "fail"
                if lab.get("runtime") == "unhealthy":
                    return "unhealthy"
        return "ok"

    def cancel(self, deployment: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.settle()
            if deployment["readyState"] not in FINAL_STATES:
                deployment.update(readyState="CANCELED", canceledAt=now_ms())
                self.store.put("deployment", deployment)
            return deployment

    # ------------------------------------------------------------------ time
    def settle(self) -> None:
        """Advance deployments and alias jobs whose moment has come."""
        with self.lock:
            moment = now_ms()
            for deployment in list(self.docs["deployment"].values()):
                if deployment["readyState"] in FINAL_STATES:
                    continue
                self._advance(deployment, moment)
            for project in list(self.docs["project"].values()):
                job = project.get("lastAliasRequest")
                if job and job["jobStatus"] in ("pending", "in-progress") and moment >= job["dueAt"]:
                    self._finish_alias_job(project, job)

    def _advance(self, deployment: dict[str, Any], moment: int) -> None:
        if moment < deployment["buildingAt"]:
            return
        state = "BUILDING"
        if moment >= deployment["ready"]:
            state = "ERROR" if deployment["outcome"] == "fail" else "READY"
        if state == deployment["readyState"]:
            return
        deployment["readyState"] = state
        if state == "ERROR":
            deployment.update(errorCode="BUILD_FAILED", errorMessage="Command \"npm run build\" exited with 1")
        self.store.put("deployment", deployment)
        if state == "READY" and deployment["target"] == "production":
            project = self.project(deployment["projectId"])
            # After an instant rollback Vercel stops assigning production domains to new builds
            # until a promote; a redeploy then waits as a staged deployment.
            if project.get("autoAssign", True):
                self._assign_production(project, deployment, deployment["ready"])
            else:
                deployment["readySubstate"] = "STAGED"
                self.store.put("deployment", deployment)

    def _assign_production(self, project: dict[str, Any], deployment: dict[str, Any], at: int) -> None:
        previous = project.get("productionDeploymentId")
        for domain in project["domains"]:
            self.set_alias(deployment, domain, at)
        deployment["readySubstate"] = "PROMOTED"
        deployment["aliasAssignedAt"] = at
        self.store.put("deployment", deployment)
        if previous and previous in self.docs["deployment"] and previous != deployment["id"]:
            old = self.docs["deployment"][previous]
            old["readySubstate"] = "STAGED"
            self.store.put("deployment", old)
        project.update(productionDeploymentId=deployment["id"], updatedAt=at)
        self.store.put("project", project)

    def set_alias(self, deployment: dict[str, Any], alias: str, at: int | None = None) -> dict[str, Any]:
        with self.lock:
            alias = alias.removeprefix("https://").removeprefix("http://").rstrip("/")
            existing = next((a for a in self.docs["alias"].values() if a["alias"] == alias), None)
            doc = existing or {"id": stable_id("alias", alias), "uid": stable_id("alias", alias), "alias": alias,
                               "createdAt": at or now_ms()}
            old = doc.get("deploymentId")
            doc.update(deploymentId=deployment["id"], projectId=deployment["projectId"], updatedAt=at or now_ms())
            self.store.put("alias", doc)
            return {**doc, "oldDeploymentId": old if old != deployment["id"] else None}

    def remove_alias(self, alias: dict[str, Any]) -> None:
        with self.lock:
            self.store.delete("alias", alias["id"])

    # ------------------------------------------------------------------ promote / rollback
    def request_alias_job(self, project: dict[str, Any], deployment: dict[str, Any], kind: str) -> dict[str, Any]:
        """Promote or roll back: no build, the production domains move when the job finishes."""
        with self.lock:
            self.settle()
            if deployment["projectId"] != project["id"]:
                raise VercelError(400, "bad_request", "The deployment does not belong to this project.")
            if deployment["readyState"] != "READY":
                raise VercelError(400, "deployment_not_ready", "The deployment is not READY.")
            if kind == "rollback" and deployment["target"] != "production":
                raise VercelError(400, "invalid_rollback_target",
                                  "Only previous production deployments can be a rollback target.")
            current = project.get("productionDeploymentId")
            if deployment["id"] == current and not (project.get("lastAliasRequest") or {}).get("jobStatus") in (
                    "pending", "in-progress"):
                raise VercelError(409, "already_promoted" if kind == "promote" else "already_current",
                                  "The deployment is already the current production deployment.")
            at = now_ms()
            job = {"fromDeploymentId": current, "toDeploymentId": deployment["id"], "jobStatus": "pending",
                   "requestedAt": at, "type": kind, "dueAt": at + self.knobs.alias_job_ms}
            project.update(lastAliasRequest=job, updatedAt=at)
            if kind == "rollback":
                project.update(autoAssign=False, lastRollbackTarget={"fromDeploymentId": current,
                                                                      "toDeploymentId": deployment["id"],
                                                                      "jobStatus": "pending", "requestedAt": at})
            else:
                project.update(autoAssign=True, lastRollbackTarget=None)
            self.store.put("project", project)
            if self.knobs.alias_job_ms <= 0:
                self._finish_alias_job(project, job)
            return job

    def _finish_alias_job(self, project: dict[str, Any], job: dict[str, Any]) -> None:
        deployment = self.docs["deployment"].get(job["toDeploymentId"])
        if deployment is None:
            job["jobStatus"] = "failed"
        else:
            self._assign_production(project, deployment, now_ms())
            job["jobStatus"] = "succeeded"
        if project.get("lastRollbackTarget"):
            project["lastRollbackTarget"]["jobStatus"] = job["jobStatus"]
        self.store.put("project", project)

    # ------------------------------------------------------------------ env vars
    def upsert_env(self, project: dict[str, Any], item: dict[str, Any], upsert: bool) -> dict[str, Any]:
        key = str(item.get("key") or "")
        if not key or "value" not in item:
            raise VercelError(400, "bad_request", "Invalid request: missing required property `key` or `value`.")
        kind = item.get("type", "encrypted")
        if kind not in ENV_TYPES:
            raise VercelError(400, "bad_request", f"Invalid request: `type` should be one of {', '.join(ENV_TYPES)}.")
        targets = item.get("target") or []
        targets = [targets] if isinstance(targets, str) else list(targets)
        if not targets or any(t not in ENV_TARGETS for t in targets):
            raise VercelError(400, "bad_request", "Invalid request: `target` should be production, preview or "
                                                  "development.")
        if kind == "sensitive" and "development" in targets:
            raise VercelError(400, "bad_request", "Sensitive environment variables cannot target development.")
        branch = item.get("gitBranch") or None
        with self.lock:
            clash = [e for e in self.envs(project) if e["key"] == key and e.get("gitBranch") == branch
                     and set(e["target"]) & set(targets)]
            at = now_ms()
            if clash and not upsert:
                raise VercelError(400, "ENV_ALREADY_EXISTS",
                                  f"A variable with the name `{key}` already exists for the target "
                                  f"{', '.join(sorted(set(clash[0]['target']) & set(targets)))} on branch "
                                  f"{branch or 'undefined'}")
            if clash:
                env = clash[0]
                for other in clash[1:]:
                    self.store.delete("env", other["id"])
                env.update(value=str(item["value"]), type=kind, target=sorted(set(targets)), updatedAt=at)
            else:
                env = {"id": new_id("env")[:20], "projectId": project["id"], "key": key, "value": str(item["value"]),
                       "type": kind, "target": targets, "createdAt": at, "updatedAt": at, "createdBy": USER_ID}
                if branch:
                    env["gitBranch"] = branch
            if item.get("comment"):
                env["comment"] = str(item["comment"])
            self.store.put("env", env)
            return env

    def env(self, project: dict[str, Any], ident: str) -> dict[str, Any]:
        env = self.docs["env"].get(ident)
        if env is None or env["projectId"] != project["id"]:
            raise VercelError(404, "not_found", "Environment Variable not found")
        return env

    def edit_env(self, project: dict[str, Any], ident: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            env = self.env(project, ident)
            if "type" in body and body["type"] not in ENV_TYPES:
                raise VercelError(400, "bad_request", "Invalid request: unknown `type`.")
            for name in ("key", "value", "type", "gitBranch", "comment"):
                if name in body and body[name] is not None:
                    env[name] = str(body[name])
            if "target" in body:
                targets = [body["target"]] if isinstance(body["target"], str) else list(body["target"] or [])
                if not targets or any(t not in ENV_TARGETS for t in targets):
                    raise VercelError(400, "bad_request", "Invalid request: bad `target`.")
                env["target"] = targets
            env["updatedAt"] = now_ms()
            self.store.put("env", env)
            return env

    def delete_env(self, project: dict[str, Any], ident: str) -> dict[str, Any]:
        with self.lock:
            env = self.env(project, ident)
            self.store.delete("env", ident)
            return env

    def record_request(self, deployment: dict[str, Any], host: str, method: str, path: str, status: int,
                       message: str) -> None:
        with self.lock:
            rows = self.runtime_logs.setdefault(deployment["id"], [])
            rows.append({"level": "error" if status >= 500 else "info", "message": message,
                         "rowId": new_id("row"), "source": "serverless", "timestampInMs": now_ms(),
                         "domain": host, "messageTruncated": False, "requestMethod": method,
                         "requestPath": path, "responseStatusCode": status})
            del rows[:-1000]

    # ------------------------------------------------------------------ knobs
    def set_knobs(self, body: dict[str, Any]) -> Knobs:
        with self.lock:
            for name in ("queue_ms", "build_ms", "alias_job_ms", "daily_build_quota"):
                if name in body:
                    setattr(self.knobs, name, max(0, int(body[name])))
            if "next_builds" in body:
                outcomes = [str(o) for o in body["next_builds"] or []]
                if any(o not in ("ok", "fail", "unhealthy") for o in outcomes):
                    raise VercelError(400, "bad_request", "next_builds takes ok, fail or unhealthy")
                self.knobs.next_builds = outcomes
            return self.knobs

    def knobs_api(self) -> dict[str, Any]:
        return asdict(self.knobs)
