"""Heroku Postgres backups API (``/client/v11``) as the Heroku CLI uses it."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

from . import api_url, database
from .httpcore import ApiError, Request, Response, Router, not_found
from .lab import Lab
from .model import App, Schedule, Transfer, new_id
from .services import admin_password


def _plan_label(plan: str) -> str:
    return plan.split(":", 1)[-1].replace("-", " ").title()


def sign(path: str, expires: int) -> str:
    return hmac.new(admin_password().encode(), f"{path}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


class BackupsApi:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/client/v11/databases/{addon}", self.database_info, schema=False)
        add("POST", "/client/v11/databases/{addon}/backups", self.capture, schema=False)
        add("POST", "/client/v11/databases/{addon}/restores", self.restore, schema=False)
        add("GET", "/client/v11/databases/{addon}/transfer-schedules", self.list_schedules, schema=False)
        add("POST", "/client/v11/databases/{addon}/transfer-schedules", self.create_schedule, schema=False)
        add("DELETE", "/client/v11/databases/{addon}/transfer-schedules/{schedule}", self.delete_schedule,
            schema=False)
        add("GET", "/client/v11/apps/{app}/transfers", self.list_transfers, schema=False)
        add("GET", "/client/v11/apps/{app}/transfers/{transfer}", self.get_transfer, schema=False)
        add("DELETE", "/client/v11/apps/{app}/transfers/{transfer}", self.delete_transfer, schema=False)
        add("POST", "/client/v11/apps/{app}/transfers/{transfer}/actions/cancel", self.cancel, schema=False)
        add("POST", "/client/v11/apps/{app}/transfers/{transfer}/actions/public-url", self.public_url,
            schema=False)

    def _database(self, request: Request) -> tuple[App, object]:
        app, addon = self.lab.addon(request.params["addon"])
        if addon.service != "heroku-postgresql":
            raise not_found("database")
        return app, addon

    def _transfer(self, app: App, ident: str) -> Transfer:
        with self.lab.lock:
            for transfer in app.transfers:
                if transfer.deleted_at is None and ident in (transfer.uuid, str(transfer.num)):
                    return transfer
        raise not_found("transfer")

    def database_info(self, request: Request) -> Response:
        app, addon = self._database(request)
        db = database.database_for(app.name)
        reachable = database.probe(db) is not None
        size, tables = database.database_size(db) if reachable else (0, 0)
        return Response(200, {
            "addon_id": addon.id, "name": addon.name, "plan": addon.plan.split(":", 1)[-1],
            "num_bytes": size, "num_tables": tables, "postgres_version": "15",
            "resource_url": db.url, "waiting?": False,
            "info": [
                {"name": "Plan", "values": [_plan_label(addon.plan)]},
                {"name": "Status", "values": ["Available" if reachable else "Unavailable"]},
                {"name": "Data Size", "values": [f"{size / 1024 / 1024:.1f} MB"]},
                {"name": "Tables", "values": [tables]},
                {"name": "PG Version", "values": ["15"]},
                {"name": "Continuous Protection", "values": ["Off"]},
                {"name": "Rollback", "values": ["Unsupported"]},
            ],
        })

    def capture(self, request: Request) -> Response:
        app, _ = self._database(request)
        transfer = self.lab.start_capture(app)
        with self.lab.lock:
            return Response(201, transfer.to_api(False))

    def restore(self, request: Request) -> Response:
        body = request.json()
        url = body.get("backup_url")
        if not url:
            raise ApiError(422, "invalid_params", "backup_url is required.")
        app, addon = self._database(request)
        transfer = self.lab.start_restore(app, addon, str(url))  # type: ignore[arg-type]
        with self.lab.lock:
            return Response(201, transfer.to_api(False))

    def list_schedules(self, request: Request) -> Response:
        app, _ = self._database(request)
        with self.lab.lock:
            return Response(200, [s.to_api() for s in app.schedules])

    def create_schedule(self, request: Request) -> Response:
        body = request.json()
        app, _ = self._database(request)
        try:
            hour = int(str(body.get("hour", "")).strip())
        except ValueError:
            raise ApiError(422, "invalid_params", "hour must be 0-23.") from None
        if not 0 <= hour <= 23:
            raise ApiError(422, "invalid_params", "hour must be 0-23.")
        name = str(body.get("schedule_name") or "DATABASE_URL")
        timezone = str(body.get("timezone") or "UTC")
        with self.lab.lock:
            existing = next((s for s in app.schedules if s.name == name), None)
            if existing:
                existing.hour, existing.timezone = hour, timezone
                schedule = existing
            else:
                schedule = Schedule(new_id(), name, hour, timezone)
                app.schedules.append(schedule)
            return Response(201, schedule.to_api())

    def delete_schedule(self, request: Request) -> Response:
        app, _ = self._database(request)
        with self.lab.lock:
            schedule = next((s for s in app.schedules if s.uuid == request.params["schedule"]), None)
            if schedule is None:
                raise not_found("schedule")
            app.schedules.remove(schedule)
            return Response(200, schedule.to_api())

    def list_transfers(self, request: Request) -> Response:
        app = self.lab.app(request.params["app"])
        with self.lab.lock:
            return Response(200, [t.to_api(request.flag("verbose")) for t in app.transfers if t.deleted_at is None])

    def get_transfer(self, request: Request) -> Response:
        app = self.lab.app(request.params["app"])
        transfer = self._transfer(app, request.params["transfer"])
        with self.lab.lock:
            return Response(200, transfer.to_api(request.flag("verbose")))

    def delete_transfer(self, request: Request) -> Response:
        app = self.lab.app(request.params["app"])
        transfer = self._transfer(app, request.params["transfer"])
        self.lab.delete_transfer(transfer)
        with self.lab.lock:
            return Response(200, transfer.to_api(False))

    def cancel(self, request: Request) -> Response:
        app = self.lab.app(request.params["app"])
        transfer = self._transfer(app, request.params["transfer"])
        self.lab.cancel_transfer(transfer)
        with self.lab.lock:
            return Response(200, transfer.to_api(False))

    def public_url(self, request: Request) -> Response:
        app = self.lab.app(request.params["app"])
        transfer = self._transfer(app, request.params["transfer"])
        if not (transfer.succeeded and transfer.to_type == "gof3r" and transfer.file and Path(transfer.file).exists()):
            raise ApiError(422, "invalid_params", "Only completed backups have a public URL.")
        expires = int(time.time()) + 3600
        path = f"/__blobs/backups/{transfer.uuid}.dump"
        return Response(200, {"url": f"{api_url()}{path}?expires={expires}&signature={sign(path, expires)}",
                              "expires_at": time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(expires))})
