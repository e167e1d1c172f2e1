#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: app_lock
short_description: Take or release the per-app lock that serialises destructive procedures
version_added: 0.1.0
description:
  - Creates a lock file atomically (C(O_EXCL)) on the app host holding the holder (user@host), the
    procedure, since when and a token.
  - A second run on the same app fails with a message naming the holder and since when, unless the
    lock is older than O(max_age), in which case the stale lock is reported and taken over.
  - The run that holds the lock may acquire it again with the same O(token) (re-entrant).
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  path:
    description: Lock file path on the app host. Its directory is created when missing.
    type: path
    required: true
  app:
    description: App name, used in messages and stored in the lock.
    type: str
    required: true
  state:
    description: V(present) acquires the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  procedure:
    description: Name of the procedure taking the lock (restore, deploy, rollback ...).
    type: str
    default: unknown
  holder:
    description: Who holds the lock. Defaults to the remote user and host name.
    type: str
  token:
    description:
      - Identifies the run. Acquiring with the token of the current lock succeeds without change;
        releasing only removes a lock carrying this token (unless O(force=true)).
      - When omitted on acquire a new token is generated and returned.
    type: str
  max_age:
    description:
      - Seconds after which a lock counts as stale and is taken over, counted from when it was taken
        or, if later, from when its holder last marked it alive (C(alive_at), written by the
        O(appops.runbooks.compose_postgres_db#module:lock_path) and
        O(appops.runbooks.heroku_pg_backup#module:lock_path) heartbeats during long steps).
    type: int
    default: 7200
  force:
    description: With O(state=absent), remove the lock whoever holds it.
    type: bool
    default: false
notes:
  - Supports check mode; no file is written then.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Take the lock for a restore
  appops.runbooks.app_lock:
    path: /srv/coffee-tracker/.appops/lock.json
    app: coffee-tracker
    procedure: restore
  register: lock

- name: Release it
  appops.runbooks.app_lock:
    path: /srv/coffee-tracker/.appops/lock.json
    app: coffee-tracker
    state: absent
    token: "{{ lock.token }}"
"""

RETURN = r"""
token:
  description: Token of the run holding the lock (to release it later).
  returned: state=present
  type: str
lock:
  description: The lock now in place (acquire) or the one removed (release).
  returned: always
  type: dict
  sample: {"app": "coffee-tracker", "holder": "ops@host", "procedure": "restore", "since": "2025-01-01T00:00:00Z", "token": "0f3c"}
reentrant:
  description: Whether the lock was already held with this token.
  returned: state=present
  type: bool
stale_taken_over:
  description: The stale lock that was replaced, if any.
  returned: state=present
  type: dict
held_by_other:
  description: On release, a lock held by another run that was left in place.
  returned: state=absent
  type: dict
"""

import getpass
import os
import socket
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils import _lock


def default_holder() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def ensure_directory(path: str) -> None:
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, mode=0o755, exist_ok=True)


def run_acquire(module: AnsibleModule) -> dict[str, t.Any]:
    params = module.params
    token = params["token"] or _lock.new_token()
    holder = params["holder"] or default_holder()
    if module.check_mode:
        current = _lock.read_lock(params["path"])
        if current and current.get("token") != token and _lock.lock_age_seconds(current, _lock.utc_now()) <= params["max_age"]:
            module.fail_json(msg=_lock.describe(params["app"], current), lock=current)
        return {"changed": current is None or current.get("token") != token, "token": token, "lock": current or {},
                "reentrant": bool(current and current.get("token") == token), "stale_taken_over": None}
    ensure_directory(params["path"])
    try:
        result = _lock.acquire(params["path"], params["app"], params["procedure"], holder, token, params["max_age"])
    except _lock.LockHeld as held:
        module.fail_json(msg=f"{held}; refusing to run {params['procedure']} while it is held (if that run was "
                             f"killed and is gone, take the lock over with max_age=0; in the playbooks "
                             f"-e common_lock_max_age=0)", lock=held.holder)
    result["token"] = token
    if result["stale_taken_over"]:
        stale = result["stale_taken_over"]
        module.warn(f"Took over a stale lock on {params['app']}: {_lock.describe(params['app'], stale)}")
    return result


def run_release(module: AnsibleModule) -> dict[str, t.Any]:
    params = module.params
    if module.check_mode:
        current = _lock.read_lock(params["path"])
        mine = bool(current) and (params["force"] or current.get("token") == params["token"])
        return {"changed": mine, "lock": current or {}, "held_by_other": None if mine else current}
    result = _lock.release(params["path"], params["token"] or "", params["force"])
    return {"changed": result["changed"], "lock": result["released"] or {}, "held_by_other": result["held_by_other"]}


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            app=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            procedure=dict(type="str", default="unknown"),
            holder=dict(type="str"),
            token=dict(type="str", no_log=False),
            max_age=dict(type="int", default=7200),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    if module.params["state"] == "present":
        module.exit_json(**run_acquire(module))
    module.exit_json(**run_release(module))


if __name__ == "__main__":
    main()
