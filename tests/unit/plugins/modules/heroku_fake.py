# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small in-process stand-in of the Heroku APIs the heroku_* modules call (unit tests only).

It is a real HTTP server on 127.0.0.1 with state: apps, releases (with Range paging and
rollbacks that stay ``pending`` for a few polls), formation, dynos, one-off commands with a
log stream, config vars, builds, and Postgres transfers/schedules on the data API paths.
The lab emulator (lab/emulators/heroku) is the faithful one; integration tests use it.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import time
import typing as t
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from ansible.module_utils.testing import patch_module_args

TOKEN = "fake-heroku-token-7f3a9c"
EXIT_MARKER = re.compile("; echo \"\uFFFF heroku-command-exit-status: \\$\\?\"$")


def iso(n: int) -> str:
    return f"2025-11-{n:02d}T10:00:00Z"


@dataclass
class FakeApp:
    name: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    maintenance: bool = False
    releases: list[dict] = field(default_factory=list)
    formation: dict[str, dict] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    builds: list[dict] = field(default_factory=list)
    oneoffs: dict[str, dict] = field(default_factory=dict)
    transfers: list[dict] = field(default_factory=list)
    schedules: list[dict] = field(default_factory=list)
    addon: dict | None = None
    restarts: list[str] = field(default_factory=list)


class ApiFailure(Exception):
    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_id, self.message = status, error_id, message


