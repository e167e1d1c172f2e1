# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Opening, finishing, pruning and deleting file backups: the backup_catalog module's logic.

Shared by the module and its controller-side action plugin (an app whose tasks run on the
controller keeps its catalog there). A refusal raises CatalogError; warnings go to ``warn``.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _backup
from ansible_collections.appops.runbooks.plugins.module_utils._state._journal import (JOURNAL_STEP_OPTION,
                                                                                      JournalStepFailed, record_step)

CATALOG_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = dict(
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
    # With state=present, recorded once the backup is complete (a restore's safety_backup_taken).
    journal_step=JOURNAL_STEP_OPTION,
)

Warn = t.Callable[[str], None]
Params = t.Mapping[str, t.Any]


def run_open(params: Params, check_mode: bool, warn: Warn) -> dict[str, t.Any]:
    root = params["root"]
    if check_mode:
        backup_id = _backup.next_free_backup_id(root)
        return {"changed": True, "backup_id": backup_id, "path": os.path.join(root, backup_id)}
    backup_id, path = _backup.create_backup_dir(root, user=params["owner"], group=params["group"])
    return {"changed": True, "backup_id": backup_id, "path": path, "created_at": _backup.format_time(_backup.utc_now())}


def backup_created_at(path: str) -> str | None:
    """The time the backup was opened, as written into its .incomplete marker."""
    try:
        with open(os.path.join(path, _backup.INCOMPLETE_MARKER), encoding="utf-8") as handle:
            return handle.read().strip() or None
    except FileNotFoundError:
        return None


def run_present(params: Params, check_mode: bool, warn: Warn) -> dict[str, t.Any]:
    backup_id = require(params, "backup_id")
    app = require(params, "app")
    path = os.path.join(params["root"], backup_id)
    existing = _backup.read_manifest(path)
    if existing is not None and not os.path.exists(os.path.join(path, _backup.INCOMPLETE_MARKER)):
        return {"changed": False, "backup_id": backup_id, "path": path, "manifest": existing}
    if not os.path.isdir(path):
        if check_mode:
            return preview_present(params, backup_id, path, warn)
        raise _backup.CatalogError(f"backup directory {path} does not exist; open the backup first")
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
    if not check_mode:
        _backup.finalize(path, manifest)
    result = {"changed": True, "backup_id": backup_id, "path": path, "manifest": manifest}
    apply_retention_after(params, check_mode, warn, result)
    return result


def preview_present(params: Params, backup_id: str, path: str, warn: Warn) -> dict[str, t.Any]:
    """Check mode after a check-mode open: no directory and no files, so only what the backup
    would hold and what its retention would delete once it exists."""
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
    apply_retention_after(params, True, warn, result, pending)
    return result


def apply_retention_after(params: Params, check_mode: bool, warn: Warn, result: dict[str, t.Any],
                          pending: dict[str, t.Any] | None = None) -> None:
    """Retention right after the backup is complete: never before, so a failed backup cannot cost
    an older good one. The new backup is always kept."""
    full, safety = retention_rules(params)
    if not (full.is_on or safety.is_on):
        return
    protected = dict(params, protect=list(params["protect"]) + [result["backup_id"]])
    try:
        pruned = run_pruned(protected, check_mode, warn, pending)
        result["deleted"], result["abandoned"] = pruned["deleted"], pruned["abandoned"]
    except (_backup.CatalogError, OSError) as error:
        # The backup itself is complete and good: a retention problem must not fail (and so
        # remove) it; the next backup retries the retention.
        result["deleted"], result["abandoned"] = [], []
        warn(f"backup {result['backup_id']} is complete, but retention failed: {error}")


def run_pruned(params: Params, check_mode: bool, warn: Warn, pending: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Applies retention; pending is a backup that exists only in check mode, counted as the newest."""
    backups = _backup.list_backups(params["root"]) + ([pending] if pending else [])
    full, safety = retention_rules(params)
    doomed = _backup.plan_retention(backups, full, safety, params["protect"])
    doomed_ids = [item["backup_id"] for item in doomed]
    abandoned = _backup.abandoned_backups(params["root"], params["abandoned_after_hours"]) if params["abandoned_after_hours"] else []
    if not check_mode:
        for item in doomed + abandoned:
            _backup.delete_backup(item)
    kept = [item["backup_id"] for item in backups if item["backup_id"] not in doomed_ids]
    return {"changed": bool(doomed or abandoned), "deleted": doomed_ids, "kept": kept,
            "abandoned": [item["backup_id"] for item in abandoned]}


def retention_rules(params: Params) -> tuple[_backup.RetentionRule, _backup.RetentionRule]:
    """(full backups' rule, safety backups' rule) from the options."""
    return (_backup.RetentionRule(params["keep_last"], params["max_age_days"]),
            _backup.RetentionRule(params["safety_keep_last"], params["safety_max_age_days"]))


def run_absent(params: Params, check_mode: bool, warn: Warn) -> dict[str, t.Any]:
    backup_id = require(params, "backup_id")
    if not _backup.is_valid_backup_id(backup_id):
        raise _backup.CatalogError(f"'{backup_id}' is not a backup id")
    path = os.path.join(params["root"], backup_id)
    if not os.path.isdir(path):
        return {"changed": False, "backup_id": backup_id, "path": path}
    if not check_mode:
        _backup.delete_backup({"path": path})
    return {"changed": True, "backup_id": backup_id, "path": path}


def require(params: Params, name: str) -> str:
    value = params[name]
    if not value:
        raise _backup.CatalogError(f"{name} is required with state={params['state']}")
    return value


HANDLERS: dict[str, t.Callable[[Params, bool, Warn], dict[str, t.Any]]] = {
    "open": run_open, "present": run_present, "pruned": run_pruned, "absent": run_absent}


def run_catalog(params: Params, check_mode: bool, warn: Warn) -> dict[str, t.Any]:
    """The state params ask for; a failed result (msg) when the catalog refuses or cannot be written."""
    try:
        result = HANDLERS[params["state"]](params, check_mode, warn)
        if params["state"] == "present":
            # A safety backup's step names it (the restore that took it records safety_backup_taken).
            known = {"safety_backup": params["backup_id"]} if params["kind"] == "safety" else {}
            result["journal_run"] = record_step(params.get("journal_step"), "after", check_mode, **known)
        return result
    except JournalStepFailed as error:
        return {"failed": True, "changed": False, "msg": f"backup {params['backup_id']} was written, but {error}"}
    except _backup.CatalogError as error:
        return {"failed": True, "changed": False, "msg": str(error)}
    except OSError as error:
        return {"failed": True, "changed": False, "msg": f"backup catalog {params['root']}: {error}"}
