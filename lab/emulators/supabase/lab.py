"""The emulator's state: projects, their backups and snapshots, and restores running in the background.

Backups are real ``pg_dump -Fc`` files of the project's database. Point-in-time recovery has no
WAL here: the emulator snapshots each project with PITR every ``snapshot_interval_seconds`` (and
on demand through ``/__lab``), and a PITR restore to time T loads the newest snapshot taken at or
before T. The recovery point is therefore up to one snapshot interval before T (the granularity
lab/emulators/README.md states); Supabase's own PITR replays WAL to the second.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg2

from heroku import database as pg
from heroku.httpcore import Faults, RateLimiter, RequestLog
from heroku.services import admin_dsn

from . import ORGANIZATION_SLUG, REGION, state_dir

# The projects the lab seeds. mysetlist's database is the one the Vercel emulator's app reads
# (its /api/health/db), so a restore here is what the app serves afterwards.
SEED_PROJECTS = (
    {"app": "mysetlist", "name": "mysetlist-sonnet", "ref": "mysetlistlabsupabase", "database": "mysetlist",
     "pitr_enabled": True},
)
# Snapshots kept per project for PITR (older ones are deleted with their files).
PITR_SNAPSHOTS_KEPT = 500


class SupabaseError(Exception):
    """Rendered as the Management API's error body ``{"message": ...}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def database_exists(name: str) -> bool:
    connection = psycopg2.connect(admin_dsn())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cursor.fetchone() is not None
    finally:
        connection.close()


def seed_rows(db: pg.AppDatabase) -> None:
    """mysetlist's schema and rows: the same seed as the Vercel emulator's app database."""
    from vercel.services import seed_mysetlist
    seed_mysetlist(db.dsn())


