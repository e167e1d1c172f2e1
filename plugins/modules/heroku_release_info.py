#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_release_info
short_description: List a Heroku app's releases or read one
version_added: 0.1.0
description:
  - The API equivalent of C(heroku releases) and C(heroku releases:info). Never changes anything.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
  version:
    description:
      - Read only this release (V(42) or V(v42)). Omit to list the newest releases.
    type: str
  limit:
    description:
      - How many releases to list, newest first.
    type: int
    default: 10
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  # Before the builtin attributes: the first fragment to set an attribute wins.
  - appops.runbooks.heroku.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.heroku_release
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Recent releases (heroku releases)
  appops.runbooks.heroku_release_info:
    app: sc-mvp-production
    limit: 5
  register: releases

- name: One release (heroku releases:info v8)
  appops.runbooks.heroku_release_info:
    app: sc-mvp-production
    version: v8
"""

RETURN = r"""
releases:
  description: Releases, newest first (only the one asked for when O(version) is set).
  returned: success
  type: list
  elements: dict
  sample: [{version: 9, status: succeeded, current: true, description: Deploy 1a2b3c}]
current:
  description: The current release (null for an app without one). Not set when O(version) is given.
  returned: when O(version) is not set
  type: dict
release:
  description: The release asked for with O(version).
  returned: when O(version) is set
  type: dict
"""

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.releases import (
    PREVIOUS,
    current_release,
    parse_version,
)


def run(hm: HerokuModule) -> None:
    if hm.params["version"] is not None:
        try:
            version = parse_version(hm.params["version"])
        except ValueError as error:
            hm.fail(str(error))
        if version == PREVIOUS:
            hm.fail("version must name a release here (42 or v42)")
        hm.doing(f"reading release v{version}")
        release = hm.client.release(hm.app, version)
        hm.exit(False, releases=[release], release=release)
    if hm.params["limit"] < 1:
        hm.fail("limit must be at least 1")
    hm.doing("listing releases")
    releases = hm.client.releases(hm.app, limit=hm.params["limit"])
    hm.exit(False, releases=releases, current=current_release(releases))


def main() -> None:
    HerokuModule(dict(
        app=dict(type="str", required=True),
        version=dict(type="str"),
        limit=dict(type="int", default=10),
    )).run(run)


if __name__ == "__main__":
    main()
