"""Routes outside the Platform API: signed streams and blobs, and the lab's admin knobs."""

from __future__ import annotations

import hmac
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .backups_api import sign
from .httpcore import ApiError, Faults, Request, Response, Router, not_found
from .lab import AppSpec, Lab
from .model import App, LogLine


def _matches(line: LogLine, dyno: str | None, source: str | None) -> bool:
    if source and line.source != source:
        return False
    if dyno and not (line.dyno == dyno or line.dyno.startswith(dyno + ".")):
        return False
    return True


class LabApi:
    def __init__(self, lab: Lab, router: Router) -> None:
        self.lab = lab
        self.router = router

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/__logs/{session}", self.stream_logs, schema=False, public=True)
        add("GET", "/__streams/builds/{build}", self.stream_build, schema=False, public=True)
        add("GET", "/__blobs/backups/{file}", self.download_backup, schema=False, public=True)
        add("GET", "/__lab/health", self.health, schema=False, public=True)
        add("POST", "/__lab/reset", self.reset, schema=False, public=True)
        add("GET", "/__lab/routes", self.routes, schema=False, public=True)
        add("GET", "/__lab/apps", self.list_apps, schema=False, public=True)
        add("POST", "/__lab/apps", self.create_app, schema=False, public=True)
        add("GET", "/__lab/apps/{app}", self.app_state, schema=False, public=True)
        add("DELETE", "/__lab/apps/{app}", self.delete_app, schema=False, public=True)
        add("POST", "/__lab/apps/{app}/db-latency", self.db_latency, schema=False, public=True)
        add("POST", "/__lab/apps/{app}/knobs", self.knobs, schema=False, public=True)
        add("POST", "/__lab/apps/{app}/scheduled-backup", self.scheduled_backup, schema=False, public=True)
        add("GET", "/__lab/apps/{app}/logs", self.recent_logs, schema=False, public=True)
        add("GET", "/__lab/requests", self.requests, schema=False, public=True)
        add("GET", "/__lab/faults", self.get_faults, schema=False, public=True)
        add("POST", "/__lab/faults", self.set_faults, schema=False, public=True)
        add("DELETE", "/__lab/faults", self.clear_faults, schema=False, public=True)
        add("POST", "/__lab/rate-limit", self.rate_limit, schema=False, public=True)

    # ------------------------------------------------------------------ streams (signed URLs on Heroku)
    def stream_logs(self, request: Request) -> Response:
        with self.lab.lock:
            session = self.lab.log_sessions.get(request.params["session"])
        if session is None:
            raise not_found("log session")
        app = self.lab.app(session["app"])
        sse = "text/event-stream" in request.header("Accept")
        return Response(200, stream=self._log_lines(app, session, sse),
                        content_type="text/event-stream" if sse else "text/plain; charset=utf-8")

    def _log_lines(self, app: App, session: dict[str, Any], sse: bool) -> Iterator[bytes]:
        dyno, source = session["dyno"], session["source"]

        def render(line: LogLine) -> bytes:
            text = line.render()
            return (f"data: {text}\n\n" if sse else text + "\n").encode()

        with self.lab.lock:
            backlog = [line for line in app.logs if _matches(line, dyno, source)][-session["lines"]:]
            last_seq = app.logs[-1].seq if app.logs else 0
        for line in backlog:
            yield render(line)
        if not session["tail"]:
            return
        deadline = time.monotonic() + 600
        oneoff = app.oneoffs.get(dyno) if dyno else None
        while time.monotonic() < deadline:
            with self.lab.changed:
                fresh = [line for line in app.logs if line.seq > last_seq]
                if not fresh:
                    self.lab.changed.wait(timeout=1.0)
                    fresh = [line for line in app.logs if line.seq > last_seq]
                finished = oneoff is not None and oneoff.finished.is_set()
            if fresh:
                last_seq = fresh[-1].seq
            for line in fresh:
                if _matches(line, dyno, source):
                    yield render(line)
            if not fresh and sse:
                yield b": keep-alive\n\n"
            if finished:
                return

    def stream_build(self, request: Request) -> Response:
        with self.lab.lock:
            build = next((b for app in self.lab.apps.values() for b in app.builds.values()
                          if b.id == request.params["build"]), None)
        if build is None:
            raise not_found("build")

        def lines() -> Iterator[bytes]:
            sent = 0
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                with self.lab.changed:
                    fresh = build.output[sent:]
                    done = build.status != "pending"
                    if not fresh and not done:
                        self.lab.changed.wait(timeout=1.0)
                        continue
                for line in fresh:
                    yield (line + "\n").encode()
                sent += len(fresh)
                if done and sent >= len(build.output):
                    return

        return Response(200, stream=lines(), content_type="text/plain; charset=utf-8")

    def download_backup(self, request: Request) -> Response:
        path = f"/__blobs/backups/{request.params['file']}"
        expires = request.query.get("expires", ["0"])[-1]
        signature = request.query.get("signature", [""])[-1]
        valid_signature = expires.isdigit() and int(expires) > time.time() and hmac.compare_digest(
            signature, sign(path, int(expires)))
        if not valid_signature and request.token not in self.lab.tokens:
            raise ApiError(403, "forbidden", "Request has expired or the signature does not match.")
        ident = request.params["file"].removesuffix(".dump")
        with self.lab.lock:
            transfer = next((t for app in self.lab.apps.values() for t in app.transfers
                             if t.uuid == ident and t.deleted_at is None and t.to_type == "gof3r"), None)
        if transfer is None or not transfer.file or not Path(transfer.file).exists():
            raise not_found("backup")
        return Response(200, Path(transfer.file).read_bytes(), content_type="application/octet-stream")

    # ------------------------------------------------------------------ admin
    def health(self, request: Request) -> Response:
        with self.lab.lock:
            apps = sorted(self.lab.apps)
        return Response(200, {"status": "ok", "apps": apps, "uptime": round(time.time() - self.lab.started, 1),
                              "last_request_seq": self.lab.requests.last_seq})

    def reset(self, request: Request) -> Response:
        self.lab.reset()
        return self.health(request)

    def routes(self, request: Request) -> Response:
        return Response(200, [{"method": r.method, "template": r.template, "schema_href": r.schema_href,
                               "public": r.public} for r in self.router.routes])

    def list_apps(self, request: Request) -> Response:
        with self.lab.lock:
            return Response(200, [self._state(app) for app in self.lab.apps.values()])

    def _state(self, app: App) -> dict[str, Any]:
        current = app.current_release()
        return {
            "name": app.name, "id": app.id, "kind": app.kind, "maintenance": app.maintenance,
            "current_release": current.version if current else None,
            "current_release_runtime": current.runtime if current else None,
            "release_schema_version": current.schema_version if current else None,
            "releases": [{"version": r.version, "status": r.status, "description": r.description}
                         for r in app.releases],
            "formation": {f.type: {"quantity": f.quantity, "size": f.size} for f in app.formation.values()},
            "config_vars": app.config_now(), "knobs": vars(app.knobs), "mics": app.mics,
            "dynos_booted_at": app.dynos_booted_at,
            "oneoffs": {d.name: {"command": d.command, "state": d.state, "exit_status": d.exit_status}
                        for d in app.oneoffs.values()},
            "addons": [{"id": a.id, "name": a.name, "plan": a.plan} for a in app.addons],
            "transfers": [{"num": t.num, "uuid": t.uuid, "from_type": t.from_type, "to_type": t.to_type,
                           "succeeded": t.succeeded, "finished": t.finished_at is not None,
                           "deleted": t.deleted_at is not None} for t in app.transfers],
            "schedules": [s.to_api() for s in app.schedules],
        }

    def app_state(self, request: Request) -> Response:
        app = self.lab.app(request.params["app"])
        with self.lab.lock:
            return Response(200, self._state(app))

    def create_app(self, request: Request) -> Response:
        app = self.lab.create_app(AppSpec.from_json(request.json()))
        with self.lab.lock:
            return Response(201, self._state(app))

    def delete_app(self, request: Request) -> Response:
        app = self.lab.app(request.params["app"])
        with self.lab.lock:
            del self.lab.apps[app.name]
            for dyno in app.oneoffs.values():
                dyno.finished.set()
        if app.postgres() is not None:
            from . import database
            database.drop_database(database.database_for(app.name))
        return Response(200, {"deleted": app.name})

    def db_latency(self, request: Request) -> Response:
        body = request.json()
        app = self.lab.app(request.params["app"])
        with self.lab.lock:
            knobs = self.lab.set_knobs(app, {"db_latency_ms": body.get("ms", 0)})
            return Response(200, vars(knobs))

    def knobs(self, request: Request) -> Response:
        app = self.lab.app(request.params["app"])
        knobs = self.lab.set_knobs(app, request.json())
        return Response(200, vars(knobs))

    def scheduled_backup(self, request: Request) -> Response:
        """Run the app's schedule now (the lab has no 02:00 clock of its own)."""
        app = self.lab.app(request.params["app"])
        if not app.schedules:
            raise ApiError(422, "invalid_params", "The app has no backup schedule.")
        transfer = self.lab.start_capture(app, scheduled=True)
        with self.lab.lock:
            return Response(201, transfer.to_api(False))

    def recent_logs(self, request: Request) -> Response:
        app = self.lab.app(request.params["app"])
        count = int(request.query.get("n", ["200"])[-1])
        with self.lab.lock:
            lines = [line.render() for line in list(app.logs)[-count:]]
        return Response(200, "\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")

    def requests(self, request: Request) -> Response:
        since = int(request.query.get("since", ["0"])[-1] or 0)
        records = self.lab.requests.since(since)
        return Response(200, {"last_seq": self.lab.requests.last_seq, "requests": [r.to_api() for r in records]})

    def get_faults(self, request: Request) -> Response:
        return Response(200, self.lab.faults.to_api())

    def set_faults(self, request: Request) -> Response:
        body = request.json()
        faults = Faults(latency_ms=int(body.get("latency_ms", 0)), error_rate=float(body.get("error_rate", 0.0)),
                        error_status=int(body.get("error_status", 503)),
                        rate_limit_burst=int(body.get("rate_limit_burst", 0)), seed=body.get("seed"))
        faults.rng = random.Random(faults.seed)
        with self.lab.lock:
            self.lab.faults = faults
        return Response(200, faults.to_api())

    def clear_faults(self, request: Request) -> Response:
        with self.lab.lock:
            self.lab.faults = Faults()
        return Response(200, self.lab.faults.to_api())

    def rate_limit(self, request: Request) -> Response:
        body = request.json()
        self.lab.limiter.configure(capacity=body.get("capacity"), refill_per_minute=body.get("refill_per_minute"),
                                   remaining=body.get("remaining"))
        return Response(200, {"capacity": self.lab.limiter.capacity,
                              "refill_per_minute": self.lab.limiter.refill_per_minute})
