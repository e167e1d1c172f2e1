"""The emulator's in-memory state and its API representations.

Objects keep timestamps as epoch floats; ``to_api`` methods render the Platform API
shapes of schema.json (and the backups API shapes of the CLI's ``BackupTransfer``).
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import HOST, ROUTER_PORT, api_url

_NAMESPACE = uuid.UUID("5f0c7a5e-1c4e-4f7e-9a43-6c1b2d0a4e11")

ACCOUNT_ID = str(uuid.uuid5(_NAMESPACE, "account"))
ACCOUNT_EMAIL = "ops@appops.example"
REGION = {"id": str(uuid.uuid5(_NAMESPACE, "region/us")), "name": "us"}
STACK = {"id": str(uuid.uuid5(_NAMESPACE, "stack/heroku-24")), "name": "heroku-24"}
GENERATION = {"id": str(uuid.uuid5(_NAMESPACE, "generation/cedar")), "name": "cedar"}

# Canonical dyno sizes; eco and basic allow one dyno per process type, as on Heroku.
DYNO_SIZES = ["Eco", "Basic", "Standard-1X", "Standard-2X", "Performance-M", "Performance-L",
              "Performance-L-RAM", "Performance-XL", "Performance-2XL"]
SINGLE_DYNO_SIZES = {"Eco", "Basic"}


def stable_id(*parts: object) -> str:
    """Deterministic UUIDs for the seed fixture, so a reset gives the same ids."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


def new_id() -> str:
    return str(uuid.uuid4())


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_precise(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int((ts % 1) * 1e6):06d}+00:00"


def canonical_size(name: str) -> str | None:
    for size in DYNO_SIZES:
        if size.lower() == str(name).lower() or stable_id("size", size) == name:
            return size
    return None


def size_ref(size: str) -> dict[str, str]:
    return {"id": stable_id("size", size), "name": size}


USER = {"id": ACCOUNT_ID, "email": ACCOUNT_EMAIL}


@dataclass
class Release:
    id: str
    version: int
    description: str
    created_at: float
    status: str = "succeeded"
    slug_id: str | None = None
    config: dict[str, str] = field(default_factory=dict)
    runtime: str = "ok"  # "ok" or "crash": how the release's processes behave
    schema_version: int | None = None  # migration the release's code expects
    addon_plan_names: list[str] = field(default_factory=list)
    updated_at: float = 0.0
    output_stream_url: str | None = None

    def eligible(self) -> bool:
        return self.status == "succeeded" and self.slug_id is not None


@dataclass
class Formation:
    id: str
    type: str
    quantity: int
    size: str
    command: str
    created_at: float
    updated_at: float


@dataclass
class Addon:
    id: str
    name: str
    service: str
    plan: str
    config_vars: list[str]
    attachment_id: str
    attachment_name: str
    created_at: float
    cents: int


@dataclass
class OneOff:
    id: str
    name: str
    command: str
    size: str
    created_at: float
    updated_at: float
    release_id: str
    release_version: int
    attach: bool
    env: dict[str, str]
    state: str = "starting"
    exit_status: int | None = None
    secret: str = ""
    claimed: bool = False  # set once a runner has taken the dyno, so it runs exactly once
    finished: threading.Event = field(default_factory=threading.Event)


@dataclass
class Build:
    id: str
    source_blob: dict[str, Any]
    buildpacks: list[dict[str, str]] | None
    created_at: float
    updated_at: float
    status: str = "pending"
    slug_id: str | None = None
    release_id: str | None = None
    output: list[str] = field(default_factory=list)


@dataclass
class Slug:
    id: str
    commit: str | None
    checksum: str
    size: int
    process_types: dict[str, str]
    created_at: float
    runtime: str = "ok"
    schema_version: int | None = None


@dataclass
class Transfer:
    uuid: str
    num: int
    from_type: str
    from_name: str
    from_url: str
    to_type: str
    to_name: str
    to_url: str
    created_at: float
    updated_at: float
    started_at: float | None = None
    finished_at: float | None = None
    canceled_at: float | None = None
    deleted_at: float | None = None
    succeeded: bool = False
    processed_bytes: int = 0
    source_bytes: int = 0
    warnings: int = 0
    schedule: dict[str, str] | None = None
    logs: list[dict[str, str]] = field(default_factory=list)
    file: str | None = None

    def log(self, message: str, level: str = "info") -> None:
        self.logs.append({"created_at": iso(time.time()) or "", "level": level, "message": message})

    def to_api(self, verbose: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "uuid": self.uuid, "num": self.num, "num_keep": 7,
            "from_name": self.from_name, "from_type": self.from_type, "from_url": self.from_url,
            "to_name": self.to_name, "to_type": self.to_type, "to_url": self.to_url,
            "created_at": iso(self.created_at), "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at), "updated_at": iso(self.updated_at),
            "canceled_at": iso(self.canceled_at), "deleted_at": iso(self.deleted_at), "purged_at": None,
            "succeeded": self.succeeded, "processed_bytes": self.processed_bytes,
            "source_bytes": self.source_bytes, "warnings": self.warnings, "options": {},
        }
        if self.schedule:
            body["schedule"] = self.schedule
        if verbose:
            body["logs"] = list(self.logs)
        return body


