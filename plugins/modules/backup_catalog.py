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
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
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
kept:
  description: Backup ids kept by retention.
  returned: state=pruned
  type: list
  elements: str
"""

import os
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils import _backup


def run_open(module: AnsibleModule) -> dict[str, t.Any]:
    root = module.params["root"]
    if module.check_mode:
        backup_id = _backup.next_free_backup_id(root)
        return {"changed": True, "backup_id": backup_id, "path": os.path.join(root, backup_id)}
    backup_id, path = _backup.create_backup_dir(root, user=module.params["owner"], group=module.params["group"])
    return {"changed": True, "backup_id": backup_id, "path": path, "created_at": _backup.format_time(_backup.utc_now())}


def backup_created_at(path: str) -> str | None:
    """The time the backup was opened, as written into its .incomplete marker."""
    try:
        with open(os.path.join(path, _backup.INCOMPLETE_MARKER), encoding="utf-8") as handle:
            return handle.read().strip() or None
    except FileNotFoundError:
        return None


def run_present(module: AnsibleModule) -> dict[str, t.Any]:
    params = module.params
    backup_id = require(module, "backup_id")
    app = require(module, "app")
    path = os.path.join(params["root"], backup_id)
    existing = _backup.read_manifest(path)
    if existing is not None and not os.path.exists(os.path.join(path, _backup.INCOMPLETE_MARKER)):
        return {"changed": False, "backup_id": backup_id, "path": path, "manifest": existing}
    if not os.path.isdir(path):
        if module.check_mode:
            return preview_present(module, backup_id, path)
        module.fail_json(msg=f"backup directory {path} does not exist; open the backup first")
    manifest = _backup.build_manifest(
        app=app,
        backup_id=backup_id,
        directory=path,
        stores=params["stores"],
        kind=params["kind"],
        created_at=backup_created_at(path),
        deployed=(_backup.deployed_from_history(params["deploy_history"]) if params["deploy_history"] is not None
                  else _backup.read_deployed(params["deployments_file"])),
        tool_versions=params["tool_versions"],
        stores_left_out=params["stores_left_out"],
    )
    if not module.check_mode:
        _backup.finalize(path, manifest)
    result = {"changed": True, "backup_id": backup_id, "path": path, "manifest": manifest}
    apply_retention_after(module, result)
    return result


def preview_present(module: AnsibleModule, backup_id: str, path: str) -> dict[str, t.Any]:
    """Check mode after a check-mode open: no directory and no files, so only what the backup
    would hold and what its retention would delete once it exists."""
    params = module.params
    manifest = {
        "app": params["app"],
        "backup_id": backup_id,
        "kind": params["kind"],
        "stores": [{"name": store.get("name"), "kind": store.get("kind"), "files": []} for store in params["stores"]],
        "stores_left_out": params["stores_left_out"],
    }
    result = {"changed": True, "backup_id": backup_id, "path": path, "manifest": manifest}
    pending = {"backup_id": backup_id, "path": path, "created_at": _backup.format_time(_backup.utc_now()),
               "kind": params["kind"]}
    apply_retention_after(module, result, pending)
    return result


def apply_retention_after(module: AnsibleModule, result: dict[str, t.Any], pending: dict[str, t.Any] | None = None) -> None:
    """Retention right after the backup is complete: never before, so a failed backup cannot cost
    an older good one. The new backup is always kept."""
    params = module.params
    full, safety = retention_rules(params)
    if not (full.is_on or safety.is_on):
        return
    params["protect"] = list(params["protect"]) + [result["backup_id"]]
    try:
        pruned = run_pruned(module, pending)
        result["deleted"], result["abandoned"] = pruned["deleted"], pruned["abandoned"]
    except (_backup.CatalogError, OSError) as error:
        # The backup itself is complete and good: a retention problem must not fail (and so
        # remove) it; the next backup retries the retention.
        result["deleted"], result["abandoned"] = [], []
        module.warn(f"backup {result['backup_id']} is complete, but retention failed: {error}")


def run_pruned(module: AnsibleModule, pending: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Applies retention; pending is a backup that exists only in check mode, counted as the newest."""
    params = module.params
    backups = _backup.list_backups(params["root"]) + ([pending] if pending else [])
    full, safety = retention_rules(params)
    doomed = _backup.plan_retention(backups, full, safety, params["protect"])
    doomed_ids = [item["backup_id"] for item in doomed]
    abandoned = _backup.abandoned_backups(params["root"], params["abandoned_after_hours"]) if params["abandoned_after_hours"] else []
    if not module.check_mode:
        for item in doomed + abandoned:
            _backup.delete_backup(item)
    kept = [item["backup_id"] for item in backups if item["backup_id"] not in doomed_ids]
    return {"changed": bool(doomed or abandoned), "deleted": doomed_ids, "kept": kept,
            "abandoned": [item["backup_id"] for item in abandoned]}


def retention_rules(params: t.Mapping[str, t.Any]) -> tuple[_backup.RetentionRule, _backup.RetentionRule]:
    """(full backups' rule, safety backups' rule) from the options."""
    return (_backup.RetentionRule(params["keep_last"], params["max_age_days"]),
            _backup.RetentionRule(params["safety_keep_last"], params["safety_max_age_days"]))


def run_absent(module: AnsibleModule) -> dict[str, t.Any]:
    backup_id = require(module, "backup_id")
    if not _backup.is_valid_backup_id(backup_id):
        module.fail_json(msg=f"'{backup_id}' is not a backup id")
    path = os.path.join(module.params["root"], backup_id)
    if not os.path.isdir(path):
        return {"changed": False, "backup_id": backup_id, "path": path}
    if not module.check_mode:
        _backup.delete_backup({"path": path})
    return {"changed": True, "backup_id": backup_id, "path": path}


def require(module: AnsibleModule, name: str) -> str:
    value = module.params[name]
    if not value:
        module.fail_json(msg=f"{name} is required with state={module.params['state']}")
    return value


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", required=True),
            state=dict(type="str", choices=["open", "present", "pruned", "absent"], default="present"),
            app=dict(type="str"),
            backup_id=dict(type="str"),
            kind=dict(type="str", choices=["manual", "scheduled", "safety"], default="manual"),
            stores=dict(type="list", elements="dict", default=[]),
            stores_left_out=dict(type="list", elements="str", default=[]),
            deploy_history=dict(type="dict"),
            deployments_file=dict(type="path"),
            tool_versions=dict(type="dict", default={}),
            keep_last=dict(type="int"),
            max_age_days=dict(type="float"),
            safety_keep_last=dict(type="int"),
            safety_max_age_days=dict(type="float"),
            owner=dict(type="str"),
            group=dict(type="str"),
            protect=dict(type="list", elements="str", default=[]),
            abandoned_after_hours=dict(type="float", default=24),
        ),
        supports_check_mode=True,
    )
    handlers: dict[str, t.Callable[[AnsibleModule], dict[str, t.Any]]] = {
        "open": run_open, "present": run_present, "pruned": run_pruned, "absent": run_absent}
    try:
        result = handlers[module.params["state"]](module)
    except _backup.CatalogError as error:
        module.fail_json(msg=str(error))
    except OSError as error:
        module.fail_json(msg=f"backup catalog {module.params['root']}: {error}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
