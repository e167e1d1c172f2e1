#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_production
short_description: Make a deployment a Vercel project's production deployment (promote or instant rollback)
version_added: 0.1.0
description:
  - The API equivalent of C(vercel promote) and C(vercel rollback), as desired state. Neither builds anything;
    the production domains move to an existing READY deployment, which keeps the env vars it was built with.
  - Does nothing when the wanted deployment is already the production deployment (the project's
    C(targets.production)).
  - Otherwise promotes it (C(POST /v10/projects/{id}/promote/{deployment})) or rolls back to it (instant
    rollback, C(POST /v9/projects/{id}/rollback/{deployment}) as the CLI does, or the v1 path with
    O(description)), see O(method). Vercel runs the move as an alias job; with O(wait) the module waits until
    the project's C(lastAliasRequest.jobStatus) is C(succeeded) and fails when it C(failed).
  - An alias job of an earlier run that is still running is waited for; when it moves to the wanted deployment
    nothing else is sent.
  - After an instant rollback Vercel stops giving new production deployments the domains until the next
    promote, so a later deploy is promoted with this module.
options:
  project:
    description:
      - Name or id of the project.
    type: str
    required: true
  deployment:
    description:
      - The deployment that must serve production, by id or URL, or V(previous) for the newest READY production
        deployment older than the current one.
      - After a rollback the current deployment is itself the previous one of the deployment rolled back from,
        so V(previous) is satisfied and a re-run does not walk further back.
    type: str
    required: true
  method:
    description:
      - V(auto) rolls back to an older READY production deployment and promotes anything else.
      - V(promote) and V(rollback) force one way; Vercel accepts a rollback only to an earlier production
        deployment.
    type: str
    default: auto
    choices: [auto, promote, rollback]
  description:
    description:
      - Reason recorded with a rollback (sent on the v1 rollback path). Ignored for a promote.
    type: str
extends_documentation_fragment:
  - appops.runbooks.vercel
  - appops.runbooks.api_retry
  - appops.runbooks.vercel.WAIT
  - appops.runbooks.vercel.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    details: Reports whether a promote or rollback would be sent, and which; nothing is sent.
seealso:
  - module: appops.runbooks.vercel_deployment
  - module: appops.runbooks.vercel_alias
  - module: appops.runbooks.vercel_project_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Instant rollback to the previous production deployment (vercel rollback)
  appops.runbooks.vercel_production:
    project: fixzit
    deployment: previous
    description: health gate failed after deploy
  register: rollback

- name: Promote the new deployment (vercel promote)
  appops.runbooks.vercel_production:
    project: fixzit
    deployment: "{{ deploy.deployment.id }}"
"""

RETURN = r"""
operation:
  description: What was (or in check mode would be) done, V(promote), V(rollback) or V(none).
  returned: success
  type: str
  sample: rollback
from_deployment:
  description: Id of the production deployment before the task.
  returned: success
  type: str
  sample: dpl_0123
to_deployment:
  description: Id of the deployment that serves production after the task.
  returned: success
  type: str
  sample: dpl_4567
deployment:
  description: The deployment that serves production after the task.
  returned: success
  type: dict
attached:
  description: True when an alias job of an earlier run towards this deployment was waited for.
  returned: success
  type: bool
last_alias_request:
  description: The project's C(lastAliasRequest) after the task (C(jobStatus), C(type), from and to ids).
  returned: success
  type: dict
  sample: {jobStatus: succeeded, type: rollback, fromDeploymentId: dpl_4567, toDeploymentId: dpl_0123}
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._vercel.client import WAIT_ARGUMENT_SPEC
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.deployments import (
    describe, deployment_id, ready_state,
)
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.module import VercelModule
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.production import (
    PREVIOUS, alias_job, change_kind, job_in_flight, job_towards, previous_production, production_id,
    wait_for_alias_job,
)


