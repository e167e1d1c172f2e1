#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_collection_info
short_description: Document counts and content fingerprints of the collections of a MongoDB database
version_added: 0.1.0
description:
  - Counts the documents of each collection of the database (or of O(collections)) with C(countDocuments), and with
    O(fingerprints) also reads every document once for a content fingerprint per collection, computed as
    M(appops.runbooks.mongodb_dump) computes it from an archive. Two reads with the same fingerprints saw the same
    documents.
  - What a restore from a platform-kept snapshot is checked with (the runbook's C(/api/v1/mics) count), and what
    a backup records of the documents it saved.
options:
  collections:
    description:
      - Namespaces (C(database.collection)) to read; by default every collection of the database (system
        collections left out).
    type: list
    elements: str
    default: []
  fingerprints:
    description:
      - Also read every document for a content fingerprint per collection (a full read of the collections).
    type: bool
    default: false
extends_documentation_fragment:
  - appops.runbooks.mongodb
  - appops.runbooks.mongodb.connection
  - appops.runbooks.mongodb.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.mongodb_dump
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: How many mics micmap serves now
  appops.runbooks.mongodb_collection_info:
    uri: "{{ micmap_mongodb_uri }}"
    collections: [micmap.mics]
  register: micmap_counts
"""

RETURN = r"""
row_counts:
  description: Documents per collection (C(database.collection)).
  returned: always
  type: dict
  sample: {"micmap.mics": 60, "micmap.venues": 12}
fingerprints:
  description: Content fingerprint per collection; empty unless O(fingerprints).
  returned: always
  type: dict
server_version:
  description: Version the server reports.
  returned: always
  type: str
"""

from ansible_collections.appops.runbooks.plugins.module_utils._mongo.client import MongoModule
from ansible_collections.appops.runbooks.plugins.module_utils._mongo.live import (
    LiveError,
    collection_names,
    connect,
    counts,
    fingerprints,
    server_version,
)


def run(mm: MongoModule) -> None:
    mm.doing("listing collections")
    names = mm.params["collections"] or collection_names(mm.client, mm.database_name)
    mm.doing("reading the collections")
    if mm.params["fingerprints"]:
        # A fingerprint is taken over each document's BSON bytes as the server sends them.
        try:
            with connect(mm.params["uri"]) as raw_client:
                found_counts, found = fingerprints(raw_client, names)
        except LiveError as error:
            mm.fail(f"MongoDB database {mm.database_name!r}: {mm.operation} failed: {error}")
    else:
        found_counts, found = counts(mm.client, names), {}
    mm.doing("reading the server version")
    mm.exit(False, row_counts=found_counts, fingerprints=found, server_version=server_version(mm.client))


def main() -> None:
    MongoModule(dict(collections=dict(type="list", elements="str", default=[]),
                     fingerprints=dict(type="bool", default=False))).run(run)


if __name__ == "__main__":
    main()
