# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Heroku Platform API and Heroku Postgres data API client (private).

Thin resource helpers over the shared HTTP core and the one auth argument spec (twin of the
``appops.runbooks.heroku`` doc fragment).
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from .._http import ApiClient, NotFound, RangePagination, RetryPolicy

DEFAULT_API_URL = "https://api.heroku.com"
DEFAULT_DATA_API_URL = "https://api.data.heroku.com"
ACCEPT = "application/vnd.heroku+json; version=3"
# Heroku's text appended by `heroku run --exit-code` so the exit status reaches the log stream.
EXIT_STATUS_MARKER = "\uFFFF heroku-command-exit-status:"

HEROKU_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "api_key": {"type": "str", "required": True, "no_log": True,
                "fallback": (env_fallback, ["HEROKU_API_KEY"])},
    "api_url": {"type": "str", "default": DEFAULT_API_URL,
                "fallback": (env_fallback, ["HEROKU_API_URL", "HEROKU_HOST"])},
    "data_api_url": {"type": "str", "default": DEFAULT_DATA_API_URL,
                     "fallback": (env_fallback, ["HEROKU_DATA_API_URL"])},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 30.0},
}

WAIT_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "float", "default": 600.0},
    "poll_interval": {"type": "float", "default": 3.0},
}


def normalize_api_url(value: str) -> str:
    """Accept a full URL or, like the Heroku CLI's ``HEROKU_HOST``, a bare domain (``heroku.com``)."""
    value = value.strip().rstrip("/")
    if value.startswith(("http://", "https://")):
        return value
    return f"https://api.{value}"


def _segment(value: t.Any) -> str:
    return quote(str(value), safe="")