class FakeHeroku:
    """State plus knobs. ``pending_polls``: GETs a new release/build/transfer stays unfinished."""

    def __init__(self) -> None:
        self.apps: dict[str, FakeApp] = {}
        self.log: list[dict[str, t.Any]] = []
        self.pending_polls = 1
        self.command_results: dict[str, tuple[list[str], int]] = {}
        self.build_result = "succeeded"
        self.transfer_result = True
        self.report_process_exit = True  # the platform's "Process exited with status N" log line
        self.stall_logs = 0.0  # seconds the log stream stays silent before it closes
        self.oneoff_state: str | None = None  # "up": new one-off dynos are listed as running
        self.lock = threading.RLock()
        self.counter = 0
        # (method, path pattern, how): the next matching request is done, then its answer is lost.
        self.lost_answers: list[tuple[str, str, str]] = []

    # -- fixtures -------------------------------------------------------------------

    def add_app(self, name: str, releases: int = 3, postgres: bool = True) -> FakeApp:
        app = FakeApp(name)
        for version in range(1, releases + 1):
            app.releases.append(self._release(app, version, f"Deploy {version:04x}", "succeeded"))
        self._make_current(app, app.releases[-1])
        app.formation = {
            "web": {"type": "web", "quantity": 1, "size": "Basic", "dyno_size": {"name": "Basic"},
                    "command": "npm start"},
            "worker": {"type": "worker", "quantity": 0, "size": "Basic", "dyno_size": {"name": "Basic"},
                       "command": "node worker.js"},
        }
        app.config = {"NODE_ENV": "production", "SECRET_KEY_BASE": "s3cr3t-value", "DATABASE_URL": "postgres://x"}
        if postgres:
            app.addon = {"id": str(uuid.uuid4()), "name": f"postgresql-{name}",
                         "plan": {"name": "heroku-postgresql:standard-0"}, "app": {"name": name}}
        self.apps[name] = app
        return app

    def add_backup(self, app: FakeApp, succeeded: bool = True, finished: bool = True) -> dict:
        num = len(app.transfers) + 1
        transfer = {
            "uuid": str(uuid.uuid4()), "num": num, "from_type": "pg_dump", "to_type": "gof3r",
            "from_name": "DATABASE", "to_name": "BACKUP", "to_url": f"https://blobs.invalid/{num}.dump",
            "from_url": "postgres://db", "created_at": iso(num), "started_at": iso(num),
            "finished_at": iso(num) if finished else None, "succeeded": succeeded if finished else False,
            "processed_bytes": 1000 * num, "source_bytes": 2000, "warnings": 0, "schedule": None,
            "logs": [{"level": "info", "message": f"backup {num} line {i}"} for i in range(7)],
            "_polls": 0 if finished else 10 ** 6,
        }
        app.transfers.append(transfer)
        return transfer

    def _release(self, app: FakeApp, version: int, description: str, status: str, slug: str | None = None) -> dict:
        return {"id": str(uuid.uuid4()), "version": version, "description": description, "status": status,
                "current": False, "eligible_for_rollback": True, "slug": {"id": slug or f"slug-{version}"},
                "created_at": iso(version % 28 + 1), "output_stream_url": f"https://out.invalid/{version}",
                "_polls": 0}

    def _make_current(self, app: FakeApp, release: dict) -> None:
        for other in app.releases:
            other["current"] = other is release

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict[str, t.Any]]:
        return [r for r in self.log if (method is None or r["method"] == method)
                and (path is None or r["path"] == path)]

    def lose_answer(self, method: str, path_pattern: str, how: str = "drop", times: int = 1) -> None:
        """The next ``times`` matching requests do their work, then the answer is lost.

        ``drop`` closes the connection without a word (the client sees a broken connection),
        ``503`` answers a server error, as a proxy does when the backend's answer times out.
        """
        self.lost_answers.extend([(method, path_pattern, how)] * times)

    def take_lost_answer(self, method: str, path: str) -> str | None:
        with self.lock:
            for index, (verb, pattern, how) in enumerate(self.lost_answers):
                if verb == method and re.fullmatch(pattern, path):
                    del self.lost_answers[index]
                    return how
        return None

    def writes(self) -> list[dict[str, t.Any]]:
        reads = ("GET",)
        lookups = ("/actions/addon-attachments/resolve", "/log-sessions")
        return [r for r in self.log if r["method"] not in reads and not r["path"].endswith(lookups)]

    # -- time passing ----------------------------------------------------------------

    def _tick(self, item: dict, app: FakeApp) -> None:
        """A GET of an unfinished item moves it forward once its polls are used up."""
        item["_polls"] = item.get("_polls", 0) - 1
        if item["_polls"] > 0:
            return
        if "version" in item and item["status"] == "pending":
            item["status"] = "succeeded"
            self._make_current(app, item)
        elif "source_blob" in item and item["status"] == "pending":
            item["status"] = self.build_result
            if self.build_result == "succeeded":
                release = self._new_release(app, f"Deploy {item['source_blob'].get('version')}", item["slug"]["id"])
                item["release"] = {"id": release["id"]}
        elif "num" in item and not item.get("finished_at"):
            item["started_at"] = item["started_at"] or iso(20)
            item["finished_at"] = iso(21)
            item["succeeded"] = self.transfer_result

    def _new_release(self, app: FakeApp, description: str, slug: str | None) -> dict:
        version = max(r["version"] for r in app.releases) + 1
        release = self._release(app, version, description, "pending", slug)
        release["_polls"] = self.pending_polls
        app.releases.append(release)
        if not self.pending_polls:
            release["status"] = "succeeded"
            self._make_current(app, release)
        return release

    # -- routing --------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict, headers: dict, body: t.Any) -> tuple[int, dict, t.Any]:
        with self.lock:
            self.log.append({"method": method, "path": path, "query": query, "headers": headers, "body": body})
            if headers.get("authorization") != f"Bearer {TOKEN}":
                raise ApiFailure(401, "unauthorized", "Invalid credentials provided.")
            for pattern, verb, handler in ROUTES:
                match = re.fullmatch(pattern, path)
                if match and verb == method:
                    return handler(self, *[unquote(g) for g in match.groups()], query=query, headers=headers,
                                   body=body)
            raise ApiFailure(404, "not_found", f"no fake route for {method} {path}")

    def app(self, ident: str) -> FakeApp:
        for app in self.apps.values():
            if ident in (app.name, app.id):
                return app
        raise ApiFailure(404, "not_found", "Couldn't find that app.")

    def app_of_addon(self, addon_id: str) -> FakeApp:
        for app in self.apps.values():
            if app.addon and app.addon["id"] == addon_id:
                return app
        raise ApiFailure(404, "not_found", "Couldn't find that database.")


def public(item: dict) -> dict:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def app_view(app: FakeApp) -> dict:
    return {"id": app.id, "name": app.name, "maintenance": app.maintenance, "web_url": f"https://{app.name}.invalid/"}


