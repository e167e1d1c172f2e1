#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_catalog_info
short_description: Resolve and verify a file backup of an app
version_added: 0.1.0
description:
  - Resolves a backup id (or V(latest), which skips safety backups) in the catalog under O(root).
  - With O(verify=true) checks every file's size and sha256 against the manifest and fails, naming
    the files, when they differ, so a corrupt backup is refused before anything is touched.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  root:
    description: Directory holding the backups of one app.
    type: path
    required: true
  backup_id:
    description: Backup id to resolve, or V(latest).
    type: str
    default: latest
  include_safety:
    description: Let V(latest) resolve to a safety backup too.
    type: bool
    default: false
  verify:
    description: Verify the checksums of the resolved backup.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Resolve the latest backup and verify it
  appops.runbooks.backup_catalog_info:
    root: /srv/coffee-tracker/backups
  register: backup
"""

RETURN = r"""
backup_id:
  description: The resolved backup id.
  returned: success
  type: str
path:
  description: Directory of the backup.
  returned: success
  type: str
manifest:
  description: The backup's manifest.
  returned: success
  type: dict
age_seconds:
  description: Age of the backup now (its RPO if restored now).
  returned: success
  type: float
verified:
  description: Whether the checksums were verified.
  returned: success
  type: bool
backups:
  description: All complete backup ids, oldest first.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._backup_info import (CATALOG_INFO_ARGUMENT_SPEC,
                                                                                   catalog_info)
from ansible_collections.appops.runbooks.plugins.module_utils._results import exit_with_result


def main() -> None:
    module = AnsibleModule(argument_spec=CATALOG_INFO_ARGUMENT_SPEC, supports_check_mode=True)
    exit_with_result(module, catalog_info(module.params))


if __name__ == "__main__":
    main()
