#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: postgres_db
short_description: Dump or restore a PostgreSQL database given by its URL, with this machine's client tools
version_added: 0.2.0
description:
  - Runs C(pg_dump), C(pg_restore) and C(psql) of the machine the module runs on against the database of
    O(url) (a Heroku C(DATABASE_URL), a Supabase connection string). The URL's parts reach the tools as
    libpq environment variables, never on a command line, and are never shown.
  - The same engine as M(appops.runbooks.compose_postgres_db), which runs the tools in a Compose service
    instead; see there for what O(state=dumped) and O(state=restored) do. O(path) and O(marker) are files
    on the machine the module runs on.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - appops.runbooks.lock_heartbeat
  - appops.runbooks.postgres_engine
  - appops.runbooks.journal_step
  - appops.runbooks.state_backend
options:
  url:
    description:
      - C(postgres://user:password@host:port/database), with optional query parameters C(sslmode),
        C(sslrootcert), C(sslcert), C(sslkey), C(sslcrl), C(channel_binding), C(connect_timeout),
        C(target_session_attrs), C(options), C(gssencmode).
    type: str
    required: true
  bin_dir:
    description: Directory of the PostgreSQL client tools to use; default, the ones on C(PATH).
    type: path
attributes:
  check_mode:
    support: full
    details: With O(state=restored) the comparison with the marker runs and tells whether a restore is needed.
  diff_mode:
    support: full
  platform:
    platforms: posix
requirements:
  - C(pg_dump), C(pg_restore), C(psql) and C(perl) where the module runs, of a version that reads the server's dumps.
seealso:
  - module: appops.runbooks.compose_postgres_db
  - module: appops.runbooks.postgres_db_info
"""

EXAMPLES = r"""
- name: Dump a hosted database into a new backup
  appops.runbooks.postgres_db:
    url: "{{ database_url }}"
    state: dumped
    path: /var/backups/appops/20250101T020000Z/main.dump

- name: Make the database hold that backup (nothing done when it already does)
  appops.runbooks.postgres_db:
    url: "{{ database_url }}"
    state: restored
    path: /var/backups/appops/20250101T020000Z/main.dump
    backup_id: 20250101T020000Z
    sha256: "{{ manifest_store.files[0].sha256 }}"
    marker: /var/lib/appops/my-app/restore-main.json
    expected_row_counts: "{{ manifest_store.row_counts }}"
"""

RETURN = r"""
row_counts:
  description: Rows per table, of the dump (V(dumped)) or of the database after the run (V(restored)).
  returned: success
  type: dict
  sample: {"public.workers": 40}
server_version:
  description: Server version (V(dumped)).
  returned: state is dumped
  type: str
tool_versions:
  description: C(pg_dump --version) and C(pg_restore --version) of the tools that ran (V(dumped)).
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
journal_run:
  description: The run's journal record once O(journal_step) was recorded, before pg_restore ran against the URL.
  returned: state=restored, with O(journal_step), when a restore was done (null in check mode)
  type: dict
restore_method:
  description: How the restore ran (see M(appops.runbooks.compose_postgres_db)).
  returned: state is restored and a restore ran
  type: dict
marker:
  description: The marker written after the restore.
  returned: state is restored and a restore ran
  type: dict
application_name:
  description: C(application_name) of the database sessions of the run.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._postgres import procedures
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.engine import Postgres
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.runners import LocalRunner


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True, no_log=True),
            bin_dir=dict(type="path"),
            **procedures.ARGUMENT_SPEC,
        ),
        required_if=procedures.REQUIRED_IF,
        supports_check_mode=True,
    )
    params = module.params
    try:
        runner = LocalRunner.from_url(module.run_command, params["url"],
                                      procedures.session_name(params, module.check_mode), params["bin_dir"])
    except PostgresError as error:
        module.fail_json(msg=str(error))
    procedures.run_procedure(module, Postgres(runner))


if __name__ == "__main__":
    main()
