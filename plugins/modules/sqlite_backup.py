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
  - The copy is written with mode C(0600), as it holds the app's data.
  - A database that is locked, corrupt or unreadable fails the task with a message naming the file
    and SQLite's own error.
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
  busy_timeout:
    description: Seconds to wait for a lock another connection (the app) holds on O(src) before failing.
    type: float
    default: 30
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


def copy_privately(src: str, dest: str, timeout: float) -> None:
    """The online copy goes to a 0600 file next to dest, renamed over it once complete."""
    temporary = f"{dest}.partial"
    _sqlite.create_private_file(temporary)
    try:
        _sqlite.online_copy(src, temporary, timeout=timeout)
        os.replace(temporary, dest)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            force=dict(type="bool", default=False),
            busy_timeout=dict(type="float", default=_sqlite.DEFAULT_BUSY_TIMEOUT),
        ),
        supports_check_mode=True,
    )
    src, dest, timeout = module.params["src"], module.params["dest"], module.params["busy_timeout"]
    version = _sqlite.sqlite_version()
    if not os.path.isfile(src):
        module.fail_json(msg=f"SQLite database {src} does not exist", sqlite_version=version)
    if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        module.fail_json(msg=f"directory {os.path.dirname(os.path.abspath(dest))} of the backup copy {dest} does not exist",
                         sqlite_version=version)
    changed = module.params["force"] or not os.path.exists(dest)
    if module.check_mode:
        module.exit_json(changed=changed, sqlite_version=version)
    try:
        if changed:
            copy_privately(src, dest, timeout)
        problems = _sqlite.integrity_problems(dest, timeout)
        if problems:
            module.fail_json(msg=f"backup copy {dest} failed integrity_check: {'; '.join(problems[:5])}",
                             sqlite_version=version)
        counts = _sqlite.row_counts(dest, timeout)
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
