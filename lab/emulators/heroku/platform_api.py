"""Platform API routes (schema.json resources the runbooks and the CLI use)."""

from __future__ import annotations

import time
from typing import Any

from .httpcore import ApiError, Request, Response, Router, not_found
from .lab import Lab
from .model import ACCOUNT_EMAIL, ACCOUNT_ID, App, iso, new_id
from .oneoff import create_oneoff

RANGE_FIELDS = {"releases": ("version", {"version", "id", "created_at"}),
                "apps": ("name", {"name", "id", "created_at", "updated_at"}),
                "dynos": ("name", {"name", "id", "created_at", "updated_at", "type"}),
                "default": ("id", {"id", "name", "created_at", "updated_at", "type"})}
MAX_PAGE = 1000
DEFAULT_PAGE = 200


def _parse_range(header: str) -> dict[str, Any]:
    """Heroku's ``Range: <field> [start]..[end]; max=N, order=asc|desc`` (``]`` makes start exclusive)."""
    head, _, params = header.partition(";")
    tokens = head.strip().split(None, 1)
    spec: dict[str, Any] = {"field": tokens[0] if tokens else "id", "start": "", "end": "", "exclusive": False,
                            "max": DEFAULT_PAGE, "order": "asc"}
    bounds = tokens[1].strip() if len(tokens) > 1 else ".."
    if ".." not in bounds:
        raise ApiError(400, "bad_request", f"Invalid Range header: {header}")
    start, end = bounds.split("..", 1)
    if start.startswith("]"):
        spec["exclusive"], start = True, start[1:]
    spec["start"], spec["end"] = start.strip(), end.strip()
    for item in params.replace(";", ",").split(","):
        key, _, value = item.strip().partition("=")
        if key == "max" and value.strip().isdigit():
            spec["max"] = max(1, min(MAX_PAGE, int(value)))
        elif key == "order" and value.strip() in ("asc", "desc"):
            spec["order"] = value.strip()
    return spec


def paginate(request: Request, items: list[dict[str, Any]], kind: str = "default") -> Response:
    default_field, allowed = RANGE_FIELDS.get(kind, RANGE_FIELDS["default"])
    header = request.header("Range")
    spec = _parse_range(header) if header else {"field": default_field, "start": "", "end": "", "exclusive": False,
                                                "max": DEFAULT_PAGE, "order": "asc"}
    field = spec["field"]
    if field not in allowed:
        raise ApiError(400, "bad_request", f"Invalid Range header: cannot sort by {field}.")
    numeric = all(isinstance(i.get(field), int) for i in items)
    cast = (lambda v: int(v)) if numeric else (lambda v: str(v))  # noqa: E731
    descending = spec["order"] == "desc"
    ordered = sorted(items, key=lambda i: cast(i.get(field)), reverse=descending)

    def after_start(item: dict[str, Any]) -> bool:
        if spec["start"] == "":
            return True
        value, start = cast(item.get(field)), cast(spec["start"])
        if spec["exclusive"]:
            return value < start if descending else value > start
        return value <= start if descending else value >= start

    def before_end(item: dict[str, Any]) -> bool:
        if spec["end"] == "":
            return True
        value, end = cast(item.get(field)), cast(spec["end"])
        return value >= end if descending else value <= end

    selected = [i for i in ordered if after_start(i) and before_end(i)]
    page = selected[: spec["max"]]
    headers: dict[str, str] = {}
    if page:
        headers["Content-Range"] = f"{field} {page[0].get(field)}..{page[-1].get(field)}"
    if len(selected) > len(page):
        headers["Next-Range"] = f"{field} ]{page[-1].get(field)}..; max={spec['max']}, order={spec['order']}"
        headers["Accept-Ranges"] = ", ".join(sorted(allowed))
        return Response(206, page, headers)
    headers["Accept-Ranges"] = ", ".join(sorted(allowed))
    return Response(200, page, headers)


def _inclusions(request: Request) -> set[str]:
    return {part.strip() for part in request.header("Accept-Inclusion").split(",") if part.strip()}


