#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: maintenance_file
short_description: Switch an app's maintenance mode kept as a flag file
version_added: 0.1.0
description:
  - Apps that check a file on each request (the maintenance page of many self-hosted apps, and the
    lab's coffee-tracker) are in maintenance while the file exists. The file holds JSON with the
    message shown to users, since when and by which procedure.
  - Reads the file first and returns whether maintenance was on before (RV(before)), so a procedure
    can put it back as it was. Switching on keeps an existing file and its message; switching off
    removes it. Setting the current state changes nothing.
  - With O(journal_step), records a step of the procedure's run journal in the same run, before the
    switch (O(journal_step.at=before), with the state found as its C(maintenance_before) unless given,
    so that a run killed after the switch is known to have changed it) or after it.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - appops.runbooks.journal_step
options:
  path:
    description: The flag file.
    type: path
    required: true
  enabled:
    description: Whether maintenance is on.
    type: bool
    required: true
  notice:
    description: Message shown while maintenance is on (written only when the file is created).
    type: str
    default: Down for maintenance, back soon.
  by:
    description: What switched maintenance on, recorded in the file.
    type: str
    default: maintenance
  mode:
    description: Permissions of a new file.
    type: raw
    default: '0644'
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Maintenance on for the restore
  appops.runbooks.maintenance_file:
    path: /srv/coffee-tracker/state/maintenance.json
    enabled: true
    by: restore
  register: maintenance

- name: Put maintenance back as it was
  appops.runbooks.maintenance_file:
    path: /srv/coffee-tracker/state/maintenance.json
    enabled: "{{ maintenance.before }}"

- name: Maintenance on, and the run journal told how it was before, in one module run
  appops.runbooks.maintenance_file:
    path: /srv/coffee-tracker/state/maintenance.json
    enabled: true
    by: restore
    journal_step:
      state_dir: /srv/coffee-tracker/.appops
      app: coffee-tracker
      token: "{{ lock.token }}"
      step: maintenance_on
      at: before
"""

RETURN = r"""
before:
  description: Whether maintenance was on before this run.
  returned: success
  type: bool
enabled:
  description: Whether maintenance is on after this run.
  returned: success
  type: bool
journal_run:
  description: The run's journal record after O(journal_step) was recorded; null when none was asked (or in check mode).
  returned: success
  type: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils import _backup
from ansible_collections.appops.runbooks.plugins.module_utils._state._journal import (JOURNAL_STEP_OPTION,
                                                                                      JournalStepFailed, record_step)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            enabled=dict(type="bool", required=True),
            notice=dict(type="str", default="Down for maintenance, back soon."),
            by=dict(type="str", default="maintenance"),
            mode=dict(type="raw", default="0644"),
            journal_step=JOURNAL_STEP_OPTION,
        ),
        supports_check_mode=True,
    )
    path, wanted = module.params["path"], module.params["enabled"]
    before = os.path.lexists(path)
    changed = before != wanted
    journal_step = module.params["journal_step"]
    try:
        journal_run = record_step(journal_step, "before", module.check_mode, maintenance_before=before)
    except JournalStepFailed as error:
        module.fail_json(msg=f"maintenance left {'on' if before else 'off'} at {path}: {error}", before=before)
    if changed and not module.check_mode:
        try:
            if wanted:
                content = {"enabled": True, "message": module.params["notice"],
                           "since": _backup.format_time(_backup.utc_now()), "by": module.params["by"]}
                temporary = f"{path}.tmp-{os.getpid()}"
                with open(temporary, "w", encoding="utf-8") as handle:
                    handle.write(json.dumps(content, indent=2) + "\n")
                module.set_mode_if_different(temporary, module.params["mode"], False)
                # The app stats the file per request: it appears whole or not at all.
                os.replace(temporary, path)
            else:
                os.remove(path)
        except OSError as error:
            module.fail_json(msg=f"switching maintenance {'on' if wanted else 'off'} at {path} failed: {error}",
                             before=before)
    try:
        journal_run = record_step(journal_step, "after", module.check_mode) or journal_run
    except JournalStepFailed as error:
        module.fail_json(msg=f"maintenance switched {'on' if wanted else 'off'} at {path}, but {error}", before=before)
    result = dict(changed=changed, before=before, enabled=wanted, journal_run=journal_run)
    if module._diff:
        result["diff"] = {"before": {"maintenance": before}, "after": {"maintenance": wanted}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
