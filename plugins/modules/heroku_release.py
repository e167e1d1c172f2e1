#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_release
short_description: Make a chosen Heroku release the running one (rollback)
version_added: 0.1.0
description:
  - Desired-state rollback, the API equivalent of C(heroku rollback [vN]).
  - Heroku rolls back by creating a new release, described as C(Rollback to vN), that runs the slug and
    config vars of vN. So the app counts as already on vN when its current release is vN itself or a
    release described as C(Rollback to vN); then nothing is done.
  - Otherwise the module creates the rollback release and, with O(wait), waits until it leaves C(pending)
    (its release phase ran) and fails if it ends C(failed).
  - If the newest release is a rollback to the same target that is still C(pending) (for example from an
    interrupted earlier run), the module waits for it instead of starting another.
  - When the answer to the request that creates the rollback is lost (a broken connection, a timeout, a
    server error), the module looks for the rollback release that request created before it sends it again.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
  version:
    description:
      - The release to run, as V(42), V(v42) or V(previous).
      - V(previous) means the newest release older than the current one that succeeded and is eligible for
        rollback. It is anchored to the current release so that re-running it is a no-op. When the current
        release is itself a rollback (C(Rollback to vN)), V(previous) counts as already reached and nothing
        changes. To go back further, name the version.
    type: str
    required: true
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  - appops.runbooks.heroku.WAIT
  - appops.runbooks.heroku.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    details: Returns the rollback release as it would be created (C(status=pending), no id).
notes:
  - A rollback does not undo database migrations.
seealso:
  - module: appops.runbooks.heroku_release_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Roll back to a named release (heroku rollback v8)
  appops.runbooks.heroku_release:
    app: sc-mvp-production
    version: v8

- name: Roll back to the release before the current one; a re-run changes nothing
  appops.runbooks.heroku_release:
    app: micmap-api
    version: previous
    wait_timeout: 300
  register: rollback
"""

RETURN = r"""
release:
  description:
    - The release now current. After a rollback, the new rollback release (its final state when O(wait)).
    - In check mode with a change, the rollback release as it would be (no id, status V(pending)).
  returned: success
  type: dict
  sample: {version: 12, description: Rollback to v10, status: succeeded, current: true}
target:
  description: The release whose slug and config the app runs (or will run).
  returned: success
  type: dict
  sample: {version: 10, status: succeeded}
previous_release:
  description: The release that was current before the module ran.
  returned: success
  type: dict
attached:
  description: True when an in-flight rollback to the same target was waited for instead of starting one.
  returned: success
  type: bool
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.client import WAIT_ARGUMENT_SPEC
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.releases import (
    PREVIOUS,
    current_release,
    parse_version,
    previous_release,
    rollback_target_version,
    wait_for_release,
)
from ansible_collections.appops.runbooks.plugins.module_utils._http import NotFound


def summary(release: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    if not release:
        return None
    return {"version": release.get("version"), "description": release.get("description")}


def runs_version(release: dict[str, t.Any], version: int) -> bool:
    return release.get("version") == version or rollback_target_version(release) == version


def resolve_target(hm: HerokuModule, wanted: int | str, releases: list, current: dict) -> dict[str, t.Any] | None:
    """The target release; None when ``previous`` is already reached (current is a rollback)."""
    if wanted == PREVIOUS:
        if rollback_target_version(current) is not None:
            return None
        target = previous_release(releases, current)
        if target is None:
            hm.fail(f"Heroku app {hm.app!r}: no release before v{current.get('version')} to roll back to")
        return target
    hm.doing(f"reading release v{wanted}")
    try:
        return hm.client.release(hm.app, wanted)
    except NotFound:
        hm.fail(f"Heroku app {hm.app!r} has no release v{wanted}")


def settle(hm: HerokuModule, release: dict[str, t.Any]) -> dict[str, t.Any]:
    if not hm.params["wait"] or release.get("status") != "pending":
        return release
    hm.doing(f"waiting for release v{release.get('version')}")
    return wait_for_release(
        hm.client, hm.app, release["id"],
        timeout=hm.params["wait_timeout"], interval=hm.params["poll_interval"],
    )


def finish(hm: HerokuModule, changed: bool, release: dict, target: dict | None, before: dict, attached: bool) -> None:
    if release.get("status") == "failed":
        hm.fail(
            f"Heroku app {hm.app!r}: release v{release.get('version')} ({release.get('description')}) failed;"
            f" see its output: {release.get('output_stream_url') or 'heroku releases:output'}",
            release=release, target=target, previous_release=before,
        )
    hm.exit(
        changed, before=summary(before), after=summary(release),
        release=release, target=target, previous_release=before, attached=attached,
    )


def run(hm: HerokuModule) -> None:
    try:
        wanted = parse_version(hm.params["version"])
    except ValueError as error:
        hm.fail(str(error))
    hm.doing("listing releases")
    releases = hm.client.releases(hm.app, limit=100)
    current = current_release(releases)
    if current is None:
        hm.fail(f"Heroku app {hm.app!r} has no succeeded release yet")

    target = resolve_target(hm, wanted, releases, current)
    if target is None:  # `previous` with a rollback already current
        hm.doing(f"reading release v{rollback_target_version(current)}")
        target = hm.client.release(hm.app, rollback_target_version(current))
        finish(hm, False, current, target, current, False)
    version = target["version"]

    newest = releases[0]
    pending = newest if newest.get("status") == "pending" and rollback_target_version(newest) == version else None
    if pending is None and runs_version(current, version):
        finish(hm, False, current, target, current, False)
    if pending is None and target.get("status") != "succeeded":
        hm.fail(f"Heroku app {hm.app!r}: cannot roll back to v{version}, its status is {target.get('status')}")

    started = hm.start(
        f"rolling back to v{version}",
        find_running=lambda: pending,
        create=lambda: hm.client.rollback(hm.app, target["id"]),
        find_started=lambda: rollback_since(hm, newest.get("version") or 0, version),
    )
    if started is None:
        predicted = {"version": newest["version"] + 1, "description": f"Rollback to v{version}",
                     "status": "pending", "slug": target.get("slug")}
        finish(hm, True, predicted, target, current, False)
    finish(hm, started.started_here, settle(hm, started.job), target, current, not started.started_here)


def rollback_since(hm: HerokuModule, known_version: int, version: int) -> dict[str, t.Any] | None:
    """A rollback to ``version`` newer than ``known_version``: what a request whose answer was lost created."""
    hm.doing("looking for the rollback a request whose answer was lost may have created")
    for release in hm.client.releases(hm.app, limit=10):
        if (release.get("version") or 0) > known_version and rollback_target_version(release) == version:
            return release
    return None


def main() -> None:
    spec = dict(
        app=dict(type="str", required=True),
        version=dict(type="str", required=True),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    HerokuModule(spec).run(run)


if __name__ == "__main__":
    main()