def r_apps(fake, **_):
    return 200, {}, [app_view(app) for app in sorted(fake.apps.values(), key=lambda a: a.name)]


def r_app(fake, ident, **_):
    return 200, {}, app_view(fake.app(ident))


def r_app_patch(fake, ident, body, **_):
    app = fake.app(ident)
    if "maintenance" in body:
        app.maintenance = bool(body["maintenance"])
    return 200, {}, app_view(app)


def r_releases(fake, ident, headers, **_):
    app = fake.app(ident)
    wanted = headers.get("range", "version ..; max=200")
    match = re.match(r"^(\]?)(?:version )?(\d*)\s*\.\.;\s*max=(\d+)(?:,\s*order=(\w+))?", wanted)
    exclusive, start, size, order = match.groups() if match else ("", "", "200", "desc")
    items = sorted(app.releases, key=lambda r: r["version"], reverse=(order or "asc") == "desc")
    if start:
        bound = int(start)
        if order == "desc":
            items = [r for r in items if r["version"] < bound or (not exclusive and r["version"] == bound)]
        else:
            items = [r for r in items if r["version"] > bound or (not exclusive and r["version"] == bound)]
    page = items[:int(size)]
    if len(items) > len(page):
        return 206, {"Next-Range": f"]{page[-1]['version']}..; max={size}, order={order}"}, [public(r) for r in page]
    return 200, {}, [public(r) for r in page]


def r_release(fake, ident, rel, **_):
    app = fake.app(ident)
    for release in app.releases:
        if rel in (release["id"], str(release["version"])):
            if release["status"] == "pending":
                fake._tick(release, app)
            return 200, {}, public(release)
    raise ApiFailure(404, "not_found", "Couldn't find that release.")


def r_rollback(fake, ident, body, **_):
    app = fake.app(ident)
    target = next((r for r in app.releases if r["id"] == body.get("release")), None)
    if target is None:
        raise ApiFailure(404, "not_found", "Couldn't find that release.")
    release = fake._new_release(app, f"Rollback to v{target['version']}", target["slug"]["id"])
    return 201, {}, public(release)


def r_formation(fake, ident, **_):
    return 200, {}, list(fake.app(ident).formation.values())


def r_formation_patch(fake, ident, body, **_):
    app = fake.app(ident)
    updated = []
    for update in body["updates"]:
        entry = app.formation.get(update["type"])
        if entry is None:
            raise ApiFailure(404, "not_found", "Couldn't find that process type.")
        if "quantity" in update:
            entry["quantity"] = int(update["quantity"])
        if "dyno_size" in update:
            name = update["dyno_size"]["name"]
            entry["size"] = name[0].upper() + name[1:]
            entry["dyno_size"] = {"name": entry["size"]}
        updated.append(entry)
    return 200, {}, updated


def r_dynos(fake, ident, **_):
    app = fake.app(ident)
    dynos = [{"name": f"{p}.{i}", "type": p, "state": "up", "size": e["size"]}
             for p, e in app.formation.items() for i in range(1, e["quantity"] + 1)]
    # One-off dynos finish at once here unless a test marks one as still running (state up).
    dynos += [{"name": o["name"], "type": "run", "state": o["state"], "command": o["command"]}
              for o in app.oneoffs.values() if o.get("state") in ("starting", "up")]
    return 200, {}, dynos


def r_dyno(fake, ident, name, **_):
    for dyno in r_dynos(fake, ident)[2]:
        if dyno["name"] == name:
            return 200, {}, dyno
    raise ApiFailure(404, "not_found", "Couldn't find that dyno.")


def r_addons(fake, ident, **_):
    app = fake.app(ident)
    return 200, {}, [app.addon] if app.addon else []


def r_restart_all(fake, ident, **_):
    fake.app(ident).restarts.append("all")
    return 202, {}, {}


def r_restart_type(fake, ident, ptype, **_):
    fake.app(ident).restarts.append(f"type:{ptype}")
    return 202, {}, {}


def r_restart_dyno(fake, ident, name, **_):
    fake.app(ident).restarts.append(f"dyno:{name}")
    return 202, {}, {}


