#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sqlite_restore
short_description: Replace a SQLite database atomically with a verified backup
version_added: 0.1.0
description:
  - Checks the backup with C(PRAGMA integrity_check) (and O(sha256) when given) before touching
    anything, then compares its content (schema and rows) with the live database; when they are the
    same nothing is done.
  - Otherwise writes a verified copy next to O(dest) with the online backup API and renames it over
    O(dest) with C(os.replace), so readers see the old or the new database, never a partial one.
  - A backup that is corrupt or unreadable, a live database that stays locked or a missing directory
    fails the task with a message naming the file and SQLite's own error; nothing is replaced.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - appops.runbooks.journal_step
options:
  src:
    description: The backup file.
    type: path
    required: true
  dest:
    description: The live database file.
    type: path
    required: true
  sha256:
    description: Expected sha256 of O(src); a mismatch refuses the restore.
    type: str
  busy_timeout:
    description: Seconds to wait for a lock another connection (the app) holds on O(dest) before failing.
    type: float
    default: 30
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Restore the SQLite store
  appops.runbooks.sqlite_restore:
    src: /srv/coffee-tracker/backups/20250101T020000Z/secondary.db
    dest: /srv/coffee-tracker/data/coffee.db
"""

RETURN = r"""
row_counts:
  description: Rows per table in the database after the run.
  returned: success
  type: dict
before_row_counts:
  description: Rows per table before the run ({} when the database did not exist).
  returned: success
  type: dict
journal_run:
  description:
    - With O(journal_step), the run's journal record after the step was recorded, right before the
      file was replaced; null when nothing was replaced or in check mode.
  returned: success
  type: dict
fingerprint:
  description: Content fingerprint (sha256 of the SQL dump) of the backup.
  returned: success
  type: str
"""

import os
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils import _backup, _sqlite
from ansible_collections.appops.runbooks.plugins.module_utils._state._journal import (JOURNAL_STEP_OPTION,
                                                                                      JournalStepFailed, record_step)


def describe_live(dest: str, timeout: float) -> dict[str, t.Any]:
    if not os.path.exists(dest):
        return {"row_counts": {}, "fingerprint": None}
    try:
        return _sqlite.describe(dest, timeout)
    except _sqlite.DatabaseLocked:
        raise  # the app holds it: replacing it now would lose its writes
    except _sqlite.SqliteError:
        # A damaged live database is exactly what a restore is for: treat it as different.
        return {"row_counts": {}, "fingerprint": "unreadable"}


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            sha256=dict(type="str"),
            busy_timeout=dict(type="float", default=_sqlite.DEFAULT_BUSY_TIMEOUT),
            journal_step=JOURNAL_STEP_OPTION,
        ),
        supports_check_mode=True,
    )
    src, dest, expected_sha = module.params["src"], module.params["dest"], module.params["sha256"]
    timeout = module.params["busy_timeout"]
    if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        module.fail_json(msg=f"directory {os.path.dirname(os.path.abspath(dest))} of the database {dest} does not exist")
    try:
        if expected_sha and _backup.sha256_file(src) != expected_sha:
            module.fail_json(msg=f"backup {src} does not match its sha256 {expected_sha}; refusing to restore it")
        problems = _sqlite.integrity_problems(src, timeout)
        if problems:
            module.fail_json(msg=f"backup {src} failed integrity_check: {'; '.join(problems[:5])}; refusing to restore it")
        wanted = _sqlite.describe(src, timeout)
        before = describe_live(dest, timeout)
        changed = before["fingerprint"] != wanted["fingerprint"]
        journal_run = None
        if changed and not module.check_mode:
            journal_run = record_step(module.params["journal_step"], "before", module.check_mode)
            _sqlite.replace_atomically(src, dest, timeout)
        after_counts = wanted["row_counts"] if changed or module.check_mode else before["row_counts"]
        if changed and not module.check_mode:
            after_counts = _sqlite.row_counts(dest, timeout)
    except JournalStepFailed as error:
        module.fail_json(msg=f"{dest} was not replaced: {error}")
    except (_sqlite.SqliteError, OSError) as error:
        module.fail_json(msg=f"restore of {dest} from {src} failed: {error}")
    module.exit_json(
        changed=changed,
        row_counts=after_counts,
        before_row_counts=before["row_counts"],
        fingerprint=wanted["fingerprint"],
        journal_run=journal_run,
        diff={"before": {"row_counts": before["row_counts"]}, "after": {"row_counts": wanted["row_counts"]}},
    )


if __name__ == "__main__":
    main()
