# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""MongoDB Atlas Administration API v2 client (private).

Thin resource helpers over the shared HTTP core: versioned media types
(``application/vnd.atlas.YYYY-MM-DD+json``, the version each resource is used at), HTTP Digest
API keys or service-account OAuth, ``pageNum``/``itemsPerPage`` pagination, and the one auth
argument spec (twin of the ``appops.runbooks.atlas`` doc fragment).
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from .._http import ApiClient, ApiResponse, ClientCredentialsAuth, Pagination, RetryPolicy, digest_auth

DEFAULT_API_URL = "https://cloud.mongodb.com"
TOKEN_PATH = "/api/oauth/token"
API_ROOT = "/api/atlas/v2"
# The version each resource is spoken at: the oldest that has what the modules use. Clusters use
# 2024-08-05 (replicationSpecs with regionConfigs, one spec per shard), the rest the first v2 version.
V2023 = "2023-01-01"
V2024 = "2024-08-05"
PAGE_SIZE = 500  # Atlas's maximum itemsPerPage

ATLAS_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "public_key": {"type": "str", "fallback": (env_fallback, ["MONGODB_ATLAS_PUBLIC_KEY"])},
    "private_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["MONGODB_ATLAS_PRIVATE_KEY"])},
    "client_id": {"type": "str", "fallback": (env_fallback, ["MONGODB_ATLAS_CLIENT_ID"])},
    "client_secret": {"type": "str", "no_log": True, "fallback": (env_fallback, ["MONGODB_ATLAS_CLIENT_SECRET"])},
    "api_url": {"type": "str", "default": DEFAULT_API_URL, "fallback": (env_fallback, ["MONGODB_ATLAS_BASE_URL"])},
    "project_id": {"type": "str", "required": True, "fallback": (env_fallback, ["MONGODB_ATLAS_PROJECT_ID"])},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 30.0},
}

WAIT_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "float", "default": 1800.0},
    "poll_interval": {"type": "float", "default": 5.0},
}


class CredentialsError(ValueError):
    """Neither an API key pair nor a service account was given (or only half of one)."""


def media_type(version: str) -> str:
    return f"application/vnd.atlas.{version}+json"


def _segment(value: t.Any) -> str:
    return quote(str(value), safe="")


class PageNumPagination(Pagination):
    """Atlas listings: ``pageNum``/``itemsPerPage``, items under ``results``, ``totalCount`` with ``includeCount``."""

    def __init__(self, per_page: int = PAGE_SIZE) -> None:
        self.per_page = per_page

    def first(self, params: dict[str, t.Any], headers: dict[str, str]) -> None:
        params.update(pageNum=1, itemsPerPage=self.per_page, includeCount="true")

    def items(self, response: ApiResponse) -> list[t.Any]:
        data = response.data if isinstance(response.data, dict) else {}
        return list(data.get("results") or [])

    def next(self, response: ApiResponse, params: dict[str, t.Any], headers: dict[str, str]) -> bool:
        data = response.data if isinstance(response.data, dict) else {}
        page = int(params["pageNum"])
        total = data.get("totalCount")
        has_next = any(link.get("rel") == "next" for link in data.get("links") or [])
        if total is not None:
            has_next = page * self.per_page < int(total)
        if not has_next or not data.get("results"):
            return False
        params["pageNum"] = page + 1
        return True


