#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: postgres_db_info
short_description: Verify a PostgreSQL archive and count its rows, or count the rows of a live database
version_added: 0.2.0
description:
  - With O(archive), proves a C(pg_dump --format=custom) archive on this machine complete
    (C(pg_restore --list) reads its whole table of contents) and counts the rows of each table from its
    COPY blocks (the archive's own snapshot). No database is needed.
  - With O(url), counts the rows of every table of the live database exactly, in one statement, with this
    machine's C(psql); O(fingerprint) adds each table's oid and the hash of the schema's other definitions
    (what a restore marker records).
  - Tables are named as C(format('%I.%I', schema, table)) names them (C(public.workers)), the same names
    in both results and in the results of M(appops.runbooks.compose_postgres_db) and
    M(appops.runbooks.postgres_db).
  - Changes nothing.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  archive:
    description: Path of the archive on the machine the module runs on.
    type: path
  url:
    description:
      - The database, C(postgres://user:password@host:port/database) (query parameters as in
        M(appops.runbooks.postgres_db)). Reaches C(psql) through libpq environment variables; never shown.
    type: str
  fingerprint:
    description: With O(url), also read each table's oid and the hash of the schema's other definitions.
    type: bool
    default: false
  bin_dir:
    description: Directory of the PostgreSQL client tools to use; default, the ones on C(PATH).
    type: path
  application_name:
    description:
      - C(application_name) of the database session (libpq's C(PGAPPNAME)), so the run can be found in
        C(pg_stat_activity). Default C(appops-info-<process id>).
    type: str
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - C(pg_restore) (with O(archive)) or C(psql) (with O(url)) where the module runs.
seealso:
  - module: appops.runbooks.postgres_db
  - module: appops.runbooks.compose_postgres_db
"""

EXAMPLES = r"""
- name: Verify a downloaded backup and count its rows
  appops.runbooks.postgres_db_info:
    archive: /home/ops/.appops/my-app/heroku_postgres/0f6a.dump
  register: dump_facts

- name: Count the rows of the live database
  appops.runbooks.postgres_db_info:
    url: "{{ database_url }}"
    application_name: "appops-restore-{{ lock_token }}"
  register: live
"""

RETURN = r"""
archive:
  description: The archive's facts.
  returned: O(archive) given
  type: dict
  contains:
    row_counts:
      description: Rows per table, read from the archive.
      type: dict
      sample: {"public.workers": 40}
    tool_versions:
      description: C(pg_restore --version) of the tool that read it.
      type: dict
    verification:
      description: How it was verified.
      type: dict
      sample: {"pg_restore_list": "ok", "rows_read_back": true}
database:
  description: The live database's facts.
  returned: O(url) given
  type: dict
  contains:
    row_counts:
      description: Exact rows per table.
      type: dict
    server_version:
      description: The server's version.
      type: str
    tables:
      description: Table name -> oid (O(fingerprint)).
      type: dict
    schema:
      description: md5 of the schema's definitions besides the tables (O(fingerprint)).
      type: str
application_name:
  description: C(application_name) of the database session.
  returned: always
  type: str
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._postgres.engine import Postgres
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.runners import LocalRunner, application_name


def archive_facts(module: AnsibleModule, name: str) -> dict[str, t.Any]:
    reader = Postgres(LocalRunner(module.run_command, name, bin_dir=module.params["bin_dir"]))
    facts = reader.inspect_archive(module.params["archive"])
    return {**facts, "verification": {"pg_restore_list": "ok", "rows_read_back": True}}


def database_facts(module: AnsibleModule, name: str) -> dict[str, t.Any]:
    runner = LocalRunner.from_url(module.run_command, module.params["url"], name, module.params["bin_dir"])
    for secret in runner.secrets():
        module.no_log_values.add(secret)
    database = Postgres(runner)
    facts = database.live_facts()
    if module.params["fingerprint"]:
        facts["tables"], facts["schema"] = database.catalog()
    return facts


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            archive=dict(type="path"),
            url=dict(type="str", no_log=True),
            fingerprint=dict(type="bool", default=False),
            bin_dir=dict(type="path"),
            application_name=dict(type="str"),
        ),
        required_one_of=[("archive", "url")],
        supports_check_mode=True,
    )
    name = module.params["application_name"] or application_name("info")
    result: dict[str, t.Any] = {"changed": False, "application_name": name}
    try:
        if module.params["archive"]:
            result["archive"] = archive_facts(module, name)
        if module.params["url"]:
            result["database"] = database_facts(module, name)
    except PostgresError as error:
        what = module.params["archive"] if "archive" not in result and module.params["archive"] else "the database"
        module.fail_json(msg=f"{what}: {error}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
