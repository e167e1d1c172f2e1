#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mongodb_dump
short_description: Dump a MongoDB database with mongodump into one verified archive file
version_added: 0.2.0
description:
  - Runs the real C(mongodump --db --archive --gzip) (MongoDB Database Tools) into O(dest), the
    logical backup of the runbooks (C(mongodump --uri=$MONGODB_URI) before every migration).
  - The archive is then read back whole before it counts as written; every namespace must end with
    its end block, every document must be whole BSON and the CRC-64 mongodump writes per namespace
    must match the documents. The document counts and a content fingerprint per collection come
    from that read.
  - The file is written with mode C(0600) next to O(dest) and renamed over it once verified, so a
    failed dump leaves no file behind.
  - An existing O(dest) is not dumped again (reported unchanged, its facts read back from it)
    unless O(force=true).
  - The connection string is given to the tools in a private config file, never on the command
    line, and never returned or logged.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - appops.runbooks.mongodb
  - appops.runbooks.mongodb.tools
options:
  database:
    description: The database to dump. Defaults to the database in O(uri).
    type: str
  collections:
    description:
      - Dump only these collections (C(workOrders) or C(fixzit.workOrders)); all of the database when
        empty. A collection the database does not have fails the task.
    type: list
    elements: str
    default: []
  dest:
    description: The archive file to write; its directory must exist.
    type: path
    required: true
  force:
    description: Dump again over an existing O(dest).
    type: bool
    default: false
  counts_from:
    description:
      - V(archive) (the safe default) reports the counts of the archive read back, the dump's own
        documents even while the app writes.
      - V(live) also counts the live collections and fails when they differ from the archive; only
        for a dump taken while nothing writes (the restore's safety backup, in maintenance).
    type: str
    choices: [archive, live]
    default: archive
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: appops.runbooks.mongodb_restore
"""

EXAMPLES = r"""
- name: Back up fixzit's database before a migration
  appops.runbooks.mongodb_dump:
    uri: "{{ lookup('ansible.builtin.env', 'MONGODB_URI') }}"
    dest: /var/backups/fixzit/20250101T020000Z/main.archive.gz
  register: fixzit_dump

- name: Only the work orders
  appops.runbooks.mongodb_dump:
    uri: "{{ lookup('ansible.builtin.env', 'MONGODB_URI') }}"
    collections: [fixzit.workOrders]
    dest: /var/backups/fixzit/workOrders.archive.gz
"""

RETURN = r"""
row_counts:
  description: Documents per collection (C(database.collection)) in the archive.
  returned: success, not in check mode
  type: dict
  sample: {"micmap.mics": 60, "micmap.venues": 12}
fingerprints:
  description: Content fingerprint per collection (sum of the documents' sha256), independent of document order.
  returned: success, not in check mode
  type: dict
indexes:
  description: Index names per collection, as the archive's metadata holds them.
  returned: success, not in check mode
  type: dict
sha256:
  description: sha256 of the archive file.
  returned: success, not in check mode
  type: str
size:
  description: Size of the archive in bytes.
  returned: success, not in check mode
  type: int
verification:
  description: What reading the archive back checked.
  returned: success, not in check mode
  type: dict
  sample: {"archive_read_back": true, "crc64": "ok", "namespaces": 2, "documents": 72, "archive_format": "0.1"}
server_version:
  description: Version the server reports (C(buildInfo)).
  returned: success, not in check mode
  type: str
tool_versions:
  description: Versions of mongodump and mongorestore.
  returned: success
  type: dict
  sample: {"mongodump": "100.7.0", "mongorestore": "100.7.0"}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._mongo import archive as _archive
from ansible_collections.appops.runbooks.plugins.module_utils._mongo import live as _live
from ansible_collections.appops.runbooks.plugins.module_utils._mongo import procedures
from ansible_collections.appops.runbooks.plugins.module_utils._mongo.tools import TOOLS_ARGUMENT_SPEC, Tools, ToolError, uri_database

ERRORS = (procedures.ProcedureError, _archive.ArchiveError, _live.LiveError, ToolError, OSError)


def existing_archive_facts(dest: str) -> dict:
    """An archive already there: its facts read back from it (nothing is dumped)."""
    return procedures.archive_facts(dest, _archive.read_archive(dest))


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **TOOLS_ARGUMENT_SPEC,
            database=dict(type="str"),
            collections=dict(type="list", elements="str", default=[]),
            dest=dict(type="path", required=True),
            force=dict(type="bool", default=False),
            counts_from=dict(type="str", choices=["archive", "live"], default="archive"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    database = params["database"] or uri_database(params["uri"])
    dest = params["dest"]
    tools = Tools(params["bin_dir"], params["timeout"])
    try:
        versions = tools.versions()
        if not database:
            raise procedures.ProcedureError("no database: give database or a connection string with one in its path")
        if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
            raise procedures.ProcedureError(f"directory {os.path.dirname(os.path.abspath(dest))} of the archive does not exist")
        changed = params["force"] or not os.path.exists(dest)
        if module.check_mode:
            module.exit_json(changed=changed, tool_versions=versions)
        wanted = procedures.namespaces_of(params["collections"], database)
        if changed:
            facts = procedures.dump(tools, params["uri"], database, dest, wanted, params["counts_from"] == "live")
        else:
            facts = existing_archive_facts(dest)
    except ERRORS as error:
        module.fail_json(msg=f"mongodump of {database or '?'} failed: {error}")
    module.exit_json(changed=changed, tool_versions=versions, **facts)


if __name__ == "__main__":
    main()