@dataclass
class Schedule:
    uuid: str
    name: str
    hour: int
    timezone: str

    def to_api(self) -> dict[str, Any]:
        return {"uuid": self.uuid, "name": self.name, "hour": self.hour, "timezone": self.timezone}


@dataclass
class Knobs:
    db_latency_ms: int = 0
    db_down: bool = False
    redis_down: bool = False
    transfer_delay_ms: int = 300
    release_phase_ms: int = 500


_LOG_SEQ = itertools.count(1)


@dataclass
class LogLine:
    ts: float
    source: str  # "app" or "heroku"
    dyno: str  # "web.1", "run.1234", "router", "api"
    message: str
    seq: int = field(default_factory=lambda: next(_LOG_SEQ))

    def render(self) -> str:
        return f"{iso_precise(self.ts)} {self.source}[{self.dyno}]: {self.message}"


@dataclass
class App:
    id: str
    name: str
    kind: str  # "node" or "rails": which one-off commands make sense
    created_at: float
    updated_at: float
    buildpack: str
    maintenance: bool = False
    releases: list[Release] = field(default_factory=list)
    formation: dict[str, Formation] = field(default_factory=dict)
    dynos_booted_at: float = 0.0
    starting_until: float = 0.0
    oneoffs: dict[str, OneOff] = field(default_factory=dict)
    builds: dict[str, Build] = field(default_factory=dict)
    slugs: dict[str, Slug] = field(default_factory=dict)
    addons: list[Addon] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    knobs: Knobs = field(default_factory=Knobs)
    logs: collections.deque[LogLine] = field(default_factory=lambda: collections.deque(maxlen=2000))
    mics: int = 0  # documents the micmap seed script writes (its MongoDB is not emulated)
    build_cache: bool = True

    # ------------------------------------------------------------------ derived state
    @property
    def web_url(self) -> str:
        return f"http://{HOST}:{ROUTER_PORT}/{self.name}/"

    def current_release(self) -> Release | None:
        succeeded = [r for r in self.releases if r.status == "succeeded"]
        return max(succeeded, key=lambda r: r.version) if succeeded else None

    def latest_release(self) -> Release | None:
        """The newest release that is live or about to be: its config is the app's config."""
        live = [r for r in self.releases if r.status in ("succeeded", "pending")]
        return max(live, key=lambda r: r.version) if live else None

    def config_now(self) -> dict[str, str]:
        latest = self.latest_release()
        return dict(latest.config) if latest else {}

    def release_by(self, ident: str) -> Release | None:
        ident = str(ident)
        if ident.lower().startswith("v") and ident[1:].isdigit():
            ident = ident[1:]
        for release in self.releases:
            if release.id == ident or str(release.version) == ident:
                return release
        return None

    def postgres(self) -> Addon | None:
        return next((a for a in self.addons if a.service == "heroku-postgresql"), None)

    def crashing(self) -> bool:
        current = self.current_release()
        return current is not None and current.runtime == "crash"

    def next_version(self) -> int:
        return max((r.version for r in self.releases), default=0) + 1

    def ref(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}

    def add_log(self, source: str, dyno: str, message: str) -> None:
        self.logs.append(LogLine(time.time(), source, dyno, message))

    # ------------------------------------------------------------------ API shapes
    def to_api(self) -> dict[str, Any]:
        current = self.current_release()
        slug = self.slugs.get(current.slug_id) if current and current.slug_id else None
        return {
            "acm": False, "archived_at": None, "buildpack_provided_description": self.buildpack,
            "build_stack": STACK, "created_at": iso(self.created_at), "generation": GENERATION,
            "git_url": f"https://git.heroku.com/{self.name}.git", "id": self.id, "internal_routing": None,
            "maintenance": self.maintenance, "name": self.name,
            "owner": {"email": ACCOUNT_EMAIL, "id": ACCOUNT_ID}, "organization": None, "team": None,
            "region": REGION, "released_at": iso(current.created_at) if current else None, "repo_size": None,
            "slug_size": slug.size if slug else None, "space": None, "stack": STACK,
            "updated_at": iso(self.updated_at), "web_url": self.web_url,
        }

    def release_to_api(self, release: Release) -> dict[str, Any]:
        current = self.current_release()
        return {
            "addon_plan_names": list(release.addon_plan_names),
            "artifacts": [{"type": "slug", "id": release.slug_id}] if release.slug_id else [],
            "app": self.ref(), "created_at": iso(release.created_at), "description": release.description,
            "id": release.id, "updated_at": iso(release.updated_at or release.created_at),
            "slug": {"id": release.slug_id} if release.slug_id else None, "status": release.status,
            "user": USER, "version": release.version, "current": current is release,
            "output_stream_url": release.output_stream_url, "eligible_for_rollback": release.eligible(),
        }

    def formation_to_api(self, formation: Formation) -> dict[str, Any]:
        return {
            "app": self.ref(), "command": formation.command, "created_at": iso(formation.created_at),
            "dyno_size": size_ref(formation.size), "id": formation.id, "quantity": formation.quantity,
            "size": formation.size, "type": formation.type, "updated_at": iso(formation.updated_at),
        }

    def process_dynos(self, now: float) -> list[dict[str, Any]]:
        """The formation's dynos, whose state follows restarts and the current release."""
        current = self.current_release()
        state = "crashed" if self.crashing() else ("starting" if now < self.starting_until else "up")
        dynos = []
        for formation in sorted(self.formation.values(), key=lambda f: f.type):
            for index in range(1, formation.quantity + 1):
                name = f"{formation.type}.{index}"
                dynos.append({
                    "attach_url": None, "command": formation.command, "created_at": iso(self.dynos_booted_at),
                    "id": stable_id(self.id, name, self.dynos_booted_at), "name": name,
                    "release": {"id": current.id, "version": current.version} if current else
                    {"id": stable_id(self.id, "no-release"), "version": 0},
                    "app": self.ref(), "size": formation.size, "state": state, "type": formation.type,
                    "updated_at": iso(self.dynos_booted_at),
                })
        return dynos

    def oneoff_to_api(self, dyno: OneOff, attach_url: str | None) -> dict[str, Any]:
        return {
            "attach_url": attach_url, "command": dyno.command, "created_at": iso(dyno.created_at), "id": dyno.id,
            "name": dyno.name, "release": {"id": dyno.release_id, "version": dyno.release_version},
            "app": self.ref(), "size": dyno.size, "state": dyno.state, "type": "run",
            "updated_at": iso(dyno.updated_at),
        }

    def build_to_api(self, build: Build) -> dict[str, Any]:
        return {
            "app": {"id": self.id}, "buildpacks": build.buildpacks, "created_at": iso(build.created_at),
            "id": build.id, "output_stream_url": f"{api_url()}/__streams/builds/{build.id}",
            "source_blob": {"checksum": build.source_blob.get("checksum"), "url": build.source_blob.get("url", ""),
                            "version": build.source_blob.get("version"),
                            "version_description": build.source_blob.get("version_description")},
            "release": {"id": build.release_id} if build.release_id else None,
            "slug": {"id": build.slug_id} if build.slug_id else None, "stack": STACK["name"],
            "status": build.status, "updated_at": iso(build.updated_at), "user": USER,
        }

    def slug_to_api(self, slug: Slug) -> dict[str, Any]:
        return {
            "blob": {"method": "GET", "url": f"{api_url()}/__blobs/slugs/{slug.id}.tgz"},
            "buildpack_provided_description": self.buildpack, "checksum": slug.checksum, "commit": slug.commit,
            "commit_description": None, "created_at": iso(slug.created_at), "id": slug.id,
            "process_types": dict(slug.process_types), "size": slug.size, "stack": STACK,
            "updated_at": iso(slug.created_at), "deleted_at": None,
        }

    def addon_to_api(self, addon: Addon) -> dict[str, Any]:
        return {
            "actions": [], "addon_service": {"id": stable_id("service", addon.service), "name": addon.service},
            "billing_entity": {"id": self.id, "name": self.name, "type": "app"}, "app": self.ref(),
            "billed_price": {"cents": addon.cents, "contract": False, "unit": "month"},
            "config_vars": list(addon.config_vars), "created_at": iso(addon.created_at), "id": addon.id,
            "name": addon.name, "plan": {"id": stable_id("plan", addon.plan), "name": addon.plan},
            "provider_id": addon.id[:8], "state": "provisioned", "updated_at": iso(addon.created_at),
            "web_url": f"https://addons-sso.heroku.com/apps/{self.id}/addons/{addon.id}",
        }

    def attachment_to_api(self, addon: Addon, inclusions: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "addon": {"id": addon.id, "name": addon.name, "app": self.ref()}, "app": self.ref(),
            "created_at": iso(addon.created_at), "id": addon.attachment_id, "name": addon.attachment_name,
            "namespace": None, "updated_at": iso(addon.created_at),
            "web_url": f"https://addons-sso.heroku.com/apps/{self.id}/addons/{addon.id}", "log_input_url": None,
        }
        # Accept-Inclusion widens the shape beyond the schema, as the real API does for the CLI.
        if "addon:plan" in inclusions:
            body["addon"]["plan"] = {"id": stable_id("plan", addon.plan), "name": addon.plan}
        if "config_vars" in inclusions:
            body["config_vars"] = list(addon.config_vars)
        return body


@dataclass
class RequestRecord:
    seq: int
    ts: float
    method: str
    path: str
    status: int
    request_id: str
    token: str | None

    def to_api(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts, "method": self.method, "path": self.path, "status": self.status,
                "request_id": self.request_id}
