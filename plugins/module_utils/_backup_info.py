# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolving (and verifying) a file backup of the catalog: the backup_catalog_info module's logic.

Shared by the module and its controller-side action plugin (an app whose tasks run on the
controller reads its catalog there, without a module to start).
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _backup

CATALOG_INFO_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = dict(
    root=dict(type="path", required=True),
    backup_id=dict(type="str", default="latest"),
    include_safety=dict(type="bool", default=False),
    verify=dict(type="bool", default=True),
)


def catalog_info(params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The backup params name, verified when asked; a failed result names what is wrong."""
    backups = [item["backup_id"] for item in _backup.list_backups(params["root"])]
    try:
        item = _backup.resolve(params["root"], params["backup_id"] or "latest", params["include_safety"])
        if params["verify"]:
            _backup.verify_or_raise(item)
    except _backup.BackupCorrupt as error:
        return {"failed": True, "msg": f"{error}; refusing to use it", "problems": error.problems, "backups": backups}
    except _backup.CatalogError as error:
        return {"failed": True, "msg": str(error), "backups": backups}
    return {"changed": False, "backup_id": item["backup_id"], "path": item["path"], "manifest": item["manifest"],
            "age_seconds": _backup.age_seconds(item["created_at"]), "verified": params["verify"],
            "backups": backups}
