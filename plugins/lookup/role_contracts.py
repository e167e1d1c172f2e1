# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: role_contracts
short_description: Read what the collection's roles declare they are and provide
version_added: 0.2.0
description:
  - Reads C(meta/appops.yml) of every role of this collection (the roles directory next to the
    plugins directory, so it works from a checkout and from an installed collection) and returns
    one dict that derives, from those declarations only, what the procedures support.
  - The declaration format is documented in the common role's README.md.
  - Keys of the returned dict are C(roles) (role name to its declaration), C(platforms),
    C(store_kinds), C(cache_kinds), C(platform_backup_kinds) (stores whose backups the platform
    keeps by default), C(backup_id_patterns) (store kind to the pattern its backup ids follow),
    C(store_methods) (store kind to its backup methods, each C({backups, backup_id_pattern})),
    C(default_methods) (store kind to the method a store without C(method) uses),
    C(entry_points) (role name to its entry point names), C(results) (result fact name to its
    documented shape, from the common role) and C(planned) (platforms and store kinds that are
    planned but not built).
options: {}
"""

EXAMPLES = r"""
- name: Show the supported platforms
  ansible.builtin.debug:
    msg: "{{ (query('appops.runbooks.role_contracts') | first).platforms }}"
"""

RETURN = r"""
_raw:
  description: One dict (see the description).
  type: list
  elements: dict
"""

import pathlib
from typing import Any

from ansible.errors import AnsibleLookupError, AnsibleParserError
from ansible.parsing.utils.yaml import from_yaml
from ansible.plugins.lookup import LookupBase

ROLE_KINDS = ("platform", "store", "cache", "common")
BACKUP_KEEPERS = ("collection", "platform")
# What a platform leaves when a rollback target fails its health gate (common's rollback skeleton).
FAILED_ROLLBACK = ("put_back", "keep_failed")


def collection_roles_dir() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parents[2] / "roles"


def read_declaration(role_dir: pathlib.Path) -> dict[str, Any]:
    path = role_dir / "meta" / "appops.yml"
    try:
        document = from_yaml(path.read_text(encoding="utf-8"), file_name=str(path), json_only=False) or {}
    except (OSError, AnsibleParserError) as error:
        raise AnsibleLookupError(f"cannot read the declaration {path}: {error}") from error
    declaration = document.get("appops_role")
    if not isinstance(declaration, dict) or declaration.get("kind") not in ROLE_KINDS:
        raise AnsibleLookupError(f"{path}: appops_role.kind must be one of {', '.join(ROLE_KINDS)}")
    if declaration["kind"] == "store":
        check_store_methods(path, declaration)
    if declaration["kind"] == "platform" and declaration.get("failed_rollback") not in FAILED_ROLLBACK:
        raise AnsibleLookupError(f"{path}: a platform declares failed_rollback: {' or '.join(FAILED_ROLLBACK)}")
    return declaration


def check_store_methods(path: pathlib.Path, declaration: dict[str, Any]) -> None:
    """A store's default method (its top-level backups and backup_id_pattern) and each other method
    it declares under methods say who keeps the backups and what their ids look like."""
    methods = declaration.get("methods") or {}
    if not isinstance(methods, dict):
        raise AnsibleLookupError(f"{path}: methods maps a method name to its backups and backup_id_pattern")
    for name, method in [("(default)", declaration), *methods.items()]:
        if not isinstance(method, dict) or method.get("backups") not in BACKUP_KEEPERS:
            raise AnsibleLookupError(f"{path}: method {name} of a store declares backups: collection or platform")
        if not method.get("backup_id_pattern"):
            raise AnsibleLookupError(f"{path}: method {name} of a store declares its backup_id_pattern")


def methods_of(declaration: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The store's methods by name, the default one (named by default_method) first."""
    keys = ("backups", "backup_id_pattern")
    default = {key: declaration[key] for key in keys}
    others = {name: {key: method[key] for key in keys} for name, method in (declaration.get("methods") or {}).items()}
    return {declaration.get("default_method", "default"): default, **others}


def read_declarations(roles_dir: pathlib.Path) -> dict[str, dict[str, Any]]:
    return {
        role_dir.name: read_declaration(role_dir)
        for role_dir in sorted(roles_dir.iterdir())
        if (role_dir / "meta" / "appops.yml").is_file()
    }


def names_of(declarations: dict[str, dict[str, Any]], kind: str) -> list[str]:
    return [name for name, declaration in declarations.items() if declaration["kind"] == kind]


def summarize(declarations: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the procedures support, derived from the declarations alone."""
    common = next((d for d in declarations.values() if d["kind"] == "common"), {})
    stores = {name: d for name, d in declarations.items() if d["kind"] == "store"}
    return {
        "roles": declarations,
        "platforms": names_of(declarations, "platform"),
        "store_kinds": list(stores),
        "cache_kinds": names_of(declarations, "cache"),
        "platform_backup_kinds": [name for name, d in stores.items() if d["backups"] == "platform"],
        "backup_id_patterns": {name: d["backup_id_pattern"] for name, d in stores.items()},
        "store_methods": {name: methods_of(d) for name, d in stores.items()},
        "default_methods": {name: d.get("default_method", "default") for name, d in stores.items()},
        "entry_points": {name: sorted(d.get("entry_points") or {}) for name, d in declarations.items()},
        "results": common.get("results") or {},
        "planned": common.get("planned") or {},
    }


class LookupModule(LookupBase):
    # Read once per process: the declarations ship with the collection and do not change in a run.
    _summary: dict[str, Any] | None = None

    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        if LookupModule._summary is None:
            LookupModule._summary = summarize(read_declarations(collection_roles_dir()))
        return [LookupModule._summary]
