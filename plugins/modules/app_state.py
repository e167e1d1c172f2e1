#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: app_state
short_description: Read, store or remove one JSON document of an app's shared state
version_added: 0.1.0
description:
  - Keeps what the runs of an app must agree on (deploy history, restore markers, the safety-backup
    list, the index of downloaded platform backups) as one JSON document per O(app) and O(key) in the
    state backend (O(backend)).
  - Reads, compares and writes only on a difference.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - appops.runbooks.state_backend
  - ansible.builtin.action_common_attributes
options:
  app:
    description: App the document belongs to.
    type: str
    required: true
  key:
    description: Name of the document (letters, digits, C(_), C(.), C(-); up to 128 characters).
    type: str
    required: true
  state:
    description:
      - V(query) only reads the document, V(present) stores O(value), V(absent) removes the document.
    type: str
    choices: [query, present, absent]
    default: query
  value:
    description: The document to store with O(state=present); any JSON value.
    type: raw
notes:
  - With O(backend=postgres) run the module on the controller (delegated to C(localhost)); with
    O(backend=local) on the host that keeps O(state_dir).
"""

EXAMPLES = r"""
- name: Append this deploy to the app's history
  appops.runbooks.app_state:
    backend: postgres
    app: micmap-api
    key: deploy_history
    value: "{{ (history.value | default([], true)) + [{'release': 'v42'}] }}"
    state: present
  delegate_to: localhost

- name: Read the restore marker
  appops.runbooks.app_state:
    backend: local
    state_dir: /srv/coffee-tracker/.appops
    app: coffee-tracker
    key: restore_marker
  register: marker
"""

RETURN = r"""
value:
  description: The document after the run (null when there is none).
  returned: always
  type: raw
  sample: {"backup": "b003"}
existed:
  description: Whether a document was stored before the run.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._state import exit_with_backend
from ansible_collections.appops.runbooks.plugins.module_utils._state._documents import (DOCUMENT_ARGUMENT_SPEC,
                                                                                        DOCUMENT_REQUIRED_IF,
                                                                                        document_subject, ensure)


def main() -> None:
    module = AnsibleModule(argument_spec=DOCUMENT_ARGUMENT_SPEC, required_if=DOCUMENT_REQUIRED_IF,
                           supports_check_mode=True)
    exit_with_backend(module, document_subject(module.params),
                      lambda backend: ensure(module.params, module.check_mode, backend))


if __name__ == "__main__":
    main()
