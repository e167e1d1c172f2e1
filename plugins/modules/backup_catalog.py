#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_catalog
short_description: Open, finish, prune or delete file backups of an app on its host
version_added: 0.1.0
description:
  - Manages the backup catalog under O(root) on the app host, one directory per backup id holding
    the files of every data store of the app plus C(manifest.json).
  - V(open) allocates a new UTC timestamp backup id and its directory (marked incomplete).
  - V(present) writes the manifest (every file's size and sha256, per-store row counts, versions,
    the deployed ref) and marks the backup complete.
  - "Backups are private: V(open) creates O(root) and the backup directory with mode C(0700) (an
    existing O(root) is set to C(0700)); V(present) sets every file the manifest describes to
    C(0600), every backup directory and O(root) to C(0700), and writes C(manifest.json) C(0600)."
  - The backup directory belongs to O(owner) and O(group), by default to the owner of O(root). A
    store written by another user than the one running the module (a database container running
    as its own uid, writing into O(root) mounted in the container) needs that user as owner.
  - In check mode V(open) creates nothing, and V(present) of a backup whose directory does not
    exist (opened in check mode) returns the manifest it would start from (names and kinds of the
    stores, no files) and what retention would delete once that backup exists.
  - V(pruned) applies retention. Full backups (every kind but V(safety)) and safety backups are
    counted apart, full ones by O(keep_last) and O(max_age_days), safety ones by
    O(safety_keep_last) and O(safety_max_age_days). In each group the newest C(keep_last) are
    kept whatever their age, and only older ones are deleted once older than C(max_age_days).
    The newest full backup and O(protect) ids are never deleted. It also deletes backups still
    marked incomplete after O(abandoned_after_hours), left by runs killed half way.
  - V(absent) deletes one backup (used to clean up a backup that failed half way).
  - With O(state=present) and O(journal_step), the step is recorded once the backup is complete
    (O(journal_step.at) is V(after)); a backup whose step cannot be recorded fails the task.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - appops.runbooks.journal_step
options:
  root:
    description: Directory holding the backups of one app.
    type: path
    required: true
  state:
    description: What to do, see the description.
    type: str
    choices: [open, present, pruned, absent]
    default: present
  app:
    description: App name recorded in the manifest.
    type: str
  backup_id:
    description: Backup id for O(state=present) and O(state=absent).
    type: str
  kind:
    description: Why the backup was taken; V(safety) backups are skipped when resolving "latest".
    type: str
    choices: [manual, scheduled, safety]
    default: manual
  stores:
    description:
      - Per-store results for the manifest; each has C(name), C(kind), C(files) (names relative to
        the backup directory) and any of C(row_counts), C(server_version), C(tool_versions), C(verification).
    type: list
    elements: dict
    default: []
  stores_left_out:
    description:
      - Names of the app's stores this backup holds no copy of, recorded in the manifest. A restore's
        safety backup holds only the stores that restore replaces; restoring from it leaves the others
        as they are, rather than failing for want of a copy.
    type: list
    elements: str
    default: []
  deploy_history:
    description:
      - The app's deploy history (the C(deploy_history) document of its state backend, read with
        M(appops.runbooks.app_state)); its C(current) entry is recorded as the deployed ref.
      - Takes precedence over O(deployments_file).
    type: dict
  deployments_file:
    description:
      - Deploy history file whose C(current) entry is recorded as the deployed ref (the file the local
        state backend keeps it in, C(<state_dir>/deployments.json)).
    type: path
  tool_versions:
    description: Extra tool versions to record at the top of the manifest.
    type: dict
    default: {}
  keep_last:
    description:
      - Retention of full backups, the number of newest ones always kept. With O(max_age_days) it is
        a floor (older full backups go only once older than O(max_age_days)); alone it is also the
        most kept. Unset keeps any number.
      - With O(state=present) retention runs once the manifest is written, keeping the new backup.
    type: int
  max_age_days:
    description: Retention of full backups, delete those beyond the newest O(keep_last) older than this many days.
    type: float
  safety_keep_last:
    description:
      - Retention of safety backups (taken by restores), the number of newest ones always kept, as
        O(keep_last) is for full backups. Unset (and O(safety_max_age_days) unset) keeps them all.
    type: int
  safety_max_age_days:
    description: Retention of safety backups, delete those beyond the newest O(safety_keep_last) older than this many days.
    type: float
  owner:
    description:
      - With O(state=open), the user (name, or a numeric uid that need not exist on the host) who owns
        O(root) and the new backup directory, for a store whose files another user writes. Default the
        owner of O(root).
      - Giving it needs the privilege to change owners (root, or C(become)).
    type: str
  group:
    description: With O(state=open), the group (name or numeric gid) of O(root) and the backup directory. Default the group of O(root).
    type: str
  protect:
    description: Backup ids never deleted by retention (the one just made).
    type: list
    elements: str
    default: []
  abandoned_after_hours:
    description:
      - Retention deletes a backup still marked incomplete this many hours after it was opened
        (a run killed half way). V(0) keeps them.
    type: float
    default: 24
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Open a backup
  appops.runbooks.backup_catalog:
    root: /srv/coffee-tracker/backups
    state: open
  register: opened

- name: Finish it
  appops.runbooks.backup_catalog:
    root: /srv/coffee-tracker/backups
    app: coffee-tracker
    backup_id: "{{ opened.backup_id }}"
    stores:
      - name: secondary
        kind: sqlite
        files: [secondary.db]
        row_counts: {users: 3}

- name: Keep the newest 7 full backups, and any younger than 30 days; 3 safety backups or 14 days
  appops.runbooks.backup_catalog:
    root: /srv/coffee-tracker/backups
    state: pruned
    keep_last: 7
    max_age_days: 30
    safety_keep_last: 3
    safety_max_age_days: 14
    protect: ["{{ opened.backup_id }}"]

- name: Open a backup whose dump a database container running as uid 999 writes
  appops.runbooks.backup_catalog:
    root: /srv/coffee-tracker/backups
    state: open
    owner: "999"
    group: "999"
"""

RETURN = r"""
backup_id:
  description: Id of the opened, finished or deleted backup.
  returned: state is open, present or absent
  type: str
  sample: 20250101T020000Z
path:
  description: Directory of the backup.
  returned: state is open, present or absent
  type: str
manifest:
  description: The manifest written.
  returned: state=present
  type: dict
deleted:
  description: Backup ids removed by retention.
  returned: state=pruned, or state=present with a retention option
  type: list
  elements: str
abandoned:
  description: Ids of backups left incomplete that retention removed.
  returned: state=pruned, or state=present with a retention option
  type: list
  elements: str
journal_run:
  description: With O(journal_step), the run's journal record after the step; null without it or in check mode.
  returned: state=present
  type: dict
kept:
  description: Backup ids kept by retention.
  returned: state=pruned
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._backup_catalog import CATALOG_ARGUMENT_SPEC, run_catalog
from ansible_collections.appops.runbooks.plugins.module_utils._results import exit_with_result


def main() -> None:
    module = AnsibleModule(argument_spec=CATALOG_ARGUMENT_SPEC, supports_check_mode=True)
    exit_with_result(module, run_catalog(module.params, module.check_mode, module.warn))


if __name__ == "__main__":
    main()
