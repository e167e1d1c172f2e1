#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sqlite_backup
short_description: Back up a live SQLite database with the online backup API and verify the copy
version_added: 0.1.0
description:
  - Copies O(src) to O(dest) with Python's C(sqlite3.Connection.backup) (a consistent snapshot
    even while the app writes, unlike a file copy), then runs C(PRAGMA integrity_check) on the copy
    and counts the rows of every table.
  - An existing O(dest) is left alone (reported unchanged) unless O(force=true).
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  src:
    description: The live database file.
    type: path
    required: true
  dest:
    description: The backup file to write; its directory must exist.
    type: path
    required: true
  force:
    description: Overwrite an existing O(dest).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Back up the SQLite store
  appops.runbooks.sqlite_backup:
    src: /srv/coffee-tracker/data/coffee.db
    dest: /srv/coffee-tracker/backups/20250101T020000Z/secondary.db
"""

RETURN = r"""
row_counts:
  description: Rows per table in the copy.
  returned: success
  type: dict
  sample: {"users": 3}
integrity:
  description: Result of C(PRAGMA integrity_check) on the copy.
  returned: success
  type: str
  sample: ok
size:
  description: Size of the copy in bytes.
  returned: success
  type: int
sha256:
  description: sha256 of the copy.
  returned: success
  type: str
sqlite_version:
  description: SQLite library version used.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils import _backup, _sqlite


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    src, dest = module.params["src"], module.params["dest"]
    version = _sqlite.sqlite_version()
    if not os.path.isfile(src):
        module.fail_json(msg=f"SQLite database {src} does not exist", sqlite_version=version)
    changed = module.params["force"] or not os.path.exists(dest)
    if module.check_mode:
        module.exit_json(changed=changed, sqlite_version=version)
    try:
        if changed:
            temporary = f"{dest}.partial"
            _sqlite.online_copy(src, temporary)
            os.replace(temporary, dest)
        problems = _sqlite.integrity_problems(dest)
        if problems:
            module.fail_json(msg=f"backup copy {dest} failed integrity_check: {'; '.join(problems[:5])}",
                             sqlite_version=version)
        counts = _sqlite.row_counts(dest)
    except (_sqlite.SqliteError, OSError) as error:
        module.fail_json(msg=f"SQLite backup of {src} failed: {error}", sqlite_version=version)
    module.exit_json(
        changed=changed,
        row_counts=counts,
        integrity="ok",
        size=os.path.getsize(dest),
        sha256=_backup.sha256_file(dest),
        sqlite_version=version,
    )


if __name__ == "__main__":
    main()
