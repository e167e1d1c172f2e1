#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_index
short_description: A MongoDB index as desired state (createIndex, dropIndex)
version_added: 0.1.0
description:
  - O(state=present) makes sure the collection has an index named O(name) with O(keys) and the options given,
    the way C(db.collection.createIndex(keys, options)) creates one; O(state=absent) drops it, as
    C(db.collection.dropIndex(name)) does.
  - Reads the collection's indexes first. An index that already has the name, the keys and the options is left
    alone. An index with that name but other keys or options is dropped and created again (MongoDB cannot change
    an index in place); the diff shows both.
  - Building an index on a large collection takes time and load on the cluster; dropping one that queries use
    slows them down. M(appops.runbooks.mongodb_index_info) shows how often each index was used.
options:
  collection:
    description:
      - The collection.
    type: str
    required: true
  keys:
    description:
      - 'The index keys in order, field to direction (V(1), V(-1)) or type (V(text), V(2dsphere), V(hashed)),
        for example C({organizationId: 1, status: 1}).'
      - Required with O(state=present); with O(state=absent) it names the index when O(name) is not set.
    type: dict
  name:
    description:
      - The index name; by default the one MongoDB would give it (C(organizationId_1_status_1)).
    type: str
  unique:
    description: Whether the index refuses two documents with the same key.
    type: bool
    default: false
  sparse:
    description: Whether documents without the indexed fields are left out of the index.
    type: bool
    default: false
  expire_after_seconds:
    description: A TTL index, removing documents this many seconds after the date in its single key field.
    type: int
  partial_filter_expression:
    description: Index only the documents that match this filter.
    type: dict
  state:
    description:
      - V(present) creates the index, V(absent) drops it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - appops.runbooks.mongodb
  - appops.runbooks.mongodb.connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: all
  action_group:
    support: full
    membership: [appops.runbooks.mongodb]
seealso:
  - module: appops.runbooks.mongodb_index_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: "fixzit's work order index: db.workOrders.createIndex({organizationId: 1, status: 1})"
  appops.runbooks.mongodb_index:
    uri: "{{ fixzit_mongodb_uri }}"
    collection: workOrders
    keys: {organizationId: 1, status: 1}

- name: Drop an index no query uses (db.auditLogs.dropIndex("action_1"))
  appops.runbooks.mongodb_index:
    uri: "{{ fixzit_mongodb_uri }}"
    collection: auditLogs
    name: action_1
    state: absent
"""

RETURN = r"""
index:
  description: The index afterwards (C(name), C(keys) as field/direction pairs, C(unique), C(sparse),
    C(expire_after_seconds), C(partial_filter_expression)); null when absent.
  returned: always
  type: dict
  sample: {name: organizationId_1_status_1, keys: [[organizationId, 1], [status, 1]], unique: false, sparse: false}
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._mongo.client import MongoModule
from ansible_collections.appops.runbooks.plugins.module_utils._mongo.indexes import (
    OPTION_FIELDS,
    direction,
    generated_name,
    indexes_of,
)


def wanted_index(mm: MongoModule) -> dict[str, t.Any]:
    keys = [[str(field), direction(way)] for field, way in (mm.params["keys"] or {}).items()]
    view: dict[str, t.Any] = {"name": mm.params["name"] or generated_name(keys), "keys": keys}
    for option in OPTION_FIELDS:
        view[option] = mm.params[option]
    view["unique"], view["sparse"] = bool(view["unique"]), bool(view["sparse"])
    return view


def create(mm: MongoModule, collection: t.Any, index: dict[str, t.Any]) -> None:
    options = {field: index[option] for option, field in OPTION_FIELDS.items()
               if index[option] not in (None, False)}
    collection.create_index([tuple(pair) for pair in index["keys"]], name=index["name"], **options)


def run(mm: MongoModule) -> None:
    collection = mm.database[mm.params["collection"]]
    mm.doing(f"listing the indexes of {mm.params['collection']}")
    existing = indexes_of(collection)
    if mm.params["state"] == "absent":
        name = mm.params["name"] or (generated_name(wanted_index(mm)["keys"]) if mm.params["keys"] else None)
        if name is None:
            mm.fail("state=absent needs name or keys")
        if name == "_id_":
            mm.fail("the _id_ index cannot be dropped")
        current = existing.get(name)
        if current is None:
            mm.exit(False, index=None)
        if not mm.module.check_mode:
            mm.doing(f"dropping index {name}")
            collection.drop_index(name)
        mm.exit(True, before=current, after=None, index=None)
    wanted = wanted_index(mm)
    current = existing.get(wanted["name"])
    if current == wanted:
        mm.exit(False, index=current)
    if not mm.module.check_mode:
        if current is not None:
            mm.doing(f"dropping index {wanted['name']} to create it with other keys or options")
            collection.drop_index(wanted["name"])
        mm.doing(f"creating index {wanted['name']}")
        create(mm, collection, wanted)
        wanted = indexes_of(collection).get(wanted["name"], wanted)
    mm.exit(True, before=current, after=wanted, index=wanted)


def main() -> None:
    spec: dict[str, dict[str, t.Any]] = dict(
        collection=dict(type="str", required=True),
        keys=dict(type="dict", no_log=False),
        name=dict(type="str"),
        unique=dict(type="bool", default=False),
        sparse=dict(type="bool", default=False),
        expire_after_seconds=dict(type="int"),
        partial_filter_expression=dict(type="dict"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    MongoModule(spec, required_if=[("state", "present", ["keys"])]).run(run)


if __name__ == "__main__":
    main()
