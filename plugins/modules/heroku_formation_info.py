#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_formation_info
short_description: Read a Heroku app's formation and dynos
version_added: 0.1.0
description:
  - The API equivalent of C(heroku ps). Never changes anything.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  # Before the builtin attributes: the first fragment to set an attribute wins.
  - appops.runbooks.heroku.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.heroku_formation
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Process types and dynos (heroku ps)
  appops.runbooks.heroku_formation_info:
    app: sc-mvp-production
  register: ps

- name: Every dyno must be up
  ansible.builtin.assert:
    that: ps.dynos | rejectattr('state', 'equalto', 'up') | list | length == 0
"""

RETURN = r"""
formation:
  description: Process types sorted by type, with quantity, size and command.
  returned: success
  type: list
  elements: dict
  sample: [{type: web, quantity: 1, size: Basic, command: bundle exec puma}]
dynos:
  description: Dynos as the API lists them (name, type, state, size, command, release).
  returned: success
  type: list
  elements: dict
  sample: [{name: web.1, type: web, state: up, size: Basic}]
"""

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.client import formation_entry
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule


def run(hm: HerokuModule) -> None:
    hm.doing("reading the formation")
    formation = sorted((formation_entry(e) for e in hm.client.formation(hm.app)), key=lambda e: e["type"] or "")
    hm.doing("listing dynos")
    dynos = sorted(hm.client.dynos(hm.app), key=lambda d: d.get("name") or "")
    hm.exit(False, formation=formation, dynos=dynos)


def main() -> None:
    HerokuModule(dict(app=dict(type="str", required=True))).run(run)


if __name__ == "__main__":
    main()
