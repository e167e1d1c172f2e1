#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: compose_postgres_db
short_description: Dump or restore a PostgreSQL database that runs in a Docker Compose service
version_added: 0.1.0
description:
  - Runs the PostgreSQL client tools inside the database's Compose service with C(docker exec); the
    service's container is found once, by the labels Compose puts on it. O(path) is a path inside that
    container (a mounted backup directory).
  - O(state=dumped) writes a C(pg_dump --format=custom) archive, proves it complete with
    C(pg_restore --list) and returns the server and tool versions and the per-table row counts, read
    back from the archive itself or, when nothing writes (O(row_counts_from=live)), counted in the live
    tables. It always reports a change.
  - O(state=restored) makes the database hold a backup. The marker file written after the last restore
    (backup id, archive sha256, per-table oid and row count, transaction id, hash of the schema's other
    definitions) is compared with the database now, cheapest evidence first (the marker, then the
    catalog's table oids and schema hash, then a count of every table); when nothing changed since
    that restore of the same archive nothing is done. Otherwise
    C(pg_restore --clean --if-exists --jobs) runs, the row counts are checked against
    O(expected_row_counts) and the marker is written. In check mode the comparison is the plan.
  - The engine is the one of M(appops.runbooks.postgres_db), which runs the tools of the controller
    against a database URL instead.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
  - appops.runbooks.lock_heartbeat
  - appops.runbooks.postgres_engine
  - appops.runbooks.journal_step
  - appops.runbooks.state_backend
options:
  project_dir:
    description: Directory of the Compose project (where its compose file is).
    type: path
    required: true
  service:
    description: The database's service.
    type: str
    default: postgres
  database:
    description: Database name.
    type: str
    required: true
  user:
    description: Database user the tools connect as (inside the container, over its local socket or port).
    type: str
    default: postgres
  port:
    description: Port of the server inside the service.
    type: int
    default: 5432
attributes:
  check_mode:
    support: full
    details: With O(state=restored) the comparison with the marker runs and tells whether a restore is needed.
  diff_mode:
    support: full
  platform:
    platforms: posix
  action_group:
    support: full
    membership: [appops.runbooks.compose]
requirements:
  - The docker CLI on the host that runs the Compose project.
seealso:
  - module: appops.runbooks.backup_catalog
  - module: appops.runbooks.postgres_db
  - module: appops.runbooks.postgres_db_info
"""

EXAMPLES = r"""
- name: Dump the database into a new backup
  appops.runbooks.compose_postgres_db:
    project_dir: /srv/coffee-tracker
    database: coffee_db
    user: coffee
    state: dumped
    path: /backups/20250101T020000Z/main.dump

- name: Make the database hold that backup (nothing done when it already does)
  appops.runbooks.compose_postgres_db:
    project_dir: /srv/coffee-tracker
    database: coffee_db
    user: coffee
    state: restored
    path: /backups/20250101T020000Z/main.dump
    backup_id: 20250101T020000Z
    sha256: "{{ manifest_store.files[0].sha256 }}"
    marker: /srv/coffee-tracker/.appops/restore-main.json
    expected_row_counts: "{{ manifest_store.row_counts }}"
"""

RETURN = r"""
row_counts:
  description:
    - Rows per table, of the dump (V(dumped)) or of the database after the run (V(restored)).
    - When nothing was restored, the rows the comparison counted; empty when the restore marker or the
      catalog alone showed that a restore is needed (nothing was counted).
  returned: success
  type: dict
  sample: {"public.coffee_logs": 1000}
server_version:
  description: Server version (V(dumped)).
  returned: state is dumped
  type: str
tool_versions:
  description: C(pg_dump --version) and C(pg_restore --version) of the service's image (V(dumped)).
  returned: state is dumped
  type: dict
verification:
  description: How the dump was verified.
  returned: state is dumped
  type: dict
plan:
  description: Whether the database needed the restore, and why.
  returned: state is restored
  type: dict
  sample: {"needs_restore": true, "reason": "table public.coffee_logs was dropped or recreated since the restore"}
journal_run:
  description:
    - With O(journal_step), the run's journal record after the step was recorded, right before the
      restore replaced anything; null when nothing was restored or in check mode.
  returned: state=restored and a restore was done
  type: dict
restore_method:
  description:
    - How the restore ran. C(method) is V(pg_restore) or V(pg_restore with parallel COPY);
      C(parallel_copy_tables) lists the tables loaded through C(jobs) sessions at once; C(note) says why
      no table was, when none was.
  returned: state is restored and a restore ran
  type: dict
  sample: {"method": "pg_restore with parallel COPY", "jobs": 2, "parallel_copy_tables": ["public.coffee_logs"], "note": ""}
marker:
  description: The marker written after the restore.
  returned: state is restored and a restore ran
  type: dict
application_name:
  description: C(application_name) of the database sessions of the run.
  returned: always
  type: str
  sample: appops-restore-3f6c2a9e0d4b4c1e9a7d5b2f8e6c4a10
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._postgres import procedures
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.engine import Postgres
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.runners import ComposeService, DockerExecRunner


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            service=dict(type="str", default="postgres"),
            database=dict(type="str", required=True),
            user=dict(type="str", default="postgres"),
            port=dict(type="int", default=5432),
            **procedures.ARGUMENT_SPEC,
        ),
        required_if=procedures.REQUIRED_IF,
        supports_check_mode=True,
    )
    params = module.params
    service = ComposeService(module.run_command, params["project_dir"], params["service"],
                             docker=module.get_bin_path("docker", required=True))
    runner = DockerExecRunner(service, params["database"], params["user"], params["port"],
                              procedures.session_name(params, module.check_mode))
    procedures.run_procedure(module, Postgres(runner))


if __name__ == "__main__":
    main()
