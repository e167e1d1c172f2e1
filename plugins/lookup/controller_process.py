# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: controller_process
short_description: The long-lived controller process of this run (ansible-playbook), for lock holders
version_added: 0.1.0
description:
  - Returns the host name, kernel boot id, pid and start time (clock ticks after boot) of the
    C(ansible-playbook) process running this play. M(appops.runbooks.app_lock) stores it in the lock,
    so that the next run on the same host can tell that the holder is gone (the process ended, or its
    pid now belongs to another process) and take the lock over without being told to.
  - Lookups run in a worker process forked from C(ansible-playbook); the worker's parent is the
    process returned. Evaluated in the main process itself, it returns that process.
author:
  - appops maintainers (@appops)
options: {}
"""

EXAMPLES = r"""
- name: Take the lock, naming this run's controller process
  appops.runbooks.app_lock:
    path: /srv/coffee-tracker/.appops/lock.json
    app: coffee-tracker
    procedure: restore
    controller: "{{ lookup('appops.runbooks.controller_process') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary with C(host), C(boot_id), C(pid) and C(start) (null when unknown).
  type: list
  elements: dict
"""

import multiprocessing
import os

from ansible.plugins.lookup import LookupBase

from ansible_collections.appops.runbooks.plugins.module_utils import _lock


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        parent = multiprocessing.parent_process()
        pid = parent.pid if parent is not None and parent.pid else os.getpid()
        return [_lock.process_identity(int(pid))]
