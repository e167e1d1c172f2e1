#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_deployment
short_description: Create a Vercel deployment from a git ref or a file set, or redeploy one
version_added: 0.1.0
description:
  - The API equivalent of C(vercel deploy) and C(vercel redeploy). Every deployment this module creates is a
    build, and builds are counted (Vercel's Hobby plan allows 100 a day), so it creates one only when needed.
  - With O(state=present) (desired state), an existing READY deployment of the same source for the same
    O(target) satisfies the task and nothing is created. The source is the git commit O(git_source.sha) when
    given, else the branch or tag O(git_source.ref) (a branch that moved on still matches, so give the commit to
    pin it), the file set's content, or for O(redeploy) a redeploy of that deployment.
  - With O(state=redeployed), a new deployment is created every time (the runbooks' C(vercel redeploy) and
    C(vercel --force)), for example to pick up changed env vars, which reach a site only through a new
    deployment.
  - In both states, a deployment of the same source and target that is still building (for example from an
    interrupted earlier run) is waited for instead of starting another, and when the answer to the request
    that creates a deployment is lost the module looks for the deployment it started before sending it again.
  - A production deployment that becomes READY takes the production domains by itself, unless the project
    was rolled back (then use M(appops.runbooks.vercel_production) to promote it).
  - With O(wait), waits until the deployment is READY and fails when it ends in ERROR or CANCELED; the failure
    message ends with the last lines of the build log.
options:
  project:
    description:
      - Name or id of the project.
    type: str
    required: true
  git_source:
    description:
      - Deploy a commit of the project's connected git repository (the API's C(gitSource)).
    type: dict
    suboptions:
      ref:
        description:
          - Branch or tag to deploy.
        type: str
        required: true
      sha:
        description:
          - Commit to deploy; it also identifies the deployment on a re-run.
        type: str
      repo_id:
        description:
          - Id of the repository (C(repoId)); Vercel takes the project's linked repository when omitted.
        type: str
      org:
        description:
          - Owner of the repository, with O(git_source.repo), instead of O(git_source.repo_id).
        type: str
      repo:
        description:
          - Name of the repository, with O(git_source.org).
        type: str
      type:
        description:
          - The git provider.
        type: str
        default: github
        choices: [github, gitlab, bitbucket]
  files:
    description:
      - Deploy this file set, each file inlined as the API's C(files) takes them.
      - The content of the set identifies the deployment on a re-run (kept in the deployment's meta
        C(appopsFilesDigest)).
    type: list
    elements: dict
    suboptions:
      file:
        description:
          - Path of the file in the project.
        type: str
        required: true
      data:
        description:
          - Content of the file.
        type: str
        required: true
      encoding:
        description:
          - How O(files[].data) is encoded.
        type: str
        default: utf-8
        choices: [utf-8, base64]
  redeploy:
    description:
      - Redeploy this deployment (id or URL), or V(production) for the project's current production deployment;
        the same source, built again with the project's env vars as they are now.
      - V(production) needs O(state=redeployed), since the name points at the new deployment once it is done.
    type: str
  target:
    description:
      - Where the deployment goes. V(production) deployments take the production domains once READY.
    type: str
    default: production
    choices: [production, preview]
  state:
    description:
      - V(present) creates a deployment only when no READY one of the same source exists for the target.
      - V(redeployed) always creates a new one (unless one of the same source is still building).
    type: str
    default: present
    choices: [present, redeployed]
  force:
    description:
      - Build without the build cache (the API's C(forceNew=1), the CLI's C(--force)).
    type: bool
    default: false
  meta:
    description:
      - Metadata to attach to a new deployment (string values).
    type: dict
    default: {}
  log_lines:
    description:
      - How many lines of the build log a failure message ends with.
    type: int
    default: 20
extends_documentation_fragment:
  - appops.runbooks.vercel
  - appops.runbooks.api_retry
  - appops.runbooks.vercel.WAIT
  - appops.runbooks.vercel.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    details: Reports whether a deployment would be created; nothing is sent.
  diff_mode:
    details: Shows the matching deployment before and the source to deploy after.