class HerokuClient:
    """Platform API (``api_url``) and Postgres data API (``data_api_url``) on one session."""

    def __init__(
        self,
        api_key: str,
        *,
        api_url: str = DEFAULT_API_URL,
        data_api_url: str = DEFAULT_DATA_API_URL,
        validate_certs: bool = True,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        session: t.Any = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}", "Accept": ACCEPT}
        common: dict[str, t.Any] = dict(
            headers=headers, secrets=[api_key], read_timeout=timeout,
            validate_certs=validate_certs, retry=retry,
        )
        self.platform = ApiClient(normalize_api_url(api_url), session=session, **common)
        # Same headers and token (the data API is authenticated by the Heroku token too).
        self.data = ApiClient(normalize_api_url(data_api_url), session=self.platform._session, **common)

    def __repr__(self) -> str:
        return f"HerokuClient(api_url={self.platform.base_url!r}, data_api_url={self.data.base_url!r})"

    def close(self) -> None:
        self.platform.close()  # the data API shares this session

    @property
    def history(self) -> list[t.Any]:
        return self.platform.history + self.data.history

    # -- apps -----------------------------------------------------------------------

    def app(self, app: str) -> dict[str, t.Any]:
        return self.platform.get(f"/apps/{_segment(app)}")

    def apps(self) -> list[dict[str, t.Any]]:
        """Every app the account can see, 1,000 a page (one request for most accounts)."""
        return self.platform.paginate("/apps", RangePagination("name", 1000))

    def update_app(self, app: str, changes: dict[str, t.Any]) -> dict[str, t.Any]:
        # Setting absolute values: repeating it changes nothing more.
        return self.platform.patch(f"/apps/{_segment(app)}", json_body=changes, idempotent=True)

    def rate_limit_remaining(self) -> int | None:
        return (self.platform.get("/account/rate-limits") or {}).get("remaining")

    # -- releases -------------------------------------------------------------------

    def releases(self, app: str, limit: int | None = None) -> list[dict[str, t.Any]]:
        """Newest first."""
        page = min(limit or 1000, 1000)
        releases = self.platform.paginate(
            f"/apps/{_segment(app)}/releases", RangePagination("version", page, "desc"), limit=limit,
        )
        # Sort again: the order is what callers rely on, whatever the server did with Range.
        return sorted(releases, key=lambda r: r.get("version") or 0, reverse=True)

    def release(self, app: str, id_or_version: str | int) -> dict[str, t.Any]:
        return self.platform.get(f"/apps/{_segment(app)}/releases/{_segment(id_or_version)}")

    def rollback(self, app: str, release_id: str) -> dict[str, t.Any]:
        return self.platform.post(f"/apps/{_segment(app)}/releases", json_body={"release": release_id})

    # -- formation and dynos --------------------------------------------------------

    def formation(self, app: str) -> list[dict[str, t.Any]]:
        return self.platform.get(f"/apps/{_segment(app)}/formation") or []

    def update_formation(self, app: str, updates: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        return self.platform.patch(
            f"/apps/{_segment(app)}/formation", json_body={"updates": updates}, idempotent=True,
        ) or []

    def dynos(self, app: str) -> list[dict[str, t.Any]]:
        return self.platform.get(f"/apps/{_segment(app)}/dynos") or []

    def dyno(self, app: str, name: str) -> dict[str, t.Any]:
        return self.platform.get(f"/apps/{_segment(app)}/dynos/{_segment(name)}")

    def restart_all_dynos(self, app: str) -> None:
        self.platform.delete(f"/apps/{_segment(app)}/dynos")

    def restart_process_type(self, app: str, process_type: str) -> None:
        self.platform.delete(f"/apps/{_segment(app)}/formations/{_segment(process_type)}")

    def restart_dyno(self, app: str, name: str) -> None:
        self.platform.delete(f"/apps/{_segment(app)}/dynos/{_segment(name)}")

    def create_dyno(self, app: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        return self.platform.post(f"/apps/{_segment(app)}/dynos", json_body=body)

    def create_log_session(
        self, app: str, dyno_name: str, tail: bool = True, retry: RetryPolicy | None = None,
    ) -> dict[str, t.Any]:
        # A log session only opens a read stream: safe to repeat.
        return self.platform.post(
            f"/apps/{_segment(app)}/log-sessions",
            json_body={"dyno_name": dyno_name, "tail": tail}, idempotent=True, retry=retry,
        )

    # -- builds ---------------------------------------------------------------------

    def builds(self, app: str) -> list[dict[str, t.Any]]:
        return self.platform.paginate(f"/apps/{_segment(app)}/builds", RangePagination("id", 1000))

    def build(self, app: str, build_id: str) -> dict[str, t.Any]:
        return self.platform.get(f"/apps/{_segment(app)}/builds/{_segment(build_id)}")

    def create_build(self, app: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        return self.platform.post(f"/apps/{_segment(app)}/builds", json_body=body)

    # -- config vars and add-ons ----------------------------------------------------

    def config_vars(self, app: str) -> dict[str, str]:
        return self.platform.get(f"/apps/{_segment(app)}/config-vars") or {}

    def update_config_vars(self, app: str, changes: dict[str, str | None]) -> dict[str, str]:
        return self.platform.patch(
            f"/apps/{_segment(app)}/config-vars", json_body=changes, idempotent=True,
        ) or {}

    def addons(self, app: str) -> list[dict[str, t.Any]]:
        return self.platform.get(f"/apps/{_segment(app)}/addons") or []

    def resolve_attachment(self, app: str, name: str) -> list[dict[str, t.Any]]:
        return self.platform.post(
            "/actions/addon-attachments/resolve",
            json_body={"addon_attachment": name, "app": app},
            headers={"Accept-Inclusion": "addon:plan"},
            idempotent=True,  # a lookup, despite the verb
        ) or []

    def postgres_addon(self, app: str, attachment: str = "DATABASE") -> dict[str, t.Any]:
        """The heroku-postgresql add-on behind an attachment name (like the CLI's resolver)."""
        attachments = self.resolve_attachment(app, attachment)
        for candidate in attachments:
            addon = candidate.get("addon") or {}
            plan = ((addon.get("plan") or {}).get("name")) or ""
            if not plan or plan.startswith("heroku-postgresql"):
                return addon
        raise NotFound(f"no heroku-postgresql database is attached as {attachment}", status=404)

    # -- Heroku Postgres backups (data API) ------------------------------------------

    def transfers(self, app: str) -> list[dict[str, t.Any]]:
        return self.data.get(f"/client/v11/apps/{_segment(app)}/transfers") or []

    def transfer(self, app: str, num_or_uuid: str | int, verbose: bool = False) -> dict[str, t.Any]:
        params = {"verbose": "true"} if verbose else None
        return self.data.get(f"/client/v11/apps/{_segment(app)}/transfers/{_segment(num_or_uuid)}", params=params)

    def capture_backup(self, addon_id: str) -> dict[str, t.Any]:
        return self.data.post(f"/client/v11/databases/{_segment(addon_id)}/backups")

    def restore_backup(self, addon_id: str, backup_url: str) -> dict[str, t.Any]:
        return self.data.post(
            f"/client/v11/databases/{_segment(addon_id)}/restores", json_body={"backup_url": backup_url},
        )

    def backup_public_url(self, app: str, num: int) -> str | None:
        answer = self.data.post(
            f"/client/v11/apps/{_segment(app)}/transfers/{num}/actions/public-url", idempotent=True,
        )
        return (answer or {}).get("url")

    def schedules(self, addon_id: str) -> list[dict[str, t.Any]]:
        return self.data.get(f"/client/v11/databases/{_segment(addon_id)}/transfer-schedules") or []

    def schedule(self, addon_id: str, hour: int, timezone: str, name: str) -> None:
        # The server keeps one schedule per name: posting it again replaces it.
        self.data.post(
            f"/client/v11/databases/{_segment(addon_id)}/transfer-schedules",
            json_body={"hour": f"{hour:02d}", "timezone": timezone, "schedule_name": name},
            idempotent=True,
        )

    def unschedule(self, addon_id: str, schedule_uuid: str) -> None:
        self.data.delete(f"/client/v11/databases/{_segment(addon_id)}/transfer-schedules/{_segment(schedule_uuid)}")


# --------------------------------------------------------------------------- formation

def formation_entry(entry: dict[str, t.Any]) -> dict[str, t.Any]:
    """A process type as modules return it: the size from ``dyno_size`` (or legacy ``size``)."""
    return {
        "type": entry.get("type"),
        "quantity": int(entry.get("quantity") or 0),
        "size": (entry.get("dyno_size") or {}).get("name") or entry.get("size"),
        "command": entry.get("command"),
    }


def client_from_params(
    params: t.Mapping[str, t.Any], retry: RetryPolicy | None = None, session: t.Any = None,
) -> HerokuClient:
    return HerokuClient(
        params["api_key"],
        api_url=params["api_url"],
        data_api_url=params["data_api_url"],
        validate_certs=params["validate_certs"],
        timeout=params["timeout"],
        retry=retry,
        session=session,
    )
