"""The lab's state machine: apps, releases, dynos, builds, backups and their background work."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import os
import shutil
import tarfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import REDIS_PORT, api_url, database, state_dir
from .httpcore import ApiError, Faults, RateLimiter, RequestLog, not_found
from .model import (Addon, App, Build, Formation, Knobs, Release, Schedule, Slug, Transfer,
                    canonical_size, new_id, stable_id, SINGLE_DYNO_SIZES)

RAILS_BASE_VERSION = 20251001090000


@dataclass
class AppSpec:
    """What ``POST /__lab/apps`` and the seed fixture describe."""

    name: str
    kind: str = "node"
    releases: int = 3
    formation: dict[str, dict[str, Any]] = field(default_factory=lambda: {"web": {"quantity": 1, "size": "Basic"}})
    config: dict[str, str] = field(default_factory=dict)
    postgres: str | None = None  # plan, e.g. "heroku-postgresql:standard-0"
    redis: str | None = None  # plan, e.g. "heroku-redis:mini"
    rows: tuple[int, int, int] = (30, 15, 45)  # workers, shifts, assignments
    backup_schedule: dict[str, Any] | None = None
    backups: int = 0
    mics: int = 0
    maintenance: bool = False
    postgres_name: str | None = None
    redis_name: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> AppSpec:
        name = str(body.get("name") or "")
        if not name:
            raise ApiError(422, "invalid_params", "name is required")
        kind = body.get("kind", "rails" if body.get("postgres") else "node")
        postgres = body.get("postgres")
        if postgres is True:
            postgres = "heroku-postgresql:essential-0"
        redis = body.get("redis")
        if redis is True:
            redis = "heroku-redis:mini"
        formation = body.get("formation") or {"web": {"quantity": 1, "size": "Basic"}}
        formation = {k: (v if isinstance(v, dict) else {"quantity": int(v)}) for k, v in formation.items()}
        rows = tuple(body.get("rows", (30, 15, 45)))
        return cls(name=name, kind=kind, releases=max(1, int(body.get("releases", 3))), formation=formation,
                   config=dict(body.get("config") or {}), postgres=postgres or None, redis=redis or None,
                   rows=rows,  # type: ignore[arg-type]
                   backup_schedule=body.get("backup_schedule"), backups=int(body.get("backups", 0)),
                   mics=int(body.get("mics", 0)), maintenance=bool(body.get("maintenance", False)))


def micmap_mongodb_uri() -> str:
    """micmap-api's cluster in the lab: the Atlas lab's micmap cluster (nx-27017, lab/atlas), whose
    port ATLAS_EMU_MICMAP_PORT moves for a test instance. No credentials: nx-27017 has no auth."""
    return f"mongodb://127.0.0.1:{os.environ.get('ATLAS_EMU_MICMAP_PORT') or 18310}/micmap"


def seed_fixture() -> list[AppSpec]:
    """The apps of the runbooks (seeds 000 and 003)."""
    return [
        AppSpec(name="micmap-api", kind="node", releases=5,
                formation={"web": {"quantity": 1, "size": "Eco"}},
                config={"MONGODB_URI": micmap_mongodb_uri(),
                        "SHEET_ID": "1micmapSheetLabFixture0000000000000000000", "NODE_ENV": "production",
                        "CACHE_TTL_SECONDS": "300"},
                redis="heroku-redis:mini", redis_name="redis-shaped-58112", mics=412),
        AppSpec(name="sc-mvp-production", kind="rails", releases=9,
                formation={"web": {"quantity": 1, "size": "Basic"}},
                config={"RAILS_ENV": "production", "RACK_ENV": "production", "RAILS_LOG_TO_STDOUT": "enabled",
                        "RAILS_SERVE_STATIC_FILES": "enabled", "SECRET_KEY_BASE": "lab" + "0" * 61},
                postgres="heroku-postgresql:standard-0", postgres_name="postgresql-cubic-41273",
                rows=(250, 120, 400), backups=1,
                backup_schedule={"name": "DATABASE_URL", "hour": 2, "timezone": "America/Los_Angeles"}),
        AppSpec(name="sc-mvp-staging", kind="rails", releases=5,
                formation={"web": {"quantity": 1, "size": "Basic"}},
                config={"RAILS_ENV": "staging", "RACK_ENV": "staging", "RAILS_LOG_TO_STDOUT": "enabled",
                        "RAILS_SERVE_STATIC_FILES": "enabled", "SECRET_KEY_BASE": "lab" + "1" * 61},
                postgres="heroku-postgresql:standard-0", postgres_name="postgresql-rigid-20931",
                rows=(40, 20, 60), backups=1,
                backup_schedule={"name": "DATABASE_URL", "hour": 2, "timezone": "America/Los_Angeles"}),
    ]


PROCESS_COMMANDS = {"node": {"web": "npm start", "worker": "node worker.js"},
                    "rails": {"web": "bundle exec puma -C config/puma.rb", "worker": "bundle exec sidekiq",
                              "release": "bundle exec rails db:migrate"}}
BUILDPACKS = {"node": "Node.js", "rails": "Ruby"}


def _is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class Lab:
    """All emulator state behind one re-entrant lock; ``changed`` wakes log streams."""

    def __init__(self, tokens: set[str]) -> None:
        self.lock = threading.RLock()
        # Several test suites share one lab: resets (which rebuild databases and dumps) run one at a time.
        self.reset_lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.tokens = set(tokens)
        self.apps: dict[str, App] = {}
        self.limiter = RateLimiter()
        self.faults = Faults()
        self.requests = RequestLog()
        self.log_sessions: dict[str, dict[str, Any]] = {}
        self.started = time.time()
        self.generation = 0
        self.backups_dir = state_dir() / "backups"
        # The fixture's history ends two hours before each reset, so "~ 2h ago" reads naturally.
        self.history_end = time.time() - 7200

    # ------------------------------------------------------------------ lookups
    def app(self, ident: str) -> App:
        with self.lock:
            if ident in self.apps:
                return self.apps[ident]
            for app in self.apps.values():
                if app.id == ident:
                    return app
        raise not_found("app")

    def addon(self, ident: str) -> tuple[App, Addon]:
        with self.lock:
            for app in self.apps.values():
                for addon in app.addons:
                    if ident in (addon.id, addon.name):
                        return app, addon
        raise not_found("add-on")

    def notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def log(self, app: App, source: str, dyno: str, message: str) -> None:
        with self.lock:
            app.add_log(source, dyno, message)
            self.changed.notify_all()

    # ------------------------------------------------------------------ fixture
    def reset(self, specs: list[AppSpec] | None = None) -> None:
        """Back to the seed fixture: in-memory state, databases, dumps, Redis keys, knobs."""
        with self.reset_lock:
            self._reset(specs)

    def _reset(self, specs: list[AppSpec] | None) -> None:
        with self.lock:
            self.generation += 1
            for app in self.apps.values():
                for dyno in app.oneoffs.values():
                    dyno.finished.set()
            self.apps = {}
            self.log_sessions = {}
            self.faults = Faults()
            self.limiter.configure(capacity=4500, refill_per_minute=75.0)
        self.history_end = float(int(time.time() - 7200))
        shutil.rmtree(self.backups_dir, ignore_errors=True)
        self.backups_dir.mkdir(parents=True, exist_ok=True)
        for spec in specs if specs is not None else seed_fixture():
            self.create_app(spec)
        self.notify()

    def create_app(self, spec: AppSpec) -> App:
        with self.lock:
            if spec.name in self.apps:
                raise ApiError(422, "invalid_params", f"Name {spec.name} is already taken")
        created = self.history_end - 86400 * 60
        app = App(id=stable_id("app", spec.name), name=spec.name, kind=spec.kind, created_at=created,
                  updated_at=created, buildpack=BUILDPACKS.get(spec.kind, "Node.js"), maintenance=spec.maintenance,
                  mics=spec.mics)
        for ptype, options in spec.formation.items():
            size = canonical_size(options.get("size", "Basic")) or "Basic"
            command = options.get("command") or PROCESS_COMMANDS.get(spec.kind, {}).get(ptype, f"bin/{ptype}")
            app.formation[ptype] = Formation(stable_id(app.id, "formation", ptype), ptype,
                                             int(options.get("quantity", 1)), size, command, created, created)
        config = dict(spec.config)
        db_target = RAILS_BASE_VERSION + (spec.releases - 3) * 1000000 if spec.kind == "rails" else None
        if spec.postgres:
            db = database.database_for(spec.name)
            database.create_database(db)
            workers, shifts, assignments = spec.rows
            database.seed_rails_schema(db, workers, shifts, assignments, db_target or RAILS_BASE_VERSION,
                                       seed=len(spec.name))
            name = spec.postgres_name or f"postgresql-{spec.name[:12].strip('-')}-{int(stable_id(spec.name)[:4], 16)}"
            app.addons.append(Addon(stable_id(app.id, "addon", "postgres"), name, "heroku-postgresql", spec.postgres,
                                    ["DATABASE_URL"], stable_id(app.id, "attachment", "DATABASE"), "DATABASE",
                                    created, 5000 if "standard" in spec.postgres else 500))
            config["DATABASE_URL"] = db.url
        if spec.redis:
            name = spec.redis_name or f"redis-{spec.name[:12].strip('-')}-{int(stable_id(spec.name)[4:8], 16)}"
            app.addons.append(Addon(stable_id(app.id, "addon", "redis"), name, "heroku-redis", spec.redis,
                                    ["REDIS_URL"], stable_id(app.id, "attachment", "REDIS"), "REDIS", created, 300))
            config["REDIS_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/0"
            self._seed_cache(config["REDIS_URL"], spec.name)
        self._seed_releases(app, spec, config, db_target)
        app.dynos_booted_at = app.current_release().created_at if app.current_release() else created
        app.updated_at = app.dynos_booted_at
        if spec.backup_schedule and spec.postgres:
            schedule = spec.backup_schedule
            app.schedules.append(Schedule(stable_id(app.id, "schedule", schedule.get("name", "DATABASE_URL")),
                                          schedule.get("name", "DATABASE_URL"), int(schedule.get("hour", 2)),
                                          schedule.get("timezone", "UTC")))
        with self.lock:
            self.apps[app.name] = app
        for index in range(spec.backups):
            self._seed_backup(app, index)
        self.log(app, "app", "api", f"Lab fixture loaded for {app.name}")
        return app

    def _seed_cache(self, url: str, app_name: str) -> None:
        import redis
        try:
            client = redis.Redis.from_url(url, socket_timeout=1)
            for day in ("Monday", "Tuesday", "Wednesday"):
                client.set(f"cache:{app_name}:/api/v1/mics?day={day}", json.dumps({"count": 12, "day": day}), ex=86400)
            client.set(f"cache:{app_name}:/api/v1/mics", json.dumps({"count": 412}), ex=86400)
        except redis.RedisError:
            pass  # the health check reports Redis as down; the fixture itself does not need it

    def _seed_releases(self, app: App, spec: AppSpec, config: dict[str, str], db_target: int | None) -> None:
        total = spec.releases
        step = 86400 * 3
        start = self.history_end - step * total
        history: list[tuple[str, dict[str, str], bool]] = [("Initial release", {}, False)]
        if total >= 2:
            history.append(("Enable Logplex", {}, False))
        if total >= 3:
            history.append((f"Set {', '.join(sorted(spec.config))} config vars", dict(config), False))
        while len(history) < total:
            history.append(("Deploy", dict(config), True))
        if total < 3:
            history[-1] = (history[-1][0], dict(config), history[-1][2])
        deploys = 0
        for index, (description, release_config, deploy) in enumerate(history, start=1):
            created = start + step * index
            slug_id = None
            schema_target = None
            if deploy or index == total:
                deploys += 1
                commit = hashlib.sha1(f"{app.name}:{index}".encode()).hexdigest()
                schema_target = (RAILS_BASE_VERSION + (index - 3) * 1000000) if spec.kind == "rails" else None
                slug = Slug(stable_id(app.id, "slug", index), commit, "SHA256:" + hashlib.sha256(commit.encode())
                            .hexdigest(), 48_000_000 + index * 1000, {k: v.command for k, v in app.formation.items()},
                            created, "ok", schema_target)
                app.slugs[slug.id] = slug
                slug_id = slug.id
                if deploy:
                    description = f"Deploy {commit[:8]}"
            if db_target is not None and index == total:
                schema_target = db_target
            app.releases.append(Release(stable_id(app.id, "release", index), index, description, created,
                                        "succeeded", slug_id, release_config, "ok", schema_target,
                                        [a.plan for a in app.addons] if index >= 3 else [], created))

    def _seed_backup(self, app: App, index: int) -> None:
        """A completed manual backup made with a real pg_dump (the runbook expects one)."""
        transfer = self.new_capture(app, scheduled=False)
        finished = self.history_end - 3600 * (index + 1)
        self._run_capture(app, transfer, queued=False)
        transfer.created_at = finished - 9
        transfer.started_at = finished - 8
        transfer.finished_at = transfer.updated_at = finished

    # ------------------------------------------------------------------ releases
    def create_release(self, app: App, description: str, slug_id: str | None, config: dict[str, str],
                       runtime: str, schema_version: int | None) -> Release:
        """A new release; pending through its release phase, then current, and dynos restart."""
        now = time.time()
        with self.lock:
            release = Release(new_id(), app.next_version(), description, now, "pending", slug_id, dict(config),
                              runtime, schema_version, [a.plan for a in app.addons], now)
            app.releases.append(release)
            app.updated_at = now
            generation = self.generation
            delay = app.knobs.release_phase_ms / 1000.0
        self.log(app, "app", "api", f"Release v{release.version} created by user ops@appops.example")
        threading.Thread(target=self._finish_release, args=(app, release, delay, generation), daemon=True).start()
        return release

    def _finish_release(self, app: App, release: Release, delay: float, generation: int) -> None:
        time.sleep(delay)
        with self.lock:
            if generation != self.generation:
                return
            release.status = "succeeded"
            release.updated_at = time.time()
            self._restart(app, reason=f"Deploy v{release.version}")
        self.log(app, "app", "api", f"Release v{release.version} is now current ({release.description})")
        if release.runtime == "crash":
            for dyno in app.process_dynos(time.time()):
                self.log(app, "heroku", dyno["name"], "Process exited with status 1")
                self.log(app, "heroku", dyno["name"], "State changed from starting to crashed")

    def rollback(self, app: App, ident: str) -> Release:
        target = app.release_by(ident)
        if target is None:
            raise not_found("release")
        if not target.eligible():
            raise ApiError(422, "invalid_params", f"Cannot roll back to v{target.version}: it has no slug.")
        return self.create_release(app, f"Rollback to v{target.version}", target.slug_id, target.config,
                                   target.runtime, target.schema_version)

    def release_from_slug(self, app: App, slug_id: str, description: str | None) -> Release:
        slug = app.slugs.get(slug_id)
        if slug is None:
            raise not_found("slug")
        config = app.config_now()
        return self.create_release(app, description or f"Deploy {str(slug.commit or slug.id)[:8]}", slug.id, config,
                                   slug.runtime, slug.schema_version)

    def update_config(self, app: App, changes: dict[str, Any]) -> dict[str, str]:
        base = app.latest_release()
        config = app.config_now()
        set_keys = [k for k, v in changes.items() if v is not None and config.get(k) != str(v)]
        removed = [k for k, v in changes.items() if v is None and k in config]
        for key in set_keys:
            config[key] = str(changes[key])
        for key in removed:
            del config[key]
        # No change, no release: a re-run of the same config:set leaves the history alone.
        if set_keys or removed:
            parts = []
            if set_keys:
                parts.append(f"Set {', '.join(set_keys)} config vars")
            if removed:
                parts.append(f"Remove {', '.join(removed)} config vars")
            self.create_release(app, " and ".join(parts), base.slug_id if base else None, config,
                                base.runtime if base else "ok", base.schema_version if base else None)
        return config

    # ------------------------------------------------------------------ dynos
    def _restart(self, app: App, reason: str) -> None:
        now = time.time()
        app.dynos_booted_at = now
        app.starting_until = now + 1.5
        for dyno in app.process_dynos(now):
            app.add_log("heroku", dyno["name"], f"Restarting ({reason})")
            app.add_log("heroku", dyno["name"], "State changed from up to starting")
        self.changed.notify_all()

    def restart(self, app: App, reason: str = "Restart") -> None:
        with self.lock:
            self._restart(app, reason)

    def update_formation(self, app: App, ptype: str, quantity: Any, size: Any) -> Formation:
        with self.lock:
            formation = app.formation.get(ptype) or next(
                (f for f in app.formation.values() if f.id == ptype), None)
            if formation is None:
                raise ApiError(404, "not_found", f"Couldn't find that process type ({ptype}).")
            new_size = formation.size
            if size not in (None, ""):
                size_name = size.get("name") if isinstance(size, dict) else size
                new_size = canonical_size(str(size_name)) or ""
                if not new_size:
                    raise ApiError(422, "invalid_params", f"Invalid dyno size: {size_name}.")
            new_quantity = formation.quantity
            if quantity not in (None, ""):
                try:
                    new_quantity = int(quantity)
                except (TypeError, ValueError):
                    raise ApiError(422, "invalid_params", f"Invalid quantity: {quantity}.") from None
                if new_quantity < 0:
                    raise ApiError(422, "invalid_params", "Quantity must be 0 or more.")
            if new_size in SINGLE_DYNO_SIZES and new_quantity > 1:
                raise ApiError(422, "cannot_update_above_limit",
                               f"Cannot update to more than 1 {new_size} size dynos per process type.")
            changed = (new_size, new_quantity) != (formation.size, formation.quantity)
            resized = new_size != formation.size
            formation.size, formation.quantity = new_size, new_quantity
            if changed:
                formation.updated_at = time.time()
                app.add_log("heroku", "api", f"Scaled to {ptype}@{new_quantity}:{new_size} by user ops@appops.example")
                if resized:
                    self._restart(app, reason="Resize")
                self.changed.notify_all()
            return formation

    # ------------------------------------------------------------------ builds
    def start_build(self, app: App, body: dict[str, Any]) -> Build:
        blob = body.get("source_blob") or {}
        url = blob.get("url") if isinstance(blob, dict) else None
        if not url:
            raise ApiError(422, "invalid_params", "source_blob.url is required.")
        if not _is_loopback_url(url):
            raise ApiError(422, "invalid_params", "The lab only fetches source blobs from loopback URLs.")
        now = time.time()
        build = Build(new_id(), dict(blob), body.get("buildpacks"), now, now)
        with self.lock:
            app.builds[build.id] = build
            generation = self.generation
        threading.Thread(target=self._run_build, args=(app, build, generation), daemon=True).start()
        return build

    def _build_say(self, app: App, build: Build, line: str) -> None:
        with self.lock:
            build.output.append(line)
            build.updated_at = time.time()
            self.changed.notify_all()

    def _run_build(self, app: App, build: Build, generation: int) -> None:
        say = lambda line: self._build_say(app, build, line)  # noqa: E731
        try:
            with urllib.request.urlopen(build.source_blob["url"], timeout=15) as response:
                data = response.read()
        except OSError as error:
            say(f" !     Could not fetch the source blob: {error}")
            return self._finish_build(app, build, "failed", generation)
        say("-----> Building on the Heroku-24 stack")
        say(f"-----> Using buildpack: heroku/{'ruby' if app.kind == 'rails' else 'nodejs'}")
        lab = self._read_lab_json(data)
        if lab is None:
            say(" !     The source blob is not a gzipped tarball.")
            return self._finish_build(app, build, "failed", generation)
        time.sleep(float(lab.get("build_seconds", 0.5)))
        if lab.get("build", "ok") != "ok":
            say(" !     Push rejected, failed to compile app.")
            return self._finish_build(app, build, "failed", generation)
        say("-----> Compressing...")
        checksum = "SHA256:" + hashlib.sha256(data).hexdigest()
        current = app.current_release()
        schema = lab.get("schema_version", current.schema_version if current else None)
        slug = Slug(new_id(), build.source_blob.get("version"), checksum, len(data),
                    {k: v.command for k, v in app.formation.items()}, time.time(), lab.get("runtime", "ok"),
                    int(schema) if schema is not None else None)
        say(f"       Done: {max(1, len(data) // 1024)}K")
        with self.lock:
            if generation != self.generation:
                return None
            app.slugs[slug.id] = slug
            build.slug_id = slug.id
        release = self.release_from_slug(app, slug.id, None)
        say("-----> Launching...")
        say(f"       Released v{release.version}")
        with self.lock:
            build.release_id = release.id
        return self._finish_build(app, build, "succeeded", generation)

    @staticmethod
    def _read_lab_json(data: bytes) -> dict[str, Any] | None:
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                for member in archive.getmembers():
                    if member.isfile() and Path(member.name).name == "lab.json" and member.name.count("/") <= 1:
                        handle = archive.extractfile(member)
                        return json.loads(handle.read()) if handle else {}
        except (tarfile.TarError, ValueError, EOFError, OSError):
            return None
        return {}

    def _finish_build(self, app: App, build: Build, status: str, generation: int) -> None:
        with self.lock:
            if generation != self.generation:
                return
            build.status = status
            build.updated_at = time.time()
            app.add_log("app", "api", f"Build {status} ({build.id[:8]})")
            self.changed.notify_all()

    # ------------------------------------------------------------------ backups
    def _backup_file(self, app: App, transfer_uuid: str) -> Path:
        return self.backups_dir / app.name / f"{transfer_uuid}.dump"

    def _next_num(self, app: App) -> int:
        return max((t.num for t in app.transfers), default=0) + 1

    def new_capture(self, app: App, scheduled: bool) -> Transfer:
        addon = app.postgres()
        if addon is None:
            raise not_found("database")
        now = time.time()
        with self.lock:
            ident = new_id()
            transfer = Transfer(ident, self._next_num(app), "pg_dump", addon.attachment_name,
                                database.database_for(app.name).url, "gof3r", "BACKUP",
                                f"{api_url()}/__blobs/backups/{ident}.dump", now, now)
            if scheduled and app.schedules:
                transfer.schedule = {"uuid": app.schedules[0].uuid}
            transfer.file = str(self._backup_file(app, ident))
            transfer.log(f"Backup of {addon.name} requested")
            app.transfers.append(transfer)
        return transfer

    def start_capture(self, app: App, scheduled: bool = False) -> Transfer:
        transfer = self.new_capture(app, scheduled)
        threading.Thread(target=self._run_capture, args=(app, transfer), daemon=True).start()
        return transfer

    def _wait_started(self, app: App, transfer: Transfer) -> bool:
        """Sleep through the queueing delay; False when the transfer was cancelled meanwhile.

        The delay is the app's ``transfer_delay_ms`` knob as it is now, not as it was when the
        transfer was queued: a rehearsal (or a test) can hold a transfer in flight with a long
        delay and let it go by lowering the knob."""
        queued = time.monotonic()

        def left() -> float:
            return queued + app.knobs.transfer_delay_ms / 1000.0 - time.monotonic()

        while left() > 0:
            if transfer.canceled_at:
                return False
            time.sleep(min(0.05, max(0.0, left())))
        with self.lock:
            if transfer.canceled_at:
                return False
            transfer.started_at = transfer.updated_at = time.time()
        return True

    def _run_capture(self, app: App, transfer: Transfer, queued: bool = True) -> None:
        if queued and not self._wait_started(app, transfer):
            return
        db = database.database_for(app.name)
        transfer.log("Running pg_dump")
        result = database.dump(db, Path(transfer.file or ""))
        with self.lock:
            if transfer.canceled_at:
                return
            dumped = Path(transfer.file or "")
            if result.returncode == 0 and dumped.exists():
                size = dumped.stat().st_size
                transfer.processed_bytes = size
                transfer.source_bytes = database.database_size(db)[0] if database.probe(db) is not None else size
                transfer.succeeded = True
                transfer.log(f"pg_dump done, {size} bytes")
            else:
                for line in result.stderr.strip().splitlines()[-5:]:
                    transfer.log(line, "error")
                transfer.log("pg_dump failed", "error")
            transfer.finished_at = transfer.updated_at = time.time()
            app.add_log("app", "heroku-postgres", f"Backup b{transfer.num:03d} "
                                                  f"{'completed' if transfer.succeeded else 'failed'}")
            self.changed.notify_all()

    def source_for_url(self, url: str) -> Path:
        """Map a backup URL to a dump file: the emulator's own blobs, or a download from loopback."""
        with self.lock:
            for app in self.apps.values():
                for transfer in app.transfers:
                    if transfer.to_url.split("?")[0] == url.split("?")[0] and transfer.file and transfer.deleted_at is None:
                        return Path(transfer.file)
        if not _is_loopback_url(url):
            raise ApiError(422, "invalid_params", "The lab restores only from backup URLs on loopback.")
        target = self.backups_dir / "downloads" / f"{new_id()}.dump"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(url, timeout=30) as response, target.open("wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as error:
            raise ApiError(422, "invalid_params", f"Could not fetch backup_url: {error}") from None
        return target

    def start_restore(self, app: App, addon: Addon, backup_url: str) -> Transfer:
        source = self.source_for_url(backup_url)
        now = time.time()
        name = next((f"b{t.num:03d}" for a in self.apps.values() for t in a.transfers
                     if t.to_url.split("?")[0] == backup_url.split("?")[0]), Path(urlsplit(backup_url).path).name)
        with self.lock:
            transfer = Transfer(new_id(), self._next_num(app), "htcat", name, backup_url, "pg_restore",
                                addon.attachment_name, database.database_for(app.name).url, now, now)
            transfer.file = str(source)
            transfer.log(f"Restore of {name} to {addon.name} requested")
            app.transfers.append(transfer)
        threading.Thread(target=self._run_restore, args=(app, transfer), daemon=True).start()
        return transfer

    def _run_restore(self, app: App, transfer: Transfer) -> None:
        if not self._wait_started(app, transfer):
            return
        transfer.log("Running pg_restore --clean --if-exists")
        result = database.restore(database.database_for(app.name), Path(transfer.file or ""))
        with self.lock:
            if transfer.canceled_at:
                return
            warnings = [line for line in result.stderr.splitlines() if "warning" in line.lower()]
            transfer.warnings = len(warnings)
            transfer.processed_bytes = Path(transfer.file or "").stat().st_size
            transfer.succeeded = result.returncode == 0
            for line in result.stderr.strip().splitlines()[-10:]:
                transfer.log(line, "warning" if transfer.succeeded else "error")
            transfer.log("pg_restore done" if transfer.succeeded else "pg_restore failed")
            transfer.finished_at = transfer.updated_at = time.time()
            app.add_log("app", "heroku-postgres", f"Restore r{transfer.num:03d} "
                                                  f"{'completed' if transfer.succeeded else 'failed'}")
            self.changed.notify_all()

    def cancel_transfer(self, transfer: Transfer) -> None:
        with self.lock:
            if transfer.finished_at is None:
                now = time.time()
                transfer.canceled_at = transfer.finished_at = transfer.updated_at = now
                transfer.succeeded = False
                transfer.log("Transfer canceled by user", "error")
                self.changed.notify_all()

    def delete_transfer(self, transfer: Transfer) -> None:
        with self.lock:
            transfer.deleted_at = transfer.updated_at = time.time()
            if transfer.file and transfer.to_type == "gof3r":
                Path(transfer.file).unlink(missing_ok=True)

    # ------------------------------------------------------------------ knobs
    def set_knobs(self, app: App, body: dict[str, Any]) -> Knobs:
        knobs = app.knobs
        if "db_latency_ms" in body or "ms" in body:
            knobs.db_latency_ms = max(0, int(body.get("db_latency_ms", body.get("ms", 0))))
        for name in ("transfer_delay_ms", "release_phase_ms"):
            if name in body:
                setattr(knobs, name, max(0, int(body[name])))
        if "redis_down" in body:
            knobs.redis_down = bool(body["redis_down"])
        if "db_down" in body:
            knobs.db_down = bool(body["db_down"])
            if app.postgres() is not None:
                database.set_allow_connections(database.database_for(app.name), not knobs.db_down)
        return knobs

