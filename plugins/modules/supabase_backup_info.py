#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: supabase_backup_info
short_description: Read a Supabase project's status, its physical backups and its point-in-time recovery window
version_added: 0.3.0
description:
  - Reads C(GET /v1/projects/{ref}) and C(GET /v1/projects/{ref}/database/backups) of the Supabase Management API.
  - Changes nothing; the twin of M(appops.runbooks.supabase_restore).
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - appops.runbooks.supabase
  - appops.runbooks.api_retry
  # Before the builtin attributes: the first fragment to set an attribute wins.
  - appops.runbooks.supabase.INFO_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.supabase_restore
"""

EXAMPLES = r"""
- name: List the backups of mysetlist's project
  appops.runbooks.supabase_backup_info:
    project_ref: abcdefghijklmnopqrst
  register: backups

- name: Show the newest completed backup
  ansible.builtin.debug:
    msg: "{{ backups.backups | selectattr('status', 'equalto', 'COMPLETED') | first }}"
"""

RETURN = r"""
project:
  description: The project as the API describes it.
  returned: success
  type: dict
  contains:
    ref: {description: Project ref., type: str, returned: success}
    name: {description: Project name., type: str, returned: success}
    status: {description: "Project status, e.g. V(ACTIVE_HEALTHY) or V(RESTORING).", type: str, returned: success}
    region: {description: Region., type: str, returned: success}
backups:
  description: Physical backups, newest first.
  returned: success
  type: list
  elements: dict
  sample: [{"id": 12, "status": "COMPLETED", "inserted_at": "2026-12-06T02:00:00Z", "is_physical_backup": true}]
pitr_enabled:
  description: Whether point-in-time recovery is enabled for the project.
  returned: success
  type: bool
walg_enabled:
  description: Whether WAL-G (physical backups) is enabled.
  returned: success
  type: bool
region:
  description: Region of the backups.
  returned: success
  type: str
recovery_window:
  description: Earliest and latest unix time a point-in-time restore may target; null without PITR.
  returned: success
  type: dict
  sample: {"earliest": 1765000000, "latest": 1765600000}
"""

from ansible_collections.appops.runbooks.plugins.module_utils._supabase.client import backup_view, recovery_window
from ansible_collections.appops.runbooks.plugins.module_utils._supabase.module import SupabaseModule


def run(api: SupabaseModule) -> None:
    api.doing("reading the project")
    project = api.client.project(api.ref)
    api.doing("listing the backups")
    answer = api.client.backups(api.ref)
    backups = sorted((backup_view(b) for b in answer.get("backups") or []),
                     key=lambda b: b.get("inserted_at") or "", reverse=True)
    api.exit(False, project={k: project.get(k) for k in ("ref", "name", "status", "region")}, backups=backups,
             pitr_enabled=bool(answer.get("pitr_enabled")), walg_enabled=bool(answer.get("walg_enabled")),
             region=answer.get("region"), recovery_window=recovery_window(answer))


def main() -> None:
    SupabaseModule({"project_ref": {"type": "str", "required": True}}).run(run)


if __name__ == "__main__":
    main()