class Lab:
    """Everything the API serves, guarded by one lock; persisted to ``state.json``."""

    def __init__(self, tokens: set[str]) -> None:
        self.tokens = tokens
        self.lock = threading.RLock()
        self.faults = Faults()
        self.requests = RequestLog()
        # The Management API allows 120 requests a minute per user.
        self.rate = RateLimiter(capacity=120, refill_per_minute=120.0)
        self.knobs: dict[str, float] = {
            "restore_seconds": 1.0,
            "snapshot_interval_seconds": float(_env_float("SUPABASE_EMU_SNAPSHOT_INTERVAL", 60.0)),
            "backup_interval_seconds": 6 * 3600.0,
        }
        self.projects: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, list[dict[str, Any]]] = {}
        self.next_capture_id = 1
        self._state_file = state_dir() / "state.json"
        self._threads: list[threading.Thread] = []

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        if self._state_file.exists():
            self._load()
            for project in self.projects.values():
                if not database_exists(project["database"]):
                    self._create_database(project)
                if project["status"] == "RESTORING":  # a restore the emulator's restart cut short
                    project["status"] = "ACTIVE_HEALTHY"
        else:
            self.reset()
        thread = threading.Thread(target=self._schedule, daemon=True)
        thread.start()

    def reset(self) -> None:
        """Back to the seed: databases recreated with their rows, one physical backup each."""
        with self.lock:
            for captures in self.captures.values():
                for capture in captures:
                    Path(capture["file"]).unlink(missing_ok=True)
            self.projects, self.captures, self.faults = {}, {}, Faults()
            self.rate.configure()
            for seed in SEED_PROJECTS:
                project = {**seed, "created_at": time.time(), "status": "ACTIVE_HEALTHY", "walg_enabled": True,
                           "last_restore": None}
                self.projects[project["ref"]] = project
                self.captures[project["ref"]] = []
                self._create_database(project)
                self.capture(project["ref"], "physical")
            self._save()

    def _create_database(self, project: dict[str, Any]) -> None:
        db = self.database(project)
        pg.create_database(db)
        seed_rows(db)

    def _load(self) -> None:
        state = json.loads(self._state_file.read_text())
        self.projects, self.captures = state["projects"], state["captures"]
        self.next_capture_id = state["next_capture_id"]
        self.knobs.update(state.get("knobs") or {})

    def _save(self) -> None:
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"projects": self.projects, "captures": self.captures,
                                         "next_capture_id": self.next_capture_id, "knobs": self.knobs}))
        temporary.replace(self._state_file)

    # -- projects ---------------------------------------------------------------------

    def project(self, ref: str) -> dict[str, Any]:
        project = self.projects.get(ref)
        if project is None:
            raise SupabaseError(404, f"Project {ref} not found")
        return project

    @staticmethod
    def database(project: dict[str, Any]) -> pg.AppDatabase:
        return pg.database_for(project["database"])

    def project_api(self, project: dict[str, Any]) -> dict[str, Any]:
        return {"id": project["ref"], "ref": project["ref"], "organization_id": ORGANIZATION_SLUG,
                "organization_slug": ORGANIZATION_SLUG, "name": project["name"], "region": REGION,
                "created_at": iso(project["created_at"]), "status": project["status"],
                "database": {"host": "127.0.0.1", "version": "15.8.1.000", "postgres_engine": "15",
                             "release_channel": "ga"}}

    # -- backups and snapshots --------------------------------------------------------

    def capture(self, ref: str, kind: str) -> dict[str, Any]:
        """A real pg_dump -Fc of the project's database: a physical backup or a PITR snapshot."""
        project = self.project(ref)
        with self.lock:
            ident = self.next_capture_id
            self.next_capture_id += 1
        folder = state_dir() / "dumps" / ref
        target = folder / f"{ident:06d}-{kind}.dump"
        taken_at = time.time()
        result = pg.dump(self.database(project), target)
        capture = {"id": ident, "kind": kind, "taken_at": taken_at, "file": str(target),
                   "status": "COMPLETED" if result.returncode == 0 else "FAILED"}
        with self.lock:
            captures = self.captures.setdefault(ref, [])
            captures.append(capture)
            snapshots = [c for c in captures if c["kind"] == "pitr"]
            for old in snapshots[:-PITR_SNAPSHOTS_KEPT]:
                Path(old["file"]).unlink(missing_ok=True)
                captures.remove(old)
            self._save()
        return capture

    def backups_api(self, ref: str) -> dict[str, Any]:
        project = self.project(ref)
        with self.lock:
            captures = [c for c in self.captures.get(ref, []) if c["status"] == "COMPLETED"]
            physical = [c for c in self.captures.get(ref, []) if c["kind"] == "physical"]
        body: dict[str, Any] = {
            "region": REGION, "walg_enabled": bool(project.get("walg_enabled", True)),
            "pitr_enabled": bool(project.get("pitr_enabled")),
            "backups": [{"id": c["id"], "is_physical_backup": True, "status": c["status"],
                         "inserted_at": iso(c["taken_at"])} for c in sorted(physical, key=lambda c: -c["taken_at"])],
            "physical_backup_data": {}}
        if project.get("pitr_enabled") and captures:
            body["physical_backup_data"] = {
                "earliest_physical_backup_date_unix": int(min(c["taken_at"] for c in captures)),
                # WAL is archived continuously on Supabase, so the window reaches the present (the
                # restore takes the newest snapshot at or before the target, as restore_pitr says).
                "latest_physical_backup_date_unix": int(time.time())}
        return body

    # -- restores ---------------------------------------------------------------------

    def restore_backup(self, ref: str, backup_id: int) -> None:
        project = self.project(ref)
        capture = next((c for c in self.captures.get(ref, []) if c["id"] == backup_id and c["kind"] == "physical"),
                       None)
        if capture is None or capture["status"] != "COMPLETED":
            raise SupabaseError(400, f"Backup {backup_id} not found or not restorable")
        self._start_restore(project, capture, {"kind": "backup", "backup_id": backup_id})

    def restore_pitr(self, ref: str, target_unix: int) -> None:
        project = self.project(ref)
        if not project.get("pitr_enabled"):
            raise SupabaseError(400, "Point in time recovery is not enabled for this project")
        captures = sorted((c for c in self.captures.get(ref, []) if c["status"] == "COMPLETED"),
                          key=lambda c: c["taken_at"])
        if not captures or target_unix < int(captures[0]["taken_at"]) or target_unix > time.time():
            raise SupabaseError(400, "recovery_time_target_unix is outside the recovery window "
                                     f"({int(captures[0]['taken_at']) if captures else '-'} to now)")
        capture = [c for c in captures if int(c["taken_at"]) <= target_unix][-1]
        self._start_restore(project, capture, {"kind": "pitr", "recovery_time_target_unix": target_unix})

    def _start_restore(self, project: dict[str, Any], capture: dict[str, Any], what: dict[str, Any]) -> None:
        with self.lock:
            if project["status"] != "ACTIVE_HEALTHY":
                raise SupabaseError(400, f"Project is {project['status']}: it cannot be restored now")
            project["status"] = "RESTORING"
            project["last_restore"] = {**what, "capture_id": capture["id"], "captured_at": capture["taken_at"],
                                       "started_at": time.time(), "finished_at": None, "status": "RESTORING"}
            self._save()
        thread = threading.Thread(target=self._restore, args=(project, capture), daemon=True)
        thread.start()

    def _restore(self, project: dict[str, Any], capture: dict[str, Any]) -> None:
        """As a physical restore does: the database is replaced as a whole (sessions dropped)."""
        time.sleep(self.knobs["restore_seconds"])
        db = self.database(project)
        error = ""
        try:
            pg.create_database(db)
            result = pg.restore(db, Path(capture["file"]))
            # pg_restore exits 1 on warnings it ignored; the dump's own objects are what count.
            if result.returncode not in (0, 1):
                error = result.stderr.strip()[-500:]
        except (OSError, psycopg2.Error) as failure:
            error = str(failure)
        with self.lock:
            project["status"] = "RESTORE_FAILED" if error else "ACTIVE_HEALTHY"
            project["last_restore"].update(finished_at=time.time(), status=project["status"], error=error)
            self._save()

    # -- the schedule -----------------------------------------------------------------

    def _schedule(self) -> None:
        """PITR snapshots every snapshot_interval_seconds, physical backups every backup_interval_seconds."""
        while True:
            time.sleep(1.0)
            for ref, project in list(self.projects.items()):
                if project["status"] != "ACTIVE_HEALTHY":
                    continue
                for kind, knob in (("pitr", "snapshot_interval_seconds"), ("physical", "backup_interval_seconds")):
                    interval = self.knobs[knob]
                    if kind == "pitr" and not project.get("pitr_enabled") or interval <= 0:
                        continue
                    with self.lock:
                        last = max((c["taken_at"] for c in self.captures.get(ref, []) if c["kind"] == kind),
                                   default=0.0)
                    if time.time() - last >= interval:
                        try:
                            self.capture(ref, kind)
                        except (OSError, psycopg2.Error, SupabaseError):
                            pass  # the next tick tries again

    def set_knobs(self, values: dict[str, Any]) -> None:
        with self.lock:
            for key, value in values.items():
                if key not in self.knobs:
                    raise SupabaseError(400, f"unknown knob {key}")
                self.knobs[key] = float(value)
            self._save()

    def state_api(self, project: dict[str, Any]) -> dict[str, Any]:
        """Everything, the database URL included: the tests' and lab-up's view."""
        return {**self.project_api(project), "app": project["app"], "database_name": project["database"],
                "db_url": self.database(project).url, "pitr_enabled": project.get("pitr_enabled", False),
                "last_restore": project.get("last_restore"), "captures": self.captures.get(project["ref"], [])}


def _env_float(name: str, default: float) -> float:
    import os
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default