def r_create_dyno(fake, ident, body, **_):
    app = fake.app(ident)
    fake.counter += 1
    name = f"run.{1000 + fake.counter}"
    command = EXIT_MARKER.sub("", body["command"])
    lines, status = fake.command_results.get(command, ([f"ran {command}"], 0))
    wrapped = body["command"] != command
    app.oneoffs[name] = {"name": name, "command": body["command"], "body": body, "lines": lines,
                         "status": status, "wrapped": wrapped, "state": fake.oneoff_state}
    return 201, {}, {"id": str(uuid.uuid4()), "name": name, "state": "starting", "type": "run",
                     "command": body["command"], "attach_url": None}


def r_log_session(fake, ident, body, **_):
    app = fake.app(ident)
    name = body.get("dyno_name")
    if name not in app.oneoffs:
        raise ApiFailure(422, "invalid_params", "unknown dyno")
    return 201, {}, {"id": str(uuid.uuid4()), "logplex_url": f"{fake.base_url}/__logs/{app.name}/{name}?sig=abc"}


def r_config(fake, ident, **_):
    return 200, {}, dict(fake.app(ident).config)


def r_config_patch(fake, ident, body, **_):
    app = fake.app(ident)
    for key, value in body.items():
        if value is None:
            app.config.pop(key, None)
        else:
            app.config[key] = str(value)
    return 200, {}, dict(app.config)


def r_builds(fake, ident, **_):
    return 200, {}, [public(b) for b in fake.app(ident).builds]


def r_build(fake, ident, build_id, **_):
    app = fake.app(ident)
    for build in app.builds:
        if build["id"] == build_id:
            if build["status"] == "pending":
                fake._tick(build, app)
            return 200, {}, public(build)
    raise ApiFailure(404, "not_found", "Couldn't find that build.")


def r_create_build(fake, ident, body, **_):
    app = fake.app(ident)
    build = {"id": str(uuid.uuid4()), "status": "pending", "source_blob": dict(body["source_blob"]),
             "slug": {"id": f"slug-b{len(app.builds) + 1}"}, "release": None,
             "output_stream_url": "https://out.invalid/build", "_polls": fake.pending_polls}
    app.builds.append(build)
    return 201, {}, public(build)


def r_resolve(fake, body, headers, **_):
    app = fake.app(body["app"])
    if not app.addon or body["addon_attachment"] != "DATABASE":
        raise ApiFailure(404, "not_found", "Couldn't find that add on attachment.")
    addon = dict(app.addon)
    if "addon:plan" not in headers.get("accept-inclusion", ""):
        addon.pop("plan")
    return 200, {}, [{"id": str(uuid.uuid4()), "name": "DATABASE", "addon": addon, "app": {"name": app.name}}]


def r_rate_limits(fake, **_):
    return 200, {}, {"remaining": 4321}


def r_transfers(fake, ident, **_):
    return 200, {}, [{k: v for k, v in public(tr).items() if k != "logs"} for tr in fake.app(ident).transfers]


def r_transfer(fake, ident, key, query, **_):
    app = fake.app(ident)
    for transfer in app.transfers:
        if key in (transfer["uuid"], str(transfer["num"])):
            if not transfer.get("finished_at"):
                fake._tick(transfer, app)
            shown = public(transfer)
            if query.get("verbose") != ["true"]:
                shown.pop("logs", None)
            return 200, {}, shown
    raise ApiFailure(404, "not_found", "Couldn't find that transfer.")


def _new_transfer(fake, app: FakeApp, **fields) -> dict:
    num = max((tr["num"] for tr in app.transfers), default=0) + 1
    transfer = {"uuid": str(uuid.uuid4()), "num": num, "created_at": iso(20), "started_at": None,
                "finished_at": None, "succeeded": False, "processed_bytes": 0, "warnings": 0, "schedule": None,
                "logs": [{"level": "error", "message": f"transfer {num} log {i}"} for i in range(7)],
                "_polls": fake.pending_polls, **fields}
    if not fake.pending_polls:
        fake._tick(transfer, app)
    app.transfers.append(transfer)
    return transfer


