#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_app_info
short_description: Read a Heroku app, its formation and its current release
version_added: 0.1.0
description:
  - Returns the app (including its maintenance mode), and optionally its formation, dynos and current release.
  - Never changes anything.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
    aliases: [name]
  include:
    description:
      - Extra facts to read besides the app itself.
    type: list
    elements: str
    choices: [formation, dynos, current_release, rate_limit]
    default: []
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  # Before the builtin attributes: the first fragment to set an attribute wins.
  - appops.runbooks.heroku.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.heroku_app
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Remember whether maintenance was on before a restore
  appops.runbooks.heroku_app_info:
    app: sc-mvp-production
  register: app_before

- name: App plus formation, dynos and current release (heroku ps, heroku releases)
  appops.runbooks.heroku_app_info:
    app: micmap-api
    include: [formation, dynos, current_release]
"""

RETURN = r"""
app:
  description: The app.
  returned: success
  type: dict
  sample: {name: micmap-api, maintenance: false}
formation:
  description: Process types with their quantity and size, when O(include) has V(formation).
  returned: when requested
  type: list
  elements: dict
dynos:
  description: Running dynos with their state, when O(include) has V(dynos).
  returned: when requested
  type: list
  elements: dict
current_release:
  description: The current release, when O(include) has V(current_release); null for an app without releases.
  returned: when requested
  type: dict
rate_limit_remaining:
  description: API requests left in the account's rate-limit bucket, when O(include) has V(rate_limit).
  returned: when requested
  type: int
"""

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.releases import current_release


def run(hm: HerokuModule) -> None:
    include = set(hm.params["include"])
    result: dict = {}
    hm.doing("reading the app")
    result["app"] = hm.client.app(hm.app)
    if "formation" in include:
        hm.doing("reading the formation")
        result["formation"] = hm.client.formation(hm.app)
    if "dynos" in include:
        hm.doing("listing dynos")
        result["dynos"] = hm.client.dynos(hm.app)
    if "current_release" in include:
        hm.doing("reading releases")
        result["current_release"] = current_release(hm.client.releases(hm.app, limit=50))
    if "rate_limit" in include:
        hm.doing("reading the rate limit")
        result["rate_limit_remaining"] = hm.client.rate_limit_remaining()
    hm.exit(False, **result)


def main() -> None:
    hm = HerokuModule(dict(
        app=dict(type="str", required=True, aliases=["name"]),
        include=dict(type="list", elements="str", default=[],
                     choices=["formation", "dynos", "current_release", "rate_limit"]),
    ))
    hm.run(run)


if __name__ == "__main__":
    main()