class AtlasClient:
    """The Atlas Administration API of one project (``project_id``)."""

    def __init__(
        self,
        project_id: str,
        *,
        public_key: str | None = None,
        private_key: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_url: str = DEFAULT_API_URL,
        validate_certs: bool = True,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        session: t.Any = None,
    ) -> None:
        self.project_id = project_id
        common: dict[str, t.Any] = dict(read_timeout=timeout, validate_certs=validate_certs, retry=retry)
        if client_id or client_secret:
            if not (client_id and client_secret):
                raise CredentialsError("a service account needs both client_id and client_secret")
            token_client = ApiClient(api_url, secrets=[client_secret], session=session, **common)
            auth: t.Any = ClientCredentialsAuth(token_client, TOKEN_PATH, client_id, client_secret)
        elif public_key or private_key:
            if not (public_key and private_key):
                raise CredentialsError("an API key needs both public_key and private_key")
            auth = digest_auth(public_key, private_key)
        else:
            raise CredentialsError(
                "no Atlas credentials: set public_key and private_key (or MONGODB_ATLAS_PUBLIC_KEY and "
                "MONGODB_ATLAS_PRIVATE_KEY), or client_id and client_secret of a service account (or "
                "MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET)")
        self.auth = auth
        self.http = ApiClient(api_url, auth=auth, session=session, **common)

    def __repr__(self) -> str:
        return f"AtlasClient(api_url={self.http.base_url!r}, project_id={self.project_id!r})"

    def close(self) -> None:
        self.http.close()

    @property
    def history(self) -> list[t.Any]:
        return self.http.history

    # -- the versioned verbs ------------------------------------------------------------

    def _path(self, *parts: t.Any) -> str:
        return "/".join([API_ROOT, "groups", _segment(self.project_id), *(_segment(p) for p in parts)])

    def call(self, method: str, path: str, version: str = V2023, body: t.Any = None, **kwargs: t.Any) -> t.Any:
        headers = {"Accept": media_type(version)}
        if body is not None:
            headers["Content-Type"] = media_type(version)
        return self.http.request(method, path, json_body=body, headers=headers, **kwargs).data

    def listing(self, path: str, version: str = V2023, limit: int | None = None) -> list[dict[str, t.Any]]:
        return self.http.paginate(path, PageNumPagination(min(limit or PAGE_SIZE, PAGE_SIZE)),
                                  headers={"Accept": media_type(version)}, limit=limit)

    # -- clusters -------------------------------------------------------------------------

    def cluster(self, name: str) -> dict[str, t.Any]:
        return self.call("GET", self._path("clusters", name), V2024)

    def clusters(self) -> list[dict[str, t.Any]]:
        return self.listing(self._path("clusters"), V2024)

    def update_cluster(self, name: str, changes: dict[str, t.Any]) -> dict[str, t.Any]:
        # Absolute values: sending them again changes nothing more.
        return self.call("PATCH", self._path("clusters", name), V2024, changes, idempotent=True)

    def upgrade_tenant_cluster(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """Start the tenant upgrade of a free or shared-tier cluster (answered with the 2023-01-01 cluster).

        Not repeated on a lost answer by itself: the upgrade may have started, and a second one
        would be refused; the caller looks for it first (``create_or_attach``).
        """
        return self.call("POST", self._path("clusters", "tenantUpgrade"), V2023, body)

    # -- cloud backup snapshots -----------------------------------------------------------

    def snapshots(self, cluster: str) -> list[dict[str, t.Any]]:
        """Newest first."""
        listed = self.listing(self._path("clusters", cluster, "backup", "snapshots"))
        return sorted(listed, key=lambda s: str(s.get("createdAt") or ""), reverse=True)

    def snapshot(self, cluster: str, snapshot_id: str) -> dict[str, t.Any]:
        return self.call("GET", self._path("clusters", cluster, "backup", "snapshots", snapshot_id))

    def take_snapshot(self, cluster: str, description: str, retention_days: int) -> dict[str, t.Any]:
        body = {"description": description, "retentionInDays": retention_days}
        return self.call("POST", self._path("clusters", cluster, "backup", "snapshots"), V2023, body)

    def delete_snapshot(self, cluster: str, snapshot_id: str) -> None:
        self.call("DELETE", self._path("clusters", cluster, "backup", "snapshots", snapshot_id))

    # -- restore jobs ---------------------------------------------------------------------

    def restore_jobs(self, cluster: str) -> list[dict[str, t.Any]]:
        return self.listing(self._path("clusters", cluster, "backup", "restoreJobs"))

    def restore_job(self, cluster: str, job_id: str) -> dict[str, t.Any]:
        return self.call("GET", self._path("clusters", cluster, "backup", "restoreJobs", job_id))

    def create_restore_job(self, cluster: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        return self.call("POST", self._path("clusters", cluster, "backup", "restoreJobs"), V2023, body)

    # -- backup schedule ------------------------------------------------------------------

    def backup_schedule(self, cluster: str) -> dict[str, t.Any]:
        return self.call("GET", self._path("clusters", cluster, "backup", "schedule"))

    def update_backup_schedule(self, cluster: str, changes: dict[str, t.Any]) -> dict[str, t.Any]:
        return self.call("PATCH", self._path("clusters", cluster, "backup", "schedule"), V2023, changes,
                         idempotent=True)

    # -- IP access list -------------------------------------------------------------------

    def access_list(self) -> list[dict[str, t.Any]]:
        return self.listing(self._path("accessList"))

    def add_access_entries(self, entries: list[dict[str, t.Any]]) -> None:
        # Atlas keeps one entry per address: adding it again replaces its comment and expiry.
        self.call("POST", self._path("accessList"), V2023, entries, idempotent=True)

    def delete_access_entry(self, value: str) -> None:
        self.call("DELETE", self._path("accessList", value))


def client_from_params(
    params: t.Mapping[str, t.Any], retry: RetryPolicy | None = None, session: t.Any = None,
) -> AtlasClient:
    return AtlasClient(
        params["project_id"],
        public_key=params.get("public_key"),
        private_key=params.get("private_key"),
        client_id=params.get("client_id"),
        client_secret=params.get("client_secret"),
        api_url=params["api_url"],
        validate_certs=params["validate_certs"],
        timeout=params["timeout"],
        retry=retry,
        session=session,
    )