def r_capture(fake, addon_id, **_):
    app = fake.app_of_addon(addon_id)
    transfer = _new_transfer(fake, app, from_type="pg_dump", to_type="gof3r", from_name="DATABASE",
                             to_name="BACKUP", from_url="postgres://db", to_url="https://blobs.invalid/new.dump")
    return 201, {}, {k: v for k, v in public(transfer).items() if k != "logs"}


def r_restore(fake, addon_id, body, **_):
    app = fake.app_of_addon(addon_id)
    source = next((tr for tr in app.transfers if tr.get("to_url") == body["backup_url"]), None)
    name = f"b{source['num']:03d}" if source else "external"
    transfer = _new_transfer(fake, app, from_type="gof3r", to_type="pg_restore", from_name=name,
                             to_name="DATABASE", from_url=body["backup_url"], to_url="postgres://db")
    return 201, {}, {"uuid": transfer["uuid"]}


def r_public_url(fake, ident, num, **_):
    return 200, {}, {"url": f"https://blobs.invalid/{num}.dump?signature=zzz"}


def r_schedules(fake, addon_id, **_):
    return 200, {}, list(fake.app_of_addon(addon_id).schedules)


def r_schedule(fake, addon_id, body, **_):
    app = fake.app_of_addon(addon_id)
    app.schedules = [s for s in app.schedules if s["name"] != body["schedule_name"]]
    app.schedules.append({"uuid": str(uuid.uuid4()), "name": body["schedule_name"], "hour": int(body["hour"]),
                          "timezone": body["timezone"]})
    return 201, {}, {}


def r_unschedule(fake, addon_id, schedule_uuid, **_):
    app = fake.app_of_addon(addon_id)
    app.schedules = [s for s in app.schedules if s["uuid"] != schedule_uuid]
    return 200, {}, {}


