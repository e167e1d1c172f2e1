#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_config_vars_info
short_description: Read a Heroku app's config var keys, and the values of chosen keys
version_added: 0.1.0
description:
  - The API equivalent of C(heroku config) (keys) and C(heroku config:get KEY) (values). Never changes anything.
  - Keys are always returned. Values are returned only for the keys listed in O(reveal), for example the
    C(REDIS_URL) a cache flush connects to. Such values are secrets, so a task that reveals values must set
    C(no_log) to V(true); the module fails when the task does not.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
  reveal:
    description:
      - Keys whose values are returned in RV(values). A key that is not set is an error.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  # Before the builtin attributes: the first fragment to set an attribute wins.
  - appops.runbooks.heroku.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.heroku_config_vars
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Read the Redis URL of the app (heroku config:get REDIS_URL), never shown
  appops.runbooks.heroku_config_vars_info:
    app: micmap-api
    reveal: [REDIS_URL]
  register: micmap_config
  no_log: true
"""

RETURN = r"""
keys:
  description: Names of the app's config vars, sorted.
  returned: success
  type: list
  elements: str
  sample: [DATABASE_URL, RAILS_ENV, REDIS_URL]
values:
  description: Values of the keys listed in O(reveal).
  returned: success
  type: dict
  sample: {REDIS_URL: "redis://h:secret@example.invalid:6379"}
"""

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule


def run(hm: HerokuModule) -> None:
    wanted = hm.params["reveal"]
    # no_log on the task reaches the module as _ansible_no_log: revealing without it would print secrets.
    if wanted and not hm.module.no_log:
        hm.fail("reveal returns secret values: set no_log: true on the task")
    hm.doing("reading the config vars")
    config = hm.client.config_vars(hm.app)
    missing = [key for key in wanted if key not in config]
    if missing:
        hm.fail(f"Heroku app {hm.app!r} has no config var {', '.join(missing)}", keys=sorted(config))
    hm.exit(False, keys=sorted(config), values={key: config[key] for key in wanted})


def main() -> None:
    HerokuModule(dict(
        app=dict(type="str", required=True),
        reveal=dict(type="list", elements="str", default=[], no_log=False),
    )).run(run)


if __name__ == "__main__":
    main()