class PlatformApi:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/account", self.account)
        add("GET", "/account/rate-limits", self.rate_limits)
        add("GET", "/apps", self.list_apps)
        add("GET", "/apps/{app}", self.get_app)
        add("PATCH", "/apps/{app}", self.patch_app)
        add("GET", "/apps/{app}/releases", self.list_releases)
        add("GET", "/apps/{app}/releases/{release}", self.get_release)
        add("POST", "/apps/{app}/releases", self.create_release)
        add("GET", "/apps/{app}/releases/{release}/config-vars", self.release_config)
        add("GET", "/apps/{app}/formation", self.list_formation)
        add("PATCH", "/apps/{app}/formation", self.batch_formation)
        add("GET", "/apps/{app}/formation/{formation}", self.get_formation)
        add("PATCH", "/apps/{app}/formation/{formation}", self.patch_formation)
        add("GET", "/apps/{app}/dynos", self.list_dynos)
        add("POST", "/apps/{app}/dynos", self.create_dyno)
        add("DELETE", "/apps/{app}/dynos", self.restart_all)
        add("GET", "/apps/{app}/dynos/{dyno}", self.get_dyno)
        add("DELETE", "/apps/{app}/dynos/{dyno}", self.restart_dyno)
        add("POST", "/apps/{app}/dynos/{dyno}/actions/stop", self.stop_dyno)
        add("DELETE", "/apps/{app}/formations/{type}", self.restart_type)
        add("POST", "/apps/{app}/formations/{type}/actions/stop", self.stop_type)
        add("GET", "/apps/{app}/builds", self.list_builds)
        add("POST", "/apps/{app}/builds", self.create_build)
        add("GET", "/apps/{app}/builds/{build}", self.get_build)
        add("GET", "/apps/{app}/slugs/{slug}", self.get_slug)
        add("GET", "/apps/{app}/config-vars", self.get_config)
        add("PATCH", "/apps/{app}/config-vars", self.patch_config)
        add("GET", "/apps/{app}/addons", self.list_app_addons)
        add("GET", "/apps/{app}/addons/{addon}", self.get_app_addon)
        add("GET", "/addons", self.list_addons)
        add("GET", "/addons/{addon}", self.get_addon)
        add("POST", "/actions/addons/resolve", self.resolve_addon)
        add("GET", "/apps/{app}/addon-attachments", self.list_app_attachments)
        add("GET", "/apps/{app}/addon-attachments/{attachment}", self.get_app_attachment)
        add("GET", "/addon-attachments", self.list_attachments)
        add("GET", "/addon-attachments/{attachment}", self.get_attachment)
        add("GET", "/addons/{addon}/addon-attachments", self.list_addon_attachments)
        add("POST", "/actions/addon-attachments/resolve", self.resolve_attachment)
        add("POST", "/apps/{app}/log-sessions", self.create_log_session)

    # ------------------------------------------------------------------ account
    def account(self, request: Request) -> Response:
        return Response(200, {
            "allow_tracking": False, "beta": False, "created_at": "2024-01-15T12:00:00Z", "email": ACCOUNT_EMAIL,
            "federated": False, "id": ACCOUNT_ID, "identity_provider": None, "last_login": iso(self.lab.started),
            "name": "AppOps Lab", "sms_number": None, "suspended_at": None, "delinquent_at": None,
            "two_factor_authentication": False, "updated_at": iso(self.lab.started), "verified": True,
            "country_of_residence": None, "default_organization": None, "default_team": None,
        })

    def rate_limits(self, request: Request) -> Response:
        return Response(200, {"remaining": self.lab.limiter.remaining(request.token or "")})

    # ------------------------------------------------------------------ apps
    def _app(self, request: Request) -> App:
        return self.lab.app(request.params["app"])

    def list_apps(self, request: Request) -> Response:
        with self.lab.lock:
            items = [app.to_api() for app in self.lab.apps.values()]
        return paginate(request, items, "apps")

    def get_app(self, request: Request) -> Response:
        with self.lab.lock:
            return Response(200, self._app(request).to_api())

    def patch_app(self, request: Request) -> Response:
        body = request.json()
        app = self._app(request)
        with self.lab.lock:
            if "maintenance" in body:
                if not isinstance(body["maintenance"], bool):
                    raise ApiError(422, "invalid_params", "maintenance must be a boolean.")
                if app.maintenance != body["maintenance"]:
                    app.maintenance = body["maintenance"]
                    app.updated_at = time.time()
                    app.add_log("app", "api", f"{'Enable' if app.maintenance else 'Disable'} maintenance mode by "
                                              "user ops@appops.example")
            if body.get("name") not in (None, app.name):
                raise ApiError(422, "invalid_params", "Renaming apps is not emulated in the lab.")
            return Response(200, app.to_api())

    # ------------------------------------------------------------------ releases
    def list_releases(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            items = [app.release_to_api(r) for r in app.releases]
        return paginate(request, items, "releases")

    def get_release(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            release = app.release_by(request.params["release"])
            if release is None:
                raise not_found("release")
            return Response(200, app.release_to_api(release))

    def create_release(self, request: Request) -> Response:
        body = request.json()
        app = self._app(request)
        if body.get("release"):
            release = self.lab.rollback(app, str(body["release"]))
        elif body.get("slug"):
            release = self.lab.release_from_slug(app, str(body["slug"]), body.get("description"))
        else:
            raise ApiError(422, "invalid_params", "release (to roll back) or slug is required.")
        with self.lab.lock:
            return Response(201, app.release_to_api(release))

    def release_config(self, request: Request) -> Response:
        app = self._app(request)
        release = app.release_by(request.params["release"])
        if release is None:
            raise not_found("release")
        return Response(200, dict(release.config))

    # ------------------------------------------------------------------ formation
    def list_formation(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            return paginate(request, [app.formation_to_api(f) for f in app.formation.values()])

    def get_formation(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            ident = request.params["formation"]
            formation = app.formation.get(ident) or next((f for f in app.formation.values() if f.id == ident), None)
            if formation is None:
                raise not_found("formation")
            return Response(200, app.formation_to_api(formation))

    def batch_formation(self, request: Request) -> Response:
        body = request.json()
        updates = body.get("updates")
        if not isinstance(updates, list) or not updates:
            raise ApiError(422, "invalid_params", "updates must be a non-empty array.")
        app = self._app(request)
        with self.lab.lock:
            for update in updates:
                if not isinstance(update, dict) or not update.get("type"):
                    raise ApiError(422, "invalid_params", "Each update needs a type.")
                if update["type"] not in app.formation and not any(f.id == update["type"]
                                                                   for f in app.formation.values()):
                    raise ApiError(404, "not_found", f"Couldn't find that process type ({update['type']}).")
            changed = [self.lab.update_formation(app, u["type"], u.get("quantity"), u.get("dyno_size") or u.get("size"))
                       for u in updates]
            return Response(200, [app.formation_to_api(f) for f in changed])

    def patch_formation(self, request: Request) -> Response:
        body = request.json()
        app = self._app(request)
        with self.lab.lock:
            formation = self.lab.update_formation(app, request.params["formation"], body.get("quantity"),
                                                  body.get("dyno_size") or body.get("size"))
            return Response(200, app.formation_to_api(formation))

    # ------------------------------------------------------------------ dynos
    def _attach_url(self, request: Request, dyno: Any) -> str | None:
        if not dyno.attach or dyno.state not in ("starting",):
            return None
        from . import HOST, RENDEZVOUS_PORT
        return f"rendezvous://{HOST}:{RENDEZVOUS_PORT}/{dyno.secret}"

    def list_dynos(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            items = app.process_dynos(time.time())
            items += [app.oneoff_to_api(d, None) for d in app.oneoffs.values() if d.state in ("starting", "up")]
        return paginate(request, items, "dynos")

    def create_dyno(self, request: Request) -> Response:
        app = self._app(request)
        dyno = create_oneoff(self.lab, app, request.json())
        with self.lab.lock:
            return Response(201, app.oneoff_to_api(dyno, self._attach_url(request, dyno)))

    def get_dyno(self, request: Request) -> Response:
        app = self._app(request)
        name = request.params["dyno"]
        with self.lab.lock:
            dyno = app.oneoffs.get(name) or next((d for d in app.oneoffs.values() if d.id == name), None)
            if dyno is not None:
                return Response(200, app.oneoff_to_api(dyno, None))
            for item in app.process_dynos(time.time()):
                if name in (item["name"], item["id"]):
                    return Response(200, item)
        raise not_found("dyno")

    def restart_all(self, request: Request) -> Response:
        app = self._app(request)
        self.lab.restart(app, "Restart all")
        return Response(202, {})

    def restart_dyno(self, request: Request) -> Response:
        app = self._app(request)
        name = request.params["dyno"]
        with self.lab.lock:
            if name in app.oneoffs:
                self._stop_oneoff(app, name)
                return Response(202, {})
            names = {d["name"] for d in app.process_dynos(time.time())}
            if name not in names and name not in app.formation:
                raise not_found("dyno")
            self.lab.restart(app, f"Restart {name}")
        return Response(202, {})

    def _stop_oneoff(self, app: App, name: str) -> None:
        dyno = app.oneoffs[name]
        if dyno.state in ("starting", "up"):
            dyno.claimed = True
            dyno.exit_status = 143
            dyno.state = "crashed"
            dyno.updated_at = time.time()
            app.add_log("heroku", name, "Stopping process with SIGTERM")
            dyno.finished.set()

    def stop_dyno(self, request: Request) -> Response:
        return self.restart_dyno(request)

    def restart_type(self, request: Request) -> Response:
        app = self._app(request)
        if request.params["type"] not in app.formation:
            raise not_found("formation")
        self.lab.restart(app, f"Restart {request.params['type']}")
        return Response(202, {})

    def stop_type(self, request: Request) -> Response:
        return self.restart_type(request)

    # ------------------------------------------------------------------ builds and slugs
    def list_builds(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            return paginate(request, [app.build_to_api(b) for b in app.builds.values()])

    def create_build(self, request: Request) -> Response:
        app = self._app(request)
        build = self.lab.start_build(app, request.json())
        with self.lab.lock:
            return Response(201, app.build_to_api(build))

    def get_build(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            build = app.builds.get(request.params["build"])
            if build is None:
                raise not_found("build")
            return Response(200, app.build_to_api(build))

    def get_slug(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            slug = app.slugs.get(request.params["slug"])
            if slug is None:
                raise not_found("slug")
            return Response(200, app.slug_to_api(slug))

    # ------------------------------------------------------------------ config vars
    def get_config(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            return Response(200, app.config_now())

    def patch_config(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise ApiError(422, "invalid_params", "Config vars must be an object.")
        for key, value in body.items():
            if not key.replace("_", "a").isalnum() or (value is not None and not isinstance(value, (str, int, float, bool))):
                raise ApiError(422, "invalid_params", f"Invalid config var: {key}.")
        app = self._app(request)
        with self.lab.lock:
            return Response(200, self.lab.update_config(app, body))

    # ------------------------------------------------------------------ add-ons and attachments
    def list_app_addons(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            return paginate(request, [app.addon_to_api(a) for a in app.addons])

    def get_app_addon(self, request: Request) -> Response:
        app = self._app(request)
        ident = request.params["addon"]
        with self.lab.lock:
            for addon in app.addons:
                if ident in (addon.id, addon.name, addon.attachment_name, addon.service):
                    return Response(200, app.addon_to_api(addon))
        raise not_found("add-on")

    def list_addons(self, request: Request) -> Response:
        with self.lab.lock:
            items = [app.addon_to_api(a) for app in self.lab.apps.values() for a in app.addons]
        return paginate(request, items)

    def get_addon(self, request: Request) -> Response:
        app, addon = self.lab.addon(request.params["addon"])
        with self.lab.lock:
            return Response(200, app.addon_to_api(addon))

    def _match_addons(self, ident: str, app_name: str | None, service: str | None) -> list[tuple[App, Any]]:
        with self.lab.lock:
            apps = [self.lab.app(app_name)] if app_name else list(self.lab.apps.values())
            matches = []
            for app in apps:
                for addon in app.addons:
                    names = {addon.id, addon.name, addon.attachment_name, addon.attachment_id,
                             f"{addon.attachment_name}_URL", *addon.config_vars, addon.service}
                    if "::" in ident:
                        owner, _, rest = ident.partition("::")
                        if owner != app.name:
                            continue
                        ident_here = rest
                    else:
                        ident_here = ident
                    if ident_here in names and (service is None or addon.service == service):
                        matches.append((app, addon))
            return matches

    def resolve_addon(self, request: Request) -> Response:
        body = request.json()
        if not body.get("addon"):
            raise ApiError(422, "invalid_params", "addon is required.")
        matches = self._match_addons(str(body["addon"]), body.get("app"), body.get("addon_service"))
        if not matches:
            raise not_found("add-on")
        with self.lab.lock:
            return Response(200, [app.addon_to_api(addon) for app, addon in matches])

    def resolve_attachment(self, request: Request) -> Response:
        body = request.json()
        if not body.get("addon_attachment"):
            raise ApiError(422, "invalid_params", "addon_attachment is required.")
        matches = self._match_addons(str(body["addon_attachment"]), body.get("app"), body.get("addon_service"))
        if not matches:
            raise not_found("add-on attachment")
        with self.lab.lock:
            return Response(200, [app.attachment_to_api(addon, _inclusions(request)) for app, addon in matches])

    def list_app_attachments(self, request: Request) -> Response:
        app = self._app(request)
        with self.lab.lock:
            return paginate(request, [app.attachment_to_api(a, _inclusions(request)) for a in app.addons])

    def get_app_attachment(self, request: Request) -> Response:
        app = self._app(request)
        ident = request.params["attachment"]
        with self.lab.lock:
            for addon in app.addons:
                if ident in (addon.attachment_id, addon.attachment_name):
                    return Response(200, app.attachment_to_api(addon, _inclusions(request)))
        raise not_found("add-on attachment")

    def list_attachments(self, request: Request) -> Response:
        with self.lab.lock:
            items = [app.attachment_to_api(a, _inclusions(request)) for app in self.lab.apps.values()
                     for a in app.addons]
        return paginate(request, items)

    def get_attachment(self, request: Request) -> Response:
        ident = request.params["attachment"]
        with self.lab.lock:
            for app in self.lab.apps.values():
                for addon in app.addons:
                    if addon.attachment_id == ident:
                        return Response(200, app.attachment_to_api(addon, _inclusions(request)))
        raise not_found("add-on attachment")

    def list_addon_attachments(self, request: Request) -> Response:
        app, addon = self.lab.addon(request.params["addon"])
        with self.lab.lock:
            return paginate(request, [app.attachment_to_api(addon, _inclusions(request))])

    # ------------------------------------------------------------------ log sessions
    def create_log_session(self, request: Request) -> Response:
        body = request.json()
        app = self._app(request)
        from . import api_url
        session_id = new_id()
        lines = body.get("lines", 100)
        with self.lab.lock:
            self.lab.log_sessions[session_id] = {
                "app": app.name, "dyno": body.get("dyno") or body.get("dyno_name") or body.get("type"),
                "source": body.get("source"), "tail": bool(body.get("tail")),
                "lines": max(1, min(1500, int(lines))) if str(lines).isdigit() else 100, "created": time.time(),
            }
        now = iso(time.time())
        return Response(201, {"created_at": now, "id": session_id, "logplex_url": f"{api_url()}/__logs/{session_id}",
                              "updated_at": now})
