#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_build
short_description: Deploy a source tarball to a Heroku app with the Build API
version_added: 0.1.0
description:
  - The API equivalent of C(git push heroku main). Heroku fetches a gzipped source tarball, builds it
    and, when the build succeeds, creates a release.
  - Desired state. When the current release was built from the same source, nothing happens. The
    source is compared by O(checksum) when given, else by O(source_version), else by O(source_url).
    Comparing by URL breaks with signed URLs that change on every run, so give a checksum or version.
  - When a build of the same source is still running (for example from an interrupted earlier run), the
    module waits for it instead of starting another.
  - When the answer to the request that starts the build is lost (a broken connection, a timeout, a server
    error), the module looks for the build that request started before it sends the request again.
  - With O(wait), waits for the build and then for its release to leave C(pending), and fails when
    either fails.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
  source_url:
    description:
      - HTTPS URL of the gzipped tarball of the source that Heroku downloads.
    type: str
    required: true
  checksum:
    description:
      - Checksum of the tarball as Heroku expects it, for example V(SHA256:e3b0c442...). Heroku verifies it.
    type: str
  source_version:
    description:
      - Version of the source, for example the git commit or tag. Shown in C(heroku releases).
    type: str
  buildpacks:
    description:
      - Buildpack URLs or names to use instead of the app's own.
    type: list
    elements: str
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  - appops.runbooks.heroku.WAIT
  - appops.runbooks.heroku.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    details: Reports whether a build would start; nothing is sent.
seealso:
  - module: appops.runbooks.heroku_release
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Deploy the tagged source; re-running with the same checksum changes nothing
  appops.runbooks.heroku_build:
    app: sc-mvp-staging
    source_url: "https://artifacts.example.com/sc-mvp/{{ ref }}.tar.gz"
    checksum: "SHA256:{{ tarball_sha256 }}"
    source_version: "{{ ref }}"
    wait_timeout: 1200
  register: deploy
"""

RETURN = r"""
build:
  description: The build (the new one, the one attached to, or the one the current release came from).
  returned: success, except in check mode when a build would start
  type: dict
  sample: {id: 01234567-89ab-cdef-0123-456789abcdef, status: succeeded, source_blob: {version: v1.3.0}}
release:
  description: The release the build created (or the current release when nothing changed).
  returned: success, when known
  type: dict
  sample: {version: 13, status: succeeded, description: Deploy v1.3.0}
attached:
  description: True when a running build of the same source was waited for instead of starting one.
  returned: success
  type: bool
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.client import WAIT_ARGUMENT_SPEC
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.releases import current_release, wait_for_release
from ansible_collections.appops.runbooks.plugins.module_utils._http import wait_for


def same_source(hm: HerokuModule, build: dict[str, t.Any]) -> bool:
    blob = build.get("source_blob") or {}
    if hm.params["checksum"]:
        return (blob.get("checksum") or "").lower() == hm.params["checksum"].lower()
    if hm.params["source_version"]:
        return blob.get("version") == hm.params["source_version"]
    return blob.get("url") == hm.params["source_url"]


def built_release(build: dict[str, t.Any], release: dict[str, t.Any]) -> bool:
    """Whether ``release`` runs what ``build`` produced (same release, or same slug after a rollback)."""
    if (build.get("release") or {}).get("id") == release.get("id"):
        return True
    slug = (release.get("slug") or {}).get("id")
    return slug is not None and (build.get("slug") or {}).get("id") == slug


def request_body(hm: HerokuModule) -> dict[str, t.Any]:
    blob = {"url": hm.params["source_url"]}
    if hm.params["checksum"]:
        blob["checksum"] = hm.params["checksum"]
    if hm.params["source_version"]:
        blob["version"] = hm.params["source_version"]
    body: dict[str, t.Any] = {"source_blob": blob}
    if hm.params["buildpacks"]:
        body["buildpacks"] = [{"url": url} for url in hm.params["buildpacks"]]
    return body


def source_view(build: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    if not build:
        return None
    blob = build.get("source_blob") or {}
    return {"checksum": blob.get("checksum"), "version": blob.get("version")}


def settle(hm: HerokuModule, build: dict[str, t.Any]) -> tuple[dict, dict | None]:
    """Wait for the build, then for its release; fail when either fails."""
    p = hm.params
    if not p["wait"]:
        return build, None
    hm.doing(f"waiting for build {build['id']}")
    build = wait_for(
        lambda: hm.client.build(hm.app, build["id"]), lambda b: b.get("status") != "pending",
        timeout=p["wait_timeout"], interval=p["poll_interval"], what=f"build {build['id']}",
    )
    if build.get("status") != "succeeded":
        hm.fail(f"Heroku app {hm.app!r}: build {build['id']} {build.get('status')};"
                f" output: {build.get('output_stream_url')}", build=build)
    release_id = (build.get("release") or {}).get("id")
    if not release_id:
        return build, None
    hm.doing(f"waiting for the release of build {build['id']}")
    release = wait_for_release(hm.client, hm.app, release_id, timeout=p["wait_timeout"], interval=p["poll_interval"])
    if release.get("status") != "succeeded":
        hm.fail(f"Heroku app {hm.app!r}: release v{release.get('version')} {release.get('status')}",
                build=build, release=release)
    return build, release


def started_since(hm: HerokuModule, known_ids: set[str]) -> dict[str, t.Any] | None:
    """A build of this source that is not in ``known_ids``: what a create whose answer was lost started."""
    hm.doing("looking for the build a request whose answer was lost may have started")
    return next((b for b in hm.client.builds(hm.app) if b.get("id") not in known_ids and same_source(hm, b)), None)


def run(hm: HerokuModule) -> None:
    hm.doing("listing releases")
    current = current_release(hm.client.releases(hm.app, limit=20))
    hm.doing("listing builds")
    builds = hm.client.builds(hm.app)
    deployed = next((b for b in builds if current and built_release(b, current)), None)

    running = next((b for b in builds if b.get("status") == "pending" and same_source(hm, b)), None)
    if running is None and deployed and deployed.get("status") == "succeeded" and same_source(hm, deployed):
        hm.exit(False, before=source_view(deployed), after=source_view(deployed),
                build=deployed, release=current, attached=False)

    body = request_body(hm)
    after = {"checksum": body["source_blob"].get("checksum"), "version": body["source_blob"].get("version")}
    known_ids = {b.get("id") for b in builds}
    started = hm.start(
        "starting a build",
        find_running=lambda: running,
        create=lambda: hm.client.create_build(hm.app, body),
        find_started=lambda: started_since(hm, known_ids),
    )
    if started is None:
        hm.exit(True, before=source_view(deployed), after=after, attached=False)
    build, release = settle(hm, started.job)
    if not started.started_here:
        hm.exit(False, before=source_view(deployed), after=source_view(build),
                build=build, release=release, attached=True)
    hm.exit(True, before=source_view(deployed), after=after, build=build, release=release, attached=False)


def main() -> None:
    spec = dict(
        app=dict(type="str", required=True),
        source_url=dict(type="str", required=True),
        checksum=dict(type="str"),
        source_version=dict(type="str"),
        buildpacks=dict(type="list", elements="str"),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    HerokuModule(spec).run(run)


if __name__ == "__main__":
    main()
