#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_index_info
short_description: The indexes of MongoDB collections and how often each was used ($indexStats)
version_added: 0.1.0
description:
  - Returns the indexes of one collection, or of every collection of the database, each with its usage from
    C($indexStats) (C(accesses.ops), the number of operations that used it since C(accesses.since), when the
    server started counting). An index with few or no uses is a candidate for M(appops.runbooks.mongodb_index)
    with O(appops.runbooks.mongodb_index#module:state=absent).
options:
  collection:
    description:
      - The collection; by default every collection of the database.
    type: str
extends_documentation_fragment:
  - appops.runbooks.mongodb
  - appops.runbooks.mongodb.connection
  - appops.runbooks.mongodb.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.mongodb_index
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Which of fixzit's indexes are used
  appops.runbooks.mongodb_index_info:
    uri: "{{ fixzit_mongodb_uri }}"
  register: fixzit_indexes
"""

RETURN = r"""
indexes:
  description:
    - Per collection name, its indexes as M(appops.runbooks.mongodb_index) returns them, each with C(usage)
      (C(ops), C(since)); C(usage) is null where the server has no C($indexStats).
  returned: always
  type: dict
  sample: {workOrders: [{name: organizationId_1_status_1, keys: [[organizationId, 1], [status, 1]], unique: false,
                         usage: {ops: 1520, since: "2025-11-01T00:00:00"}}]}
"""

from ansible_collections.appops.runbooks.plugins.module_utils._mongo.client import MongoModule
from ansible_collections.appops.runbooks.plugins.module_utils._mongo.indexes import indexes_of, usage_of


def run(mm: MongoModule) -> None:
    database = mm.database
    mm.doing("listing collections")
    names = [mm.params["collection"]] if mm.params["collection"] else sorted(
        name for name in database.list_collection_names() if not name.startswith("system."))
    found = {}
    for name in names:
        mm.doing(f"reading the indexes of {name}")
        usage = usage_of(database[name])
        found[name] = [dict(index, usage=None if usage is None else usage.get(index["name"], {"ops": 0, "since": None}))
                       for index in indexes_of(database[name]).values()]
    mm.exit(False, indexes=found)


def main() -> None:
    MongoModule(dict(collection=dict(type="str"))).run(run)


if __name__ == "__main__":
    main()
