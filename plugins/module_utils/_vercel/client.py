# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Vercel REST API client (private).

Thin resource helpers over the shared HTTP core. Every call carries the team scope
(``teamId``) when one is given, as the Vercel API wants for team-owned projects. The auth
argument spec is the twin of the ``appops.runbooks.vercel`` doc fragment.
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from .._http import ApiClient, ApiResponse, NotFound, Pagination, RetryPolicy

DEFAULT_API_URL = "https://api.vercel.com"
# Vercel's list endpoints take at most 100 items a page.
PAGE_LIMIT = 100

VERCEL_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "token": {"type": "str", "required": True, "no_log": True, "fallback": (env_fallback, ["VERCEL_TOKEN"])},
    "team_id": {"type": "str", "fallback": (env_fallback, ["VERCEL_ORG_ID", "VERCEL_TEAM_ID"])},
    "api_url": {"type": "str", "default": DEFAULT_API_URL, "fallback": (env_fallback, ["VERCEL_API_URL"])},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 30.0},
}

WAIT_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "float", "default": 900.0},
    "poll_interval": {"type": "float", "default": 3.0},
}


def _segment(value: t.Any) -> str:
    return quote(str(value), safe="")


class UntilPagination(Pagination):
    """Vercel: ``limit`` items a page; ``pagination.next`` is the timestamp for ``until`` of the next page."""

    def __init__(self, key: str, limit: int = PAGE_LIMIT) -> None:
        self.key = key
        self.limit = limit

    def first(self, params: dict[str, t.Any], headers: dict[str, str]) -> None:
        params["limit"] = self.limit

    def items(self, response: ApiResponse) -> list[t.Any]:
        return list((response.data or {}).get(self.key) or [])

    def next(self, response: ApiResponse, params: dict[str, t.Any], headers: dict[str, str]) -> bool:
        following = ((response.data or {}).get("pagination") or {}).get("next")
        if following is None:
            return False
        params["until"] = following
        return True


