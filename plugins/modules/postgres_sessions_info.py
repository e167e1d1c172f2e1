#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: postgres_sessions_info
short_description: Find, and wait for the end of, the database sessions of one run
version_added: 0.1.0
description:
  - Lists the sessions of C(pg_stat_activity) whose C(application_name) is C(appops-<procedure>-<run token>)
    for O(run_token), that is the sessions the PostgreSQL engine opened for that run (a dump, a restore, a plan).
  - With O(wait), keeps looking until they have ended or O(wait) seconds have passed, and returns those
    still there. A restore that takes over the lock of a killed run uses it before it restores the same
    database, since a C(pg_restore) started through C(docker exec) keeps running after its client was killed.
  - The database is reached as the engine reaches it, either in a Compose service with C(docker exec)
    (O(project_dir)) or from this machine with a database URL (O(url)).
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  run_token:
    description: The run (its lock token) whose sessions to find.
    type: str
    required: true
  wait:
    description: Seconds to wait for the sessions to end; V(0) only looks once.
    type: int
    default: 0
  project_dir:
    description: Directory of the Compose project whose database service to ask.
    type: path
  service:
    description: The database's Compose service.
    type: str
    default: postgres
  database:
    description: Database to connect to in the Compose service (any database of the server sees every session).
    type: str
    default: postgres
  user:
    description: User in the Compose service.
    type: str
    default: postgres
  port:
    description: Port of the server inside the service.
    type: int
    default: 5432
  url:
    description: Database URL, to ask the server from this machine with its client tools.
    type: str
  bin_dir:
    description: Directory of the client tools for O(url) (else the PATH).
    type: path
attributes:
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The sessions of the asking run itself carry C(appops-sessions-<run_token>) and are left out.
seealso:
  - module: appops.runbooks.compose_postgres_db
  - module: appops.runbooks.postgres_db
"""

EXAMPLES = r"""
- name: Wait up to 25 s for the killed run's restore to end in the database
  appops.runbooks.postgres_sessions_info:
    project_dir: /srv/coffee-tracker
    run_token: "{{ killed_run_token }}"
    wait: 25
  register: sessions
  until: sessions.sessions | length == 0
  retries: 12
  delay: 0
"""

RETURN = r"""
sessions:
  description: The run's sessions still in the server.
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "application_name": "appops-restore-0f3c", "state": "active",
            "started_at": "2025-01-01T12:00:00Z", "query": "COPY public.coffee_logs ..."}]
waited_seconds:
  description: How long the module waited.
  returned: always
  type: float
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._postgres.engine import Postgres
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.runners import (
    ComposeService, DockerExecRunner, LocalRunner, Runner, application_name)
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.sessions import wait_for_sessions_to_end


def runner_of(module: AnsibleModule, name: str) -> Runner:
    params = module.params
    if params["url"]:
        runner: Runner = LocalRunner.from_url(module.run_command, params["url"], name, params["bin_dir"])
        for secret in runner.secrets():
            module.no_log_values.add(secret)
        return runner
    service = ComposeService(module.run_command, params["project_dir"], params["service"],
                             docker=module.get_bin_path("docker", required=True))
    return DockerExecRunner(service, params["database"], params["user"], params["port"], name)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            run_token=dict(type="str", required=True, no_log=False),
            wait=dict(type="int", default=0),
            project_dir=dict(type="path"),
            service=dict(type="str", default="postgres"),
            database=dict(type="str", default="postgres"),
            user=dict(type="str", default="postgres"),
            port=dict(type="int", default=5432),
            url=dict(type="str", no_log=True),
            bin_dir=dict(type="path"),
        ),
        required_one_of=[("project_dir", "url")],
        mutually_exclusive=[("project_dir", "url")],
        supports_check_mode=True,
    )
    token = module.params["run_token"]
    runner = runner_of(module, application_name("sessions", token))
    try:
        found, waited = wait_for_sessions_to_end(Postgres(runner), token, max(0, module.params["wait"]))
    except PostgresError as error:
        module.fail_json(msg=f"{runner.describe()}: {error}")
    result: dict[str, t.Any] = {"changed": False, "sessions": found, "waited_seconds": waited}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