seealso:
  - module: appops.runbooks.vercel_production
  - module: appops.runbooks.vercel_deployment_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Deploy a commit of main to production; re-running with the same commit changes nothing
  appops.runbooks.vercel_deployment:
    project: fixzit
    git_source:
      ref: main
      sha: "{{ commit }}"
  register: deploy

- name: Redeploy production so changed env vars take effect (vercel redeploy)
  appops.runbooks.vercel_deployment:
    project: fixzit
    redeploy: production
    state: redeployed

- name: Rebuild without the build cache (vercel --prod --force)
  appops.runbooks.vercel_deployment:
    project: mysetlist-sonnet
    redeploy: production
    state: redeployed
    force: true
"""

RETURN = r"""
deployment:
  description: The deployment (the new one, the one attached to, or the existing one that satisfied the task).
  returned: success, except in check mode when a deployment would be created
  type: dict
  sample: {id: dpl_89abcdef, url: fixzit-1a2b3c4d5-team.vercel.app, readyState: READY, target: production}
attached:
  description: True when a deployment of the same source that was still building was waited for.
  returned: success
  type: bool
source:
  description: What the deployment is built from (never file contents).
  returned: always
  type: dict
  sample: {git_ref: main, git_sha: 0123abcd}
build_log:
  description: The last lines of the build log of a deployment that ended in ERROR or CANCELED.
  returned: failure of the build
  type: list
  elements: str
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._vercel.client import WAIT_ARGUMENT_SPEC
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.deployments import (
    FILES_DIGEST_META, Source, build_log_excerpt, describe, deployment_id, is_final, ready_state, source_view,
    target_of, wait_until_final,
)
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.module import VercelModule
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.production import production_id

# How far back a re-run looks for a deployment of the same source.
RECENT_DEPLOYMENTS = 100


def redeployed_deployment(vm: VercelModule, project: dict[str, t.Any]) -> dict[str, t.Any]:
    wanted = vm.params["redeploy"]
    if wanted == "production":
        if vm.params["state"] != "redeployed":
            # "production" names another deployment after each redeploy: as desired state it would never settle.
            vm.fail("redeploy=production needs state=redeployed; give a deployment id for state=present")
        wanted = production_id(project)
        if not wanted:
            vm.fail(f"{vm.subject}: there is no production deployment to redeploy")
    vm.doing(f"reading deployment {wanted}")
    original = vm.client.deployment(wanted)
    if original.get("projectId") not in (None, project["id"]):
        vm.fail(f"{vm.subject}: deployment {wanted} belongs to another project")
    return original


def wanted_source(vm: VercelModule, project: dict[str, t.Any]) -> Source:
    p = vm.params
    if p["redeploy"]:
        return Source(redeploy_of=redeployed_deployment(vm, project))
    if p["files"]:
        return Source(files=p["files"])
    return Source(git=p["git_source"])


def git_source_body(git: dict[str, t.Any]) -> dict[str, t.Any]:
    body: dict[str, t.Any] = {"type": git["type"], "ref": git["ref"]}
    for option, field in (("sha", "sha"), ("repo_id", "repoId"), ("org", "org"), ("repo", "repo")):
        if git.get(option):
            body[field] = git[option]
    return body


def request_body(vm: VercelModule, project: dict[str, t.Any], source: Source) -> dict[str, t.Any]:
    p = vm.params
    body: dict[str, t.Any] = {"name": project["name"], "project": project["id"]}
    meta = {str(k): str(v) for k, v in (p["meta"] or {}).items()}
    if source.redeploy_of is not None:
        body["deploymentId"] = deployment_id(source.redeploy_of)
        meta["action"] = "redeploy"
    elif source.files is not None:
        body["files"] = [{"file": f["file"], "data": f["data"], "encoding": f["encoding"]} for f in source.files]
        meta[FILES_DIGEST_META] = str(source.digest)
    else:
        body["gitSource"] = git_source_body(source.git or {})
    if meta:
        body["meta"] = meta
    if p["target"] == "production":
        body["target"] = "production"
    return body


