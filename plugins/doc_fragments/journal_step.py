# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of JOURNAL_STEP_OPTIONS in plugins/module_utils/_state/_journal.py: keep them in step.
    DOCUMENTATION = r"""
options:
  journal_step:
    description:
      - A step of the procedure's run journal (M(appops.runbooks.app_run_journal)) for this module to record
        in the same run as its own work, instead of a module run of its own.
      - Each module says when it records it (O(journal_step.at)) and which fields it fills in itself.
        When the step cannot be recorded the module fails; with O(journal_step.at=before) nothing was
        changed then.
      - Nothing is recorded in check mode.
    type: dict
    suboptions:
      backend:
        description: Where the app's state lives (as O(appops.runbooks.app_run_journal#module:backend)).
        type: str
        choices: [local, postgres]
        default: local
      dsn:
        description:
          - The state database, for O(journal_step.backend=postgres); default E(APPOPS_STATE_DSN).
          - Never shown in output or error messages.
        type: str
      state_dir:
        description: The app's state folder, for O(journal_step.backend=local).
        type: path
      app:
        description: The app of the run.
        type: str
        required: true
      token:
        description: The run's token (its lock token).
        type: str
        required: true
      step:
        description: The step to record.
        type: str
        required: true
      at:
        description:
          - V(before) records the step before the module changes anything (a step that announces the
            change, so that a killed run is known to have begun it); V(after) once its work is done.
        type: str
        choices: [before, after]
        default: after
      then:
        description:
          - With O(journal_step.at=before), a second step recorded once the module's work is done (and
            succeeded), in the same run.
        type: str
      maintenance_before:
        description: The maintenance state before the run, to record with the step.
        type: raw
      safety_backup:
        description: The safety backup's id, to record with the step.
        type: str
      details:
        description: More facts of the run, merged into what is recorded.
        type: dict
"""
