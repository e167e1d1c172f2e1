#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mongodb_restore
short_description: Restore a mongodump archive with mongorestore --drop, all of it or chosen collections
version_added: 0.2.0
description:
  - Checks the archive's sha256, reads it back whole (see M(appops.runbooks.mongodb_dump)), then
    compares each collection to restore with the live one, by content (a fingerprint of every
    document), not by count alone.
  - Restores only when a collection differs (or O(force=true)), with the real
    C(mongorestore --archive --gzip --drop --nsInclude=<each collection>), the runbook's
    C(mongorestore --drop), and with O(collections) its C(--nsInclude) of one collection, which
    leaves every other collection as it is.
  - Afterwards the document counts of the restored collections must equal the archive's, and with
    O(drop=true) their content too; else the task fails naming them.
  - Check mode compares and reports what it would restore, and changes nothing.
  - The connection string is given to mongorestore in a private config file without its database
    path (a database there makes mongorestore ignore C(--nsInclude) and restore everything).
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - appops.runbooks.mongodb
  - appops.runbooks.mongodb.tools
options:
  src:
    description: The archive (C(mongodump --archive --gzip)) to restore.
    type: path
    required: true
  sha256:
    description: The archive's expected sha256 (from the backup's manifest); a mismatch fails before anything changes.
    type: str
  collections:
    description:
      - Restore only these collections (C(fixzit.workOrders), or C(workOrders) with O(database));
        every collection of the archive when empty. One the archive does not hold fails the task.
    type: list
    elements: str
    default: []
  database:
    description: Database of bare collection names in O(collections). Defaults to the database in O(uri).
    type: str
  drop:
    description: Drop each collection before restoring it (C(--drop)), so it ends up exactly as in the archive.
    type: bool
    default: true
  force:
    description: Restore even when the live collections already hold the archive's documents.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The document counts per collection before and after.
  platform:
    platforms: posix
seealso:
  - module: appops.runbooks.mongodb_dump
"""

EXAMPLES = r"""
- name: Put the work orders back as they were before the migration, the others stay
  appops.runbooks.mongodb_restore:
    uri: "{{ lookup('ansible.builtin.env', 'MONGODB_URI') }}"
    src: /var/backups/fixzit/20250101T020000Z/main.archive.gz
    collections: [fixzit.workOrders]

- name: Would the whole database change?
  appops.runbooks.mongodb_restore:
    uri: "{{ lookup('ansible.builtin.env', 'MONGODB_URI') }}"
    src: /var/backups/fixzit/20250101T020000Z/main.archive.gz
  check_mode: true
  register: fixzit_compare
"""

RETURN = r"""
plan:
  description: Whether the collections need the restore, and why.
  returned: success
  type: dict
  sample: {"needs_restore": true, "reason": "micmap.mics differ from archive main.archive.gz"}
restored:
  description: The collections restored (in check mode, those that would be).
  returned: success
  type: list
  elements: str
row_counts:
  description: Documents per restored collection after the restore (in check mode or when nothing changed, the live counts).
  returned: success
  type: dict
  sample: {"micmap.mics": 60}
live_row_counts_before:
  description:
    - Documents per collection before the restore (read while comparing; with O(force=true) the
      collections' own count, which needs no scan).
  returned: success
  type: dict
content_matches:
  description: Whether the restored collections hold exactly the archive's documents.
  returned: success
  type: bool
archive_row_counts:
  description: Documents per collection in the archive.
  returned: success
  type: dict
tool_versions:
  description: Versions of mongodump and mongorestore.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._mongo import archive as _archive
from ansible_collections.appops.runbooks.plugins.module_utils._mongo import live as _live
from ansible_collections.appops.runbooks.plugins.module_utils._mongo import procedures
from ansible_collections.appops.runbooks.plugins.module_utils._mongo.tools import TOOLS_ARGUMENT_SPEC, Tools, ToolError, uri_database

ERRORS = (procedures.ProcedureError, _archive.ArchiveError, _live.LiveError, ToolError, OSError)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **TOOLS_ARGUMENT_SPEC,
            src=dict(type="path", required=True),
            sha256=dict(type="str"),
            collections=dict(type="list", elements="str", default=[]),
            database=dict(type="str"),
            drop=dict(type="bool", default=True),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    src = params["src"]
    tools = Tools(params["bin_dir"], params["timeout"])
    try:
        versions = tools.versions()
        summary = procedures.read_verified(src, params["sha256"])
        wanted = procedures.namespaces_of(params["collections"], params["database"] or uri_database(params["uri"]))
        namespaces = procedures.selected_namespaces(summary, wanted)
        # A forced restore (the restore flow has just compared) counts the live documents only.
        verdict = procedures.plan(params["uri"], summary, namespaces, f"archive {src.rsplit('/', 1)[-1]}",
                                  compare_content=not params["force"])
        to_restore = verdict["differing"]
        before = verdict["live_row_counts"]
        result = {"row_counts": before, "content_matches": not params["force"] and not verdict["differing"]}
        if to_restore and not module.check_mode:
            result = procedures.restore(tools, params["uri"], src, summary, to_restore, params["drop"])
            result["row_counts"] = {**before, **result["row_counts"]}
    except ERRORS as error:
        module.fail_json(msg=f"mongorestore of {src} failed: {error}")
    changed = bool(to_restore)
    module.exit_json(
        changed=changed,
        plan={"needs_restore": verdict["needs_restore"], "reason": verdict["reason"]},
        restored=to_restore,
        live_row_counts_before=before,
        archive_row_counts={name: summary.counts[name] for name in namespaces},
        tool_versions=versions,
        diff={"before": {"row_counts": before},
              "after": {"row_counts": {name: summary.counts[name] for name in namespaces} if changed else before}},
        **result,
    )


if __name__ == "__main__":
    main()