def recent_of_source(vm: VercelModule, project_id: str, source: Source) -> list[dict[str, t.Any]]:
    """Deployments of this source and target, newest first."""
    vm.doing("listing deployments")
    listed = vm.client.deployments(project_id, limit=RECENT_DEPLOYMENTS)
    return [d for d in listed if source.matches(d) and target_of(d) == vm.params["target"]]


def settle(vm: VercelModule, deployment: dict[str, t.Any], source: Source) -> dict[str, t.Any]:
    """Wait for READY; on ERROR or CANCELED fail with the end of the build log."""
    p = vm.params
    ident = deployment_id(deployment)
    if not p["wait"] or is_final(deployment) and ready_state(deployment) == "READY":
        return deployment
    vm.doing(f"waiting for deployment {ident}")
    deployment = wait_until_final(vm.client, ident, timeout=p["wait_timeout"], interval=p["poll_interval"])
    if ready_state(deployment) == "READY":
        return deployment
    vm.doing(f"reading the build log of deployment {ident}")
    log = build_log_excerpt(vm.client.deployment_events(ident), p["log_lines"])
    reason = deployment.get("errorMessage") or deployment.get("errorCode") or "no reason given"
    text = "\n".join(log) if log else "(the build log is empty)"
    vm.fail(f"{vm.subject}: deployment {ident} ended {ready_state(deployment)}: {reason}\nbuild log (last lines):\n"
            f"{text}", deployment=describe(deployment), build_log=log, source=source.view())


def run(vm: VercelModule) -> None:
    p = vm.params
    vm.doing("reading the project")
    project = vm.client.project(vm.project_name)
    source = wanted_source(vm, project)
    matching = recent_of_source(vm, project["id"], source)
    running = next((d for d in matching if not is_final(d)), None)
    existing = next((d for d in matching if ready_state(d) == "READY"), None)
    if running is None and existing is not None and p["state"] == "present":
        vm.doing(f"reading deployment {deployment_id(existing)}")
        current = vm.client.deployment(deployment_id(existing))
        vm.exit(False, before=source_view(current), after=source_view(current), deployment=describe(current),
                attached=False, source=source.view())

    body = request_body(vm, project, source)
    known = {deployment_id(d) for d in matching}
    after = {**source.view(), "target": p["target"]}

    def started_since() -> dict[str, t.Any] | None:
        vm.doing("looking for the deployment a request whose answer was lost may have started")
        return next((d for d in recent_of_source(vm, project["id"], source) if deployment_id(d) not in known), None)

    started = vm.start(
        "creating a deployment",
        find_running=lambda: running,
        create=lambda: vm.client.create_deployment(body, force_new=p["force"]),
        find_started=started_since,
    )
    if started is None:
        vm.exit(True, before=source_view(existing), after=after, attached=False, source=source.view())
    deployment = settle(vm, started.job, source)
    vm.exit(started.started_here, before=source_view(existing), after=source_view(deployment),
            deployment=describe(deployment), attached=not started.started_here, source=source.view())


def main() -> None:
    spec = dict(
        project=dict(type="str", required=True),
        git_source=dict(type="dict", options=dict(
            ref=dict(type="str", required=True),
            sha=dict(type="str"),
            repo_id=dict(type="str"),
            org=dict(type="str"),
            repo=dict(type="str"),
            type=dict(type="str", default="github", choices=["github", "gitlab", "bitbucket"]),
        )),
        files=dict(type="list", elements="dict", options=dict(
            file=dict(type="str", required=True),
            data=dict(type="str", required=True),
            encoding=dict(type="str", default="utf-8", choices=["utf-8", "base64"]),
        )),
        redeploy=dict(type="str"),
        target=dict(type="str", default="production", choices=["production", "preview"]),
        state=dict(type="str", default="present", choices=["present", "redeployed"]),
        force=dict(type="bool", default=False),
        meta=dict(type="dict", default={}),
        log_lines=dict(type="int", default=20),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    VercelModule(
        spec,
        mutually_exclusive=[("git_source", "files", "redeploy")],
        required_one_of=[("git_source", "files", "redeploy")],
    ).run(run)


if __name__ == "__main__":
    main()