def settled_project(vm: VercelModule) -> tuple[dict[str, t.Any], str | None]:
    """The project once an alias job already running has finished, and where that job went."""
    p = vm.params
    vm.doing("reading the project")
    project = vm.client.project(vm.project_name)
    if not job_in_flight(project):
        return project, None
    towards = (alias_job(project) or {}).get("toDeploymentId")
    vm.doing("waiting for an alias job that is already running")
    project = wait_for_alias_job(vm.client, project["id"], timeout=p["wait_timeout"], interval=p["poll_interval"])
    return project, towards


def wanted_deployment(vm: VercelModule, project: dict[str, t.Any]) -> dict[str, t.Any]:
    wanted = vm.params["deployment"]
    if wanted == PREVIOUS:
        vm.doing("finding the previous production deployment")
        found = previous_production(vm.client, project)
        if found is None:
            vm.fail(f"{vm.subject}: there is no READY production deployment older than the current one")
        return vm.client.deployment(deployment_id(found))
    vm.doing(f"reading deployment {wanted}")
    found = vm.client.deployment(wanted)
    if found.get("projectId") not in (None, project["id"]):
        vm.fail(f"{vm.subject}: deployment {wanted} belongs to another project")
    return found


def send(vm: VercelModule, kind: str, project_id: str, target_id: str) -> None:
    if kind == "rollback":
        vm.client.rollback(project_id, target_id, vm.params["description"])
    else:
        vm.client.promote(project_id, target_id)


def view(deployment_id_: str | None, url: str | None = None) -> dict[str, t.Any]:
    return {"production": deployment_id_, "url": url}


def run(vm: VercelModule) -> None:
    p = vm.params
    project, towards = settled_project(vm)
    current_id = production_id(project)
    target = wanted_deployment(vm, project)
    target_id = deployment_id(target)
    current = vm.client.deployment(current_id) if current_id else None
    before = view(current_id, (current or {}).get("url"))
    if target_id == current_id:
        vm.exit(False, before=before, after=before, operation="none", from_deployment=current_id,
                to_deployment=current_id, deployment=describe(target), attached=towards == target_id,
                last_alias_request=alias_job(project))

    if ready_state(target) != "READY":
        vm.fail(f"{vm.subject}: deployment {target_id} is {ready_state(target)}; only a READY deployment can serve"
                " production (wait for it with vercel_deployment first)", deployment=describe(target))
    kind = change_kind(p["method"], target, current)
    after = view(target_id, target.get("url"))

    def started_by_lost_request() -> dict[str, t.Any] | None:
        vm.doing("looking for the alias job a request whose answer was lost may have started")
        seen = vm.client.project(project["id"])
        moved = job_towards(seen, target_id) or production_id(seen) == target_id
        return alias_job(seen) if moved else None

    started = vm.start(
        f"sending the {kind} to {target_id}",
        find_running=lambda: None,  # an earlier run's job was waited for above
        create=lambda: send(vm, kind, project["id"], target_id),
        find_started=started_by_lost_request,
    )
    if started is None or not p["wait"]:
        vm.exit(True, before=before, after=after, operation=kind, from_deployment=current_id, to_deployment=target_id,
                deployment=describe(target), attached=False, last_alias_request=alias_job(project))
    vm.doing(f"waiting for the {kind} to {target_id} (lastAliasRequest)")
    project = wait_for_alias_job(vm.client, project["id"], timeout=p["wait_timeout"], interval=p["poll_interval"])
    job = alias_job(project) or {}
    if job.get("jobStatus") != "succeeded" or production_id(project) != target_id:
        vm.fail(f"{vm.subject}: the {kind} to {target_id} ended {job.get('jobStatus')!r}; production is"
                f" {production_id(project)}", last_alias_request=job, operation=kind)
    vm.exit(True, before=before, after=after, operation=kind, from_deployment=current_id, to_deployment=target_id,
            deployment=describe(target), attached=False, last_alias_request=job)


def main() -> None:
    spec = dict(
        project=dict(type="str", required=True),
        deployment=dict(type="str", required=True),
        method=dict(type="str", default="auto", choices=["auto", "promote", "rollback"]),
        description=dict(type="str"),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    VercelModule(spec).run(run)


if __name__ == "__main__":
    main()
