"""The lab's admin API under ``/__lab/`` (no auth): reset, state, knobs, faults, request log."""

from __future__ import annotations

import random
from typing import Any

from heroku.httpcore import Faults, Request, Response, Router

from .lab import Lab, ProjectSpec, VercelError
from .services import reset_databases


class LabApi:
    def __init__(self, lab: Lab, router: Router) -> None:
        self.lab = lab
        self.router = router

    def register(self, router: Router) -> None:
        for method, path, handler in (
                ("GET", "/__lab/health", self.health), ("POST", "/__lab/reset", self.reset),
                ("GET", "/__lab/routes", self.routes), ("GET", "/__lab/projects", self.projects),
                ("GET", "/__lab/projects/{project}", self.project_state),
                ("POST", "/__lab/projects", self.add_project),
                ("GET", "/__lab/requests", self.requests), ("GET", "/__lab/knobs", self.get_knobs),
                ("POST", "/__lab/knobs", self.set_knobs), ("GET", "/__lab/faults", self.get_faults),
                ("POST", "/__lab/faults", self.set_faults), ("DELETE", "/__lab/faults", self.clear_faults),
                ("POST", "/__lab/rate-limit", self.rate_limit)):
            router.add(method, path, handler, schema=False, public=True)

    def health(self, request: Request) -> Response:
        return Response(200, {"status": "ok", "projects": sorted(p["name"] for p in self.lab.docs["project"].values()),
                              "last_request_seq": self.lab.requests.last_seq})

    def reset(self, request: Request) -> Response:
        reset_databases()
        self.lab.reset()
        return self.health(request)

    def routes(self, request: Request) -> Response:
        return Response(200, [{"method": r.method, "path": r.template, "spec": r.schema_href is not None}
                              for r in self.router.routes if not r.template.startswith("/__")])

    def projects(self, request: Request) -> Response:
        return Response(200, [self._state(p) for p in self.lab.docs["project"].values()])

    def project_state(self, request: Request) -> Response:
        return Response(200, self._state(self.lab.project(request.params["project"])))

    def add_project(self, request: Request) -> Response:
        """``{"name", "domains"?, "env"?: [{key, value, type, target}], "deployments"?}``: a project with
        READY production deployments (the last one live), as the seed fixture makes them."""
        body = request.json() or {}
        name = str(body.get("name") or "")
        if not name:
            raise VercelError(400, "bad_request", "name is required")
        spec = ProjectSpec(name, str(body.get("app") or name), list(body.get("domains") or [f"{name}.vercel.app"]),
                           [dict(e) for e in body.get("env") or []], max(1, int(body.get("deployments", 1))))
        return Response(201, self._state(self.lab.add_project(spec)))

    def _state(self, project: dict[str, Any]) -> dict[str, Any]:
        """Everything, sensitive values included: the tests' view of the truth."""
        lab = self.lab
        with lab.lock:
            lab.settle()
            deployments = lab.deployments(project["id"])
            return {**project, "builds_today": lab.builds_today(project),
                    "env": {f"{e['key']}@{','.join(e['target'])}": e["value"] for e in lab.envs(project)},
                    "envs": lab.envs(project),
                    "deployments": [{k: v for k, v in d.items() if k != "source"} for d in deployments],
                    "aliases": {a["alias"]: a["deploymentId"] for a in lab.aliases() if a["projectId"] == project["id"]}}

    def requests(self, request: Request) -> Response:
        since = int((request.query.get("since") or ["0"])[-1])
        return Response(200, [r.to_api() for r in self.lab.requests.since(since)])

    def get_knobs(self, request: Request) -> Response:
        return Response(200, self.lab.knobs_api())

    def set_knobs(self, request: Request) -> Response:
        self.lab.set_knobs(request.json() or {})
        return self.get_knobs(request)

    def get_faults(self, request: Request) -> Response:
        return Response(200, self.lab.faults.to_api())

    def set_faults(self, request: Request) -> Response:
        body = request.json() or {}
        seed = body.get("seed")
        faults = Faults(latency_ms=int(body.get("latency_ms", 0)), error_rate=float(body.get("error_rate", 0)),
                        error_status=int(body.get("error_status", 500)),
                        rate_limit_burst=int(body.get("rate_limit_burst", 0)), seed=seed,
                        rng=random.Random(seed))
        if not 0 <= faults.error_rate <= 1:
            raise VercelError(400, "bad_request", "error_rate is between 0 and 1")
        with self.lab.lock:
            self.lab.faults = faults
        return self.get_faults(request)

    def clear_faults(self, request: Request) -> Response:
        with self.lab.lock:
            self.lab.faults = Faults()
        return self.get_faults(request)

    def rate_limit(self, request: Request) -> Response:
        body = request.json() or {}
        with self.lab.lock:
            self.lab.rate_limits = {str(k): int(v) for k, v in (body.get("limits") or {}).items()}
            self.lab.rate_window_seconds = int(body.get("window_seconds", 60))
            self.lab.rate_windows = {}
            return Response(200, {"limits": self.lab.rate_limits, "window_seconds": self.lab.rate_window_seconds})
