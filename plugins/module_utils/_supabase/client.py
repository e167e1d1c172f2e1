# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Supabase Management API client (private): projects, their backups, restores.

Thin resource helpers over the shared HTTP core and the one auth argument spec (twin of the
``appops.runbooks.supabase`` doc fragment).
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from .._http import ApiClient, RetryPolicy

DEFAULT_API_URL = "https://api.supabase.com"
# What a project answers while its database is being put back; ACTIVE_HEALTHY once it is done.
RESTORING = "RESTORING"
HEALTHY = "ACTIVE_HEALTHY"
FAILED_STATES = frozenset({"RESTORE_FAILED", "INIT_FAILED", "REMOVED", "INACTIVE"})

SUPABASE_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "access_token": {"type": "str", "required": True, "no_log": True,
                     "fallback": (env_fallback, ["SUPABASE_ACCESS_TOKEN"])},
    "api_url": {"type": "str", "default": DEFAULT_API_URL, "fallback": (env_fallback, ["SUPABASE_API_URL"])},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 30.0},
}

WAIT_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "float", "default": 1800.0},
    "poll_interval": {"type": "float", "default": 5.0},
}


def _segment(value: t.Any) -> str:
    return quote(str(value), safe="")


class SupabaseClient:
    """The Management API (``/v1``) on one keep-alive session, authenticated by a personal access token."""

    def __init__(self, access_token: str, *, api_url: str = DEFAULT_API_URL, validate_certs: bool = True,
                 timeout: float = 30.0, retry: RetryPolicy | None = None, session: t.Any = None) -> None:
        self.api = ApiClient(api_url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                             secrets=[access_token], read_timeout=timeout, validate_certs=validate_certs,
                             retry=retry, session=session)

    def __repr__(self) -> str:
        return f"SupabaseClient(api_url={self.api.base_url!r})"

    def close(self) -> None:
        self.api.close()

    def project(self, ref: str) -> dict[str, t.Any]:
        return self.api.get(f"/v1/projects/{_segment(ref)}")

    def backups(self, ref: str) -> dict[str, t.Any]:
        return self.api.get(f"/v1/projects/{_segment(ref)}/database/backups") or {}

    # The restores answer 201 with no body. They are not repeated on a lost answer: the caller
    # looks at the project's status first (a restore that started shows RESTORING).
    def restore_backup(self, ref: str, backup_id: int) -> None:
        self.api.post(f"/v1/projects/{_segment(ref)}/database/backups/restore", json_body={"id": backup_id},
                      expect_json=False)

    def restore_pitr(self, ref: str, recovery_time_target_unix: int) -> None:
        self.api.post(f"/v1/projects/{_segment(ref)}/database/backups/restore-pitr",
                      json_body={"recovery_time_target_unix": recovery_time_target_unix}, expect_json=False)


def client_from_params(params: t.Mapping[str, t.Any], retry: RetryPolicy | None = None,
                       session: t.Any = None) -> SupabaseClient:
    return SupabaseClient(params["access_token"], api_url=params["api_url"].rstrip("/"),
                          validate_certs=params["validate_certs"], timeout=params["timeout"], retry=retry,
                          session=session)


def backup_view(backup: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"id": backup.get("id"), "status": backup.get("status"), "inserted_at": backup.get("inserted_at"),
            "is_physical_backup": backup.get("is_physical_backup")}


def recovery_window(backups: dict[str, t.Any]) -> dict[str, int] | None:
    """(earliest, latest) unix times a PITR restore may target, None without PITR."""
    data = backups.get("physical_backup_data") or {}
    if not backups.get("pitr_enabled") or "earliest_physical_backup_date_unix" not in data:
        return None
    return {"earliest": int(data["earliest_physical_backup_date_unix"]),
            "latest": int(data.get("latest_physical_backup_date_unix") or data["earliest_physical_backup_date_unix"])}