class VercelClient:
    """The Vercel REST API for one team (or the token's own scope without ``team_id``)."""

    def __init__(
        self,
        token: str,
        *,
        team_id: str | None = None,
        api_url: str = DEFAULT_API_URL,
        validate_certs: bool = True,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        session: t.Any = None,
    ) -> None:
        self.team_id = team_id or None
        self.api = ApiClient(
            api_url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}, secrets=[token],
            read_timeout=timeout, validate_certs=validate_certs, retry=retry, session=session,
        )

    def __repr__(self) -> str:
        return f"VercelClient(api_url={self.api.base_url!r}, team_id={self.team_id!r})"

    def close(self) -> None:
        self.api.close()

    @property
    def history(self) -> list[t.Any]:
        return self.api.history

    def _scoped(self, params: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
        scoped = {key: value for key, value in (params or {}).items() if value is not None}
        if self.team_id:
            scoped["teamId"] = self.team_id
        return scoped

    def _get(self, path: str, params: t.Mapping[str, t.Any] | None = None) -> t.Any:
        return self.api.get(path, params=self._scoped(params))

    def _list(self, path: str, key: str, params: t.Mapping[str, t.Any] | None = None,
              limit: int | None = None) -> list[dict[str, t.Any]]:
        page = min(limit or PAGE_LIMIT, PAGE_LIMIT)
        return self.api.paginate(path, UntilPagination(key, page), params=self._scoped(params), limit=limit)

    # -- projects -------------------------------------------------------------------

    def project(self, project: str) -> dict[str, t.Any]:
        return self._get(f"/v9/projects/{_segment(project)}")

    def project_domains(self, project: str) -> list[dict[str, t.Any]]:
        return self._list(f"/v9/projects/{_segment(project)}/domains", "domains")

    # -- deployments ----------------------------------------------------------------

    def deployments(self, project_id: str, *, limit: int | None = None, **filters: t.Any) -> list[dict[str, t.Any]]:
        """Newest first; ``filters`` are the listing's query parameters (target, state, sha, ...)."""
        return self._list("/v6/deployments", "deployments", {"projectId": project_id, **filters}, limit=limit)

    def deployment(self, id_or_url: str) -> dict[str, t.Any]:
        return self._get(f"/v13/deployments/{_segment(strip_scheme(id_or_url))}")

    def find_deployment(self, id_or_url: str) -> dict[str, t.Any] | None:
        try:
            return self.deployment(id_or_url)
        except NotFound:
            return None

    def create_deployment(self, body: dict[str, t.Any], *, force_new: bool = False) -> dict[str, t.Any]:
        # Never retried on a lost answer by itself: create_or_attach looks for what it started first.
        params = self._scoped({"forceNew": "1" if force_new else None})
        return self.api.post("/v13/deployments", json_body=body, params=params)

    def deployment_events(self, id_or_url: str, limit: int | None = None) -> list[dict[str, t.Any]]:
        answer = self._get(f"/v3/deployments/{_segment(strip_scheme(id_or_url))}/events",
                           {"limit": limit, "builds": 1})
        return answer if isinstance(answer, list) else []

    # -- production: promote and rollback -------------------------------------------

    # Promote and rollback start an alias job: not repeated on a lost answer by themselves (a repeat
    # of a job that already finished answers 409); the module looks at lastAliasRequest first.

    def promote(self, project_id: str, deployment_id: str) -> None:
        self.api.post(f"/v10/projects/{_segment(project_id)}/promote/{_segment(deployment_id)}",
                      params=self._scoped(), json_body={})

    def rollback(self, project_id: str, deployment_id: str, description: str | None = None) -> None:
        """Instant rollback: the CLI's v9 path, or the v1 path when a description is given."""
        if description:
            self.api.post(f"/v1/projects/{_segment(project_id)}/rollback/{_segment(deployment_id)}",
                          params=self._scoped({"description": description}))
            return
        self.api.post(f"/v9/projects/{_segment(project_id)}/rollback/{_segment(deployment_id)}",
                      params=self._scoped(), json_body={})

    # -- aliases --------------------------------------------------------------------

    def deployment_aliases(self, deployment_id: str) -> list[dict[str, t.Any]]:
        return (self._get(f"/v2/deployments/{_segment(deployment_id)}/aliases") or {}).get("aliases") or []

    def aliases(self, project_id: str, limit: int | None = None) -> list[dict[str, t.Any]]:
        return self._list("/v4/aliases", "aliases", {"projectId": project_id}, limit=limit)

    def assign_alias(self, deployment_id: str, alias: str) -> dict[str, t.Any]:
        # Pointing an alias at one deployment: repeating it changes nothing more.
        return self.api.post(f"/v2/deployments/{_segment(deployment_id)}/aliases", json_body={"alias": alias},
                             params=self._scoped(), idempotent=True)

    # -- env vars -------------------------------------------------------------------

    def envs(self, project: str, decrypt: bool = False) -> list[dict[str, t.Any]]:
        params = {"decrypt": "true" if decrypt else None}
        return (self._get(f"/v10/projects/{_segment(project)}/env", params) or {}).get("envs") or []

    def create_env(self, project: str, item: dict[str, t.Any]) -> dict[str, t.Any]:
        # With upsert a repeat sets the same value again: safe to retry.
        answer = self.api.post(f"/v10/projects/{_segment(project)}/env", json_body=item,
                               params=self._scoped({"upsert": "true"}), idempotent=True)
        return (answer or {}).get("created") or {}

    def edit_env(self, project: str, env_id: str, changes: dict[str, t.Any]) -> dict[str, t.Any]:
        return self.api.patch(f"/v9/projects/{_segment(project)}/env/{_segment(env_id)}", json_body=changes,
                              params=self._scoped(), idempotent=True)

    def delete_env(self, project: str, env_id: str) -> None:
        try:
            self.api.delete(f"/v9/projects/{_segment(project)}/env/{_segment(env_id)}", params=self._scoped())
        except NotFound:
            pass  # a retried delete whose first answer was lost: gone is what was wanted


def strip_scheme(id_or_url: str) -> str:
    """``https://x.vercel.app/`` -> ``x.vercel.app``: the API takes a deployment URL without scheme."""
    text = str(id_or_url).strip()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    return text.rstrip("/")


def client_from_params(
    params: t.Mapping[str, t.Any], retry: RetryPolicy | None = None, session: t.Any = None,
) -> VercelClient:
    return VercelClient(
        params["token"], team_id=params["team_id"], api_url=params["api_url"],
        validate_certs=params["validate_certs"], timeout=params["timeout"], retry=retry, session=session,
    )
