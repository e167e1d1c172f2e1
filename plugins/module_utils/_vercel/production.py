# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Vercel project's production deployment: which one it is, the previous one, alias jobs (private).

Promote and instant rollback move the production domains to an existing deployment without a
build; the move runs as an alias job whose state is the project's ``lastAliasRequest``.
"""

from __future__ import annotations

import typing as t

from .._http import wait_for
from .client import VercelClient
from .deployments import FIRST_POLL_S, deployment_id, ready_state, target_of

PREVIOUS = "previous"
JOB_IN_FLIGHT = ("pending", "in-progress")


def production_id(project: t.Mapping[str, t.Any]) -> str | None:
    """The id of the deployment the production domains serve."""
    production = (project.get("targets") or {}).get("production") or {}
    return production.get("id") or None


def alias_job(project: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
    return project.get("lastAliasRequest") or None


def job_in_flight(project: t.Mapping[str, t.Any]) -> bool:
    return (alias_job(project) or {}).get("jobStatus") in JOB_IN_FLIGHT


def job_towards(project: t.Mapping[str, t.Any], target_id: str) -> bool:
    """Whether an alias job towards ``target_id`` is still running (a re-run attaches to it)."""
    return job_in_flight(project) and (alias_job(project) or {}).get("toDeploymentId") == target_id


def wait_for_alias_job(client: VercelClient, project: str, *, timeout: float, interval: float) -> dict[str, t.Any]:
    """Poll the project until its last alias job is no longer pending; return the project."""
    return wait_for(lambda: client.project(project), lambda p: not job_in_flight(p), timeout=timeout,
                    interval=interval, first_interval=FIRST_POLL_S, what="the alias job (lastAliasRequest) to finish")


def rolled_back_to(project: t.Mapping[str, t.Any], current_id: str | None) -> bool:
    """Whether the current production deployment is there because of the last rollback."""
    job = alias_job(project) or {}
    return (job.get("type") == "rollback" and job.get("toDeploymentId") == current_id
            and job.get("jobStatus") == "succeeded")


def previous_production(client: VercelClient, project: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
    """The deployment ``previous`` names: the newest READY production deployment older than the current one.

    After a rollback, the current deployment is itself the previous one (of the deployment rolled
    back from), so asking for ``previous`` again changes nothing: a re-run does not walk back
    through history.
    """
    current_id = production_id(project)
    if current_id and rolled_back_to(project, current_id):
        return client.deployment(current_id)
    reference = client.deployment(current_id) if current_id else None
    # ``until`` asks the API for what was created before the current one, newest first.
    older = {"until": reference.get("createdAt")} if reference and reference.get("createdAt") else {}
    candidates = client.deployments(project["id"], limit=20, target="production", state="READY", **older)
    for candidate in candidates:
        if deployment_id(candidate) == current_id or target_of(candidate) != "production":
            continue
        if reference is None or (candidate.get("createdAt") or 0) < (reference.get("createdAt") or 0):
            return candidate
    return None


def change_kind(method: str, target: t.Mapping[str, t.Any], current: t.Mapping[str, t.Any] | None) -> str:
    """``rollback`` or ``promote``: with method ``auto`` an older production deployment is rolled back to."""
    if method != "auto":
        return method
    older = current is not None and (target.get("createdAt") or 0) < (current.get("createdAt") or 0)
    eligible = target_of(target) == "production" and ready_state(target) == "READY"
    return "rollback" if older and eligible else "promote"