SEG = r"([^/]+)"
ROUTES: list[tuple[str, str, t.Callable[..., tuple[int, dict, t.Any]]]] = [
    (r"/apps", "GET", r_apps),
    (rf"/apps/{SEG}", "GET", r_app),
    (rf"/apps/{SEG}", "PATCH", r_app_patch),
    (rf"/apps/{SEG}/releases", "GET", r_releases),
    (rf"/apps/{SEG}/releases", "POST", r_rollback),
    (rf"/apps/{SEG}/releases/{SEG}", "GET", r_release),
    (rf"/apps/{SEG}/formation", "GET", r_formation),
    (rf"/apps/{SEG}/formation", "PATCH", r_formation_patch),
    (rf"/apps/{SEG}/dynos", "GET", r_dynos),
    (rf"/apps/{SEG}/dynos", "DELETE", r_restart_all),
    (rf"/apps/{SEG}/dynos", "POST", r_create_dyno),
    (rf"/apps/{SEG}/dynos/{SEG}", "GET", r_dyno),
    (rf"/apps/{SEG}/dynos/{SEG}", "DELETE", r_restart_dyno),
    (rf"/apps/{SEG}/addons", "GET", r_addons),
    (rf"/apps/{SEG}/formations/{SEG}", "DELETE", r_restart_type),
    (rf"/apps/{SEG}/log-sessions", "POST", r_log_session),
    (rf"/apps/{SEG}/config-vars", "GET", r_config),
    (rf"/apps/{SEG}/config-vars", "PATCH", r_config_patch),
    (rf"/apps/{SEG}/builds", "GET", r_builds),
    (rf"/apps/{SEG}/builds", "POST", r_create_build),
    (rf"/apps/{SEG}/builds/{SEG}", "GET", r_build),
    (r"/actions/addon-attachments/resolve", "POST", r_resolve),
    (r"/account/rate-limits", "GET", r_rate_limits),
    (rf"/client/v11/apps/{SEG}/transfers", "GET", r_transfers),
    (rf"/client/v11/apps/{SEG}/transfers/{SEG}", "GET", r_transfer),
    (rf"/client/v11/apps/{SEG}/transfers/{SEG}/actions/public-url", "POST", r_public_url),
    (rf"/client/v11/databases/{SEG}/backups", "POST", r_capture),
    (rf"/client/v11/databases/{SEG}/restores", "POST", r_restore),
    (rf"/client/v11/databases/{SEG}/transfer-schedules", "GET", r_schedules),
    (rf"/client/v11/databases/{SEG}/transfer-schedules", "POST", r_schedule),
    (rf"/client/v11/databases/{SEG}/transfer-schedules/{SEG}", "DELETE", r_unschedule),
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: t.Any) -> None:
        pass

    def _send(self, status: int, headers: dict, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Request-Id", f"req-{uuid.uuid4().hex[:12]}")
        self.send_header("RateLimit-Remaining", "4000")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self) -> None:
        fake: FakeHeroku = self.server.fake  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        if split.path.startswith("/__logs/"):
            return self._logs(fake, split.path)
        try:
            status, headers, data = fake.handle(
                self.command, split.path, parse_qs(split.query),
                {k.lower(): v for k, v in self.headers.items()}, body if body is not None else {},
            )
        except ApiFailure as failure:
            status, headers, data = failure.status, {}, {"id": failure.error_id, "message": failure.message}
        lost = fake.take_lost_answer(self.command, split.path) if status < 400 else None
        if lost == "drop":
            self.close_connection = True  # the work is done; the client never hears of it
            return None
        if lost == "503":
            status, data = 503, {"id": "service_unavailable", "message": "The backend did not answer in time."}
        self._send(status, headers, json.dumps(data).encode())
        return None

    def _logs(self, fake: FakeHeroku, path: str) -> None:
        """The log stream of a one-off dyno, as Logplex formats it."""
        app_name, dyno_name = path.split("/")[2:]
        with fake.lock:
            fake.log.append({"method": "GET", "path": "/__logs", "query": {}, "body": None,
                             "headers": {k.lower(): v for k, v in self.headers.items()}})
            dyno = fake.apps[app_name].oneoffs[dyno_name]
        out = io.StringIO()
        out.write(f"2025-11-03T10:00:00+00:00 heroku[{dyno_name}]: Starting process with command `x`\n")
        out.write("2025-11-03T10:00:00+00:00 app[web.1]: unrelated web line\n")
        for line in dyno["lines"]:
            out.write(f"2025-11-03T10:00:01+00:00 app[{dyno_name}]: {line}\n")
        if dyno["wrapped"]:
            out.write(f"2025-11-03T10:00:02+00:00 app[{dyno_name}]: \uFFFF heroku-command-exit-status: {dyno['status']}\n")
        if fake.report_process_exit:
            out.write(f"2025-11-03T10:00:02+00:00 heroku[{dyno_name}]: Process exited with status {dyno['status']}\n")
        payload = out.getvalue().encode()
        if not fake.stall_logs:
            return self._send(200, {}, payload, "text/plain")
        # A dyno still running and printing nothing: the stream stays open and silent.
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload) + 100))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
        time.sleep(fake.stall_logs)
        self.close_connection = True
        return None

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


@pytest.fixture
def heroku(monkeypatch) -> t.Iterator[FakeHeroku]:
    """A running fake with the module credentials in the environment (as module_defaults would give)."""
    fake = FakeHeroku()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.fake = fake  # type: ignore[attr-defined]
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    monkeypatch.setenv("HEROKU_API_KEY", TOKEN)
    monkeypatch.setenv("HEROKU_API_URL", fake.base_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("HEROKU_DATA_API_URL", fake.base_url)  # type: ignore[attr-defined]
    yield fake
    server.shutdown()
    server.server_close()


def run_module(module: t.Any, args: dict[str, t.Any], check_mode: bool = False, diff: bool = False,
               capsys: t.Any = None) -> dict[str, t.Any]:
    """Run a module's main() in-process; return its JSON result (``failed`` set on fail_json)."""
    args = dict(args)
    if "heroku.WAIT" in module.DOCUMENTATION:
        args.setdefault("poll_interval", 0.01)  # keep waits fast; the fake moves on per poll
    args["_ansible_check_mode"] = check_mode
    args["_ansible_diff"] = diff
    stdout = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(stdout):
        with pytest.raises(SystemExit):
            module.main()
    result = json.loads(stdout.getvalue())
    assert TOKEN not in stdout.getvalue(), "the token must never reach module output"
    return result
