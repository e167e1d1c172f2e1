#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_project_fleet
short_description: Set env vars of many Vercel projects at once, then redeploy each changed one once
version_added: 0.1.0
description:
  - The fleet twin of M(appops.runbooks.vercel_env) followed by one redeploy
    (M(appops.runbooks.vercel_deployment) with O(appops.runbooks.vercel_deployment#module:redeploy=production))
    and M(appops.runbooks.vercel_production), for every project of O(projects), in one task.
  - Each project's env vars are read (C(GET /v10/projects/{id}/env)) and compared with the wanted ones
    (O(env), with O(project_env) over it) exactly as M(appops.runbooks.vercel_env) compares them; only the
    records that differ are edited, created or deleted.
  - Env vars reach the domains only through a new deployment, and every redeploy is a build counted against
    the plan's daily quota, so a project is redeployed once, and only when its env vars changed or were
    changed after its production deployment was built (a run that stopped between the two; a key such a run
    removed leaves no record to tell by, so only a change still to make redeploys then). A redeploy of
    the production deployment already building is attached to, not started again. The new deployment is
    waited for until READY and, when Vercel did not give it the production domains by itself (after an
    instant rollback), promoted.
  - The projects are handled concurrently, O(concurrency) at a time, over one keep-alive HTTP session; the
    builds run side by side. Every project keeps its own result in RV(projects). When some fail, the others
    are still handled and the module fails naming the failed projects.
  - Values are never returned, except the earlier values of the keys named in O(remember), so that a caller
    can put them back (maintenance mode and its message).
options:
  projects:
    description:
      - Names or ids of the projects.
    type: list
    elements: str
    required: true
  env:
    description:
      - Wanted env vars of every project, C(KEY) to value; V(null) removes the key from O(targets).
      - Booleans are written as V(true) and V(false).
    type: dict
    default: {}
  project_env:
    description:
      - Per project name, env vars that override or add to O(env) for that project.
    type: dict
    default: {}
  targets:
    description:
      - The targets the wanted env vars are set in.
    type: list
    elements: str
    choices: [production, preview, development]
    default: [production]
  types:
    description:
      - C(KEY) to type (V(plain), V(encrypted), V(sensitive)) for the records written; an existing record's
        type is kept otherwise, and new ones are V(encrypted).
    type: dict
    default: {}
  redeploy:
    description:
      - Redeploy each changed project's production deployment once and wait for it to serve production.
    type: bool
    default: true
  remember:
    description:
      - Keys whose values before the run are returned in RV(projects) (C(previous), as set in the first
        of O(targets); null when unset, or sensitive and so unreadable), so that a caller can put them back.
    type: list
    elements: str
    default: []
  concurrency:
    description:
      - How many projects are handled at the same time (threads, and connections in the pool).
    type: int
    default: 16
  wait_timeout:
    description:
      - Seconds to wait for each build and promote.
    type: float
    default: 900
  poll_interval:
    description:
      - Seconds between reads of a building deployment.
    type: float
    default: 3
extends_documentation_fragment:
  - appops.runbooks.vercel
  - appops.runbooks.api_retry
  - appops.runbooks.vercel.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    details: Reports which projects would change and be redeployed; nothing is written or built.
  diff_mode:
    details: >-
      Per changed project, its C(KEY@target) entries of the keys of O(env) and O(project_env), with masked values and
      their type; changed, added and removed entries are marked. Values are never shown.
seealso:
  - module: appops.runbooks.vercel_env
  - module: appops.runbooks.vercel_deployment
  - module: appops.runbooks.vercel_production
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Maintenance on for every Vercel project of the play (seed 004's way), in one task
  appops.runbooks.vercel_project_fleet:
    projects: "{{ ansible_play_hosts }}"
    env:
      MAINTENANCE_MODE: "true"
      MAINTENANCE_MESSAGE: Back at 10:00 UTC
    types: {MAINTENANCE_MODE: plain, MAINTENANCE_MESSAGE: plain}
    concurrency: 32
  run_once: true
  register: fleet

- name: Off again
  appops.runbooks.vercel_project_fleet:
    projects: "{{ ansible_play_hosts }}"
    env: {MAINTENANCE_MODE: null, MAINTENANCE_MESSAGE: null}
  run_once: true
"""

RETURN = r"""
projects:
  description:
    - Per project (by the name given), C(changed), C(changed_keys), C(redeployed) (the new deployment's id or
      null), C(attached) (a build already running was waited for), and C(previous) with O(remember);
      or C(error).
  returned: always
  type: dict
  sample: {fixzit: {changed: true, changed_keys: [MAINTENANCE_MODE], redeployed: dpl_1a2b, attached: false}}
changed_projects:
  description: Names of the projects that changed (or would change in check mode).
  returned: always
  type: list
  elements: str
failed_projects:
  description: Names of the projects whose requests, build or promote failed.
  returned: always
  type: list
  elements: str
redeploys:
  description: Number of builds this run started (attached ones not counted).
  returned: always
  type: int
requests:
  description: Number of API requests made (retries included).
  returned: always
  type: int
elapsed:
  description: Seconds spent on the whole fleet (wall time).
  returned: always
  type: float
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._fleet import (
    CONCURRENCY_OPTION,
    FleetRun,
    guarded,
    handle_all,
    pooled_client_factory,
    unique,
    workers_for,
)
from ansible_collections.appops.runbooks.plugins.module_utils._http import ApiError
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.client import (
    WAIT_ARGUMENT_SPEC,
    VercelClient,
    client_from_params,
)
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.deployments import (
    Source,
    deployment_id,
    is_final,
    ready_state,
    target_of,
    wait_until_final,
)
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.env import (
    DEFAULT_TYPE,
    TARGETS,
    UNREADABLE_TYPES,
    Plan,
    Wanted,
    env_value,
    env_view,
    make_plan,
    managed_records,
    planned_view,
    record_targets,
)
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.module import VercelModule
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.production import (
    production_id,
    wait_for_alias_job,
)

# A redeploy already building is among the project's newest deployments.
RECENT_DEPLOYMENTS = 10


class FleetModule(VercelModule):
    subject_label = "Vercel projects"
    subject_option = None


def wanted_for(fleet: FleetModule, project: str) -> list[Wanted]:
    p = fleet.params
    env = dict(p["env"] or {}, **((p["project_env"] or {}).get(project) or {}))
    return [Wanted(str(key), env_value(value), list(p["targets"]), (p["types"] or {}).get(key))
            for key, value in sorted(env.items())]


def previous_values(records: list[dict[str, t.Any]], keys: list[str], target: str) -> dict[str, str | None]:
    """The value each key has in ``target`` (None: not set there, or unreadable)."""
    previous: dict[str, str | None] = {}
    for key in keys:
        record = next((r for r in managed_records(records, key) if target in record_targets(r)), None)
        unreadable = record is not None and record.get("type") in UNREADABLE_TYPES
        previous[key] = None if record is None or unreadable else record.get("value")
    return previous


def env_diff(records: list[dict[str, t.Any]], plan: Plan, wanted: list[Wanted],
             targets: list[str]) -> dict[str, dict[str, str]]:
    """The wanted keys before and after, as vercel_env shows them: masked values and types, changes marked."""
    keys = {item.key for item in wanted}
    before = env_view([r for r in records if r.get("key") in keys], targets)
    return {"before": before, "after": planned_view(before, plan, wanted, DEFAULT_TYPE)}


def built_before_change(project: t.Mapping[str, t.Any], records: list[dict[str, t.Any]],
                        wanted: list[Wanted]) -> bool:
    """Whether a wanted key was written after the production deployment was built: not served yet."""
    production = (project.get("targets") or {}).get("production") or {}
    built = production.get("createdAt") or 0
    keys = {item.key for item in wanted}
    return any(r.get("key") in keys and (r.get("updatedAt") or 0) > built for r in managed_records(records))


def apply_plan(fleet: FleetModule, project: str, plan: Plan) -> None:
    client = fleet.client
    for env_id, changes in plan.edits:
        fleet.write(f"editing an env var of {project}", lambda: client.edit_env(project, env_id, changes), {})
    for item in plan.creates:
        fleet.write(f"creating an env var of {project}", lambda: client.create_env(project, item), {})
    for env_id in plan.deletes:
        fleet.write(f"deleting an env var of {project}", lambda: client.delete_env(project, env_id), None)


class FleetError(ApiError):
    """A project that cannot be brought to the wanted state (no production deployment, a failed build)."""


def redeploys_of(client: VercelClient, project: t.Mapping[str, t.Any], source: Source) -> list[dict[str, t.Any]]:
    """The project's newest production deployments that redeploy ``source``'s deployment."""
    listed = client.deployments(project["id"], limit=RECENT_DEPLOYMENTS)
    return [d for d in listed if source.matches(d) and target_of(d) == "production"]


def redeploy(fleet: FleetModule, project: dict[str, t.Any]) -> tuple[dict[str, t.Any] | None, bool]:
    """One redeploy of the production deployment (or the one already building), READY and in production.

    Returns the deployment (None in check mode when one would be started) and whether it was attached to.
    """
    client, p = fleet.client, fleet.params
    current = production_id(project)
    if not current:
        raise FleetError("there is no production deployment to redeploy")
    source = Source(redeploy_of={"id": current})
    recent = redeploys_of(client, project, source)
    known = {deployment_id(d) for d in recent}
    running = next((d for d in recent if not is_final(d)), None)
    body = {"name": project["name"], "project": project["id"], "deploymentId": current, "target": "production",
            "meta": {"action": "redeploy"}}
    started = fleet.start(
        f"redeploying {project['name']}",
        find_running=lambda: running,
        create=lambda: client.create_deployment(body),
        find_started=lambda: next((d for d in redeploys_of(client, project, source)
                                   if deployment_id(d) not in known), None),
    )
    if started is None or fleet.check_mode:
        return (None if started is None else started.job), started is not None
    ident = deployment_id(started.job)
    built = wait_until_final(client, ident, timeout=p["wait_timeout"], interval=p["poll_interval"])
    if ready_state(built) != "READY":
        reason = built.get("errorMessage") or built.get("errorCode") or "no reason given"
        raise FleetError(f"deployment {ident} ended {ready_state(built)}: {reason}")
    make_production(fleet, project, ident)
    return built, not started.started_here


def make_production(fleet: FleetModule, project: dict[str, t.Any], ident: str) -> None:
    """Promote the new deployment when Vercel kept the domains elsewhere (after an instant rollback)."""
    client, p = fleet.client, fleet.params
    seen = client.project(project["id"])
    if production_id(seen) == ident:
        return
    job = seen.get("lastAliasRequest") or {}
    if not (job.get("toDeploymentId") == ident and job.get("jobStatus") in ("pending", "in-progress")):
        fleet.write(f"promoting {ident}", lambda: client.promote(project["id"], ident), None)
    seen = wait_for_alias_job(client, project["id"], timeout=p["wait_timeout"], interval=p["poll_interval"])
    if production_id(seen) != ident:
        raise FleetError(f"the promote to {ident} left production at"
                         f" {production_id(seen)}")


def converge_project(fleet: FleetModule, name: str) -> dict[str, t.Any]:
    """Read one project's env vars, write what differs, redeploy once when the domains would not serve it."""
    client, p = fleet.client, fleet.params
    project = client.project(name)
    # Encrypted values come back readable only decrypted: compared otherwise, they would differ every run.
    records = client.envs(project["id"], decrypt=True)
    wanted = wanted_for(fleet, name)
    plan = make_plan(wanted, records, purge_targets=None, default_type=DEFAULT_TYPE, force_update=False)
    outcome: dict[str, t.Any] = {"changed": False, "changed_keys": sorted(plan.changed_keys | plan.removed_keys),
                                 "redeployed": None, "attached": False,
                                 "diff": env_diff(records, plan, wanted, p["targets"])}
    if p["remember"]:
        outcome["previous"] = previous_values(records, p["remember"], p["targets"][0])
    stale = built_before_change(project, records, wanted)
    if plan.empty and not stale:
        return outcome
    # From the first write on, a failure keeps the outcome: a caller needs ``previous`` to put values back.
    outcome["changed"] = True
    try:
        apply_plan(fleet, project["id"], plan)
        if p["redeploy"]:
            deployment, attached = redeploy(fleet, project)
            outcome.update(redeployed=deployment_id(deployment) if deployment else None, attached=attached)
    except ApiError as error:
        outcome.update(error=f"Vercel project {name!r}: {error}", api_error=error.to_dict())
    return outcome


def run(fleet: FleetModule) -> None:
    projects = unique(fleet.params["projects"])
    progress = FleetRun("Vercel projects", lambda: fleet.client.history)
    action = guarded("Vercel project", lambda name: converge_project(fleet, name))
    result = progress.result(handle_all(projects, action, workers_for(fleet.params["concurrency"], projects)),
                             "projects")
    outcomes = result["projects"]
    result["redeploys"] = sum(1 for o in outcomes.values() if o.get("redeployed") and not o.get("attached"))
    diffs = {name: outcomes[name].pop("diff") for name in outcomes if "diff" in outcomes[name]}
    failure = progress.failure(result, "projects")
    if failure:
        fleet.fail(failure, changed=bool(result["changed_projects"]), **result)
    changed = result["changed_projects"]
    fleet.exit(
        bool(changed),
        before={name: diffs[name]["before"] for name in changed},
        after={name: diffs[name]["after"] for name in changed},
        **result,
    )


def main() -> None:
    spec = dict(
        projects=dict(type="list", elements="str", required=True),
        env=dict(type="dict", default={}),
        project_env=dict(type="dict", default={}),
        targets=dict(type="list", elements="str", choices=list(TARGETS), default=["production"]),
        types=dict(type="dict", default={}),
        redeploy=dict(type="bool", default=True),
        remember=dict(type="list", elements="str", default=[], no_log=False),
        concurrency=dict(CONCURRENCY_OPTION),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    spec.pop("wait")
    FleetModule(spec, client_factory=pooled_client_factory(client_from_params, "projects")).run(run)


if __name__ == "__main__":
    main()
