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
    service's container is found once, by the labels Compose puts on it.
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
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
  - appops.runbooks.lock_heartbeat
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
  state:
    description: V(dumped) takes a dump into O(path); V(restored) makes the database hold the dump at O(path).
    type: str
    choices: [dumped, restored]
    required: true
  path:
    description: The archive, as a path inside the service's container (a mounted backup directory).
    type: str
    required: true
  compression:
    description: C(pg_dump --compress) level for O(state=dumped).
    type: int
    default: 1
  row_counts_from:
    description:
      - Where the row counts of a dump come from. V(archive) reads the archive back (its own snapshot;
        right while the app writes). V(live) counts the live tables, correct only when nothing writes,
        e.g. in maintenance mode, and cheaper for a large database.
    type: str
    choices: [archive, live]
    default: archive
  backup_id:
    description: Id of the backup being restored, recorded in the marker. Required with O(state=restored).
    type: str
  sha256:
    description: sha256 of the archive, recorded in the marker. Required with O(state=restored).
    type: str
  marker:
    description: Marker file of the last restore on the host. Required with O(state=restored).
    type: path
  expected_row_counts:
    description: Rows per table the restored database must hold (the backup's manifest); any difference fails.
    type: dict
  jobs:
    description: Parallel C(pg_restore) jobs.
    type: int
    default: 2
  parallel_copy_min_rows:
    description:
      - Tables the backup holds at least this many rows of (by O(expected_row_counts)) get their rows
        through O(jobs) COPY sessions at once, while C(pg_restore) loads the other tables. C(pg_restore
        --jobs) loads each table in one session, so one big table would keep a single core busy.
      - The restore keeps C(pg_restore --clean)'s order (post-data dropped first, pre-data dropped and
        created, the rows, then indexes and constraints with O(jobs)). It needs C(perl) in the service's
        image (Debian's PostgreSQL packages bring it); without it, or with O(jobs=1), one session per table.
      - V(0) never splits a table.
    type: int
    default: 1000000
  pgoptions:
    description:
      - C(PGOPTIONS) of the restore's sessions, for example V(-c wal_compression=off) (superuser only)
        so index builds do not spend their CPU compressing WAL.
    type: str
    default: ''
  force:
    description: Restore without comparing with the marker first (the caller has just planned the restore).
    type: bool
    default: false
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
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils import _backup, _lock
from ansible_collections.appops.runbooks.plugins.module_utils._backup import (
    marker_verdict,
    row_count_mismatches,
    rows_verdict,
    schema_verdict,
    table_set_verdict,
)
from ansible_collections.appops.runbooks.plugins.module_utils._compose_postgres import (
    ComposeError,
    ComposeService,
    Postgres,
    read_marker,
    rows_of,
)


def dump(module: AnsibleModule, database: Postgres) -> dict[str, t.Any]:
    params = module.params
    if module.check_mode:
        return {"changed": True, "row_counts": {}}
    database.dump(params["path"], params["compression"])
    live = params["row_counts_from"] == "live"
    facts = database.verify_dump(params["path"], rows_from_live_tables=live)
    facts["verification"] = {"pg_restore_list": "ok", "rows_read_back": not live, "rows_counted_live": live}
    return {"changed": True, **facts}


def compare(database: Postgres, marker: dict[str, t.Any], backup_id: str, sha256: str) -> tuple[dict[str, t.Any], dict[str, int]]:
    """The plan, and the rows it counted. Cheapest evidence first: the marker alone, then the
    catalog (a dropped or recreated table), and only when both match, a count of every table."""
    verdict = marker_verdict(marker, backup_id, sha256)
    if verdict is not None:
        return verdict, {}
    tables, schema = database.catalog()
    verdict = table_set_verdict(marker, tables) or schema_verdict(marker, schema)
    if verdict is not None:
        return verdict, {}
    current = database.fingerprint(tables, since_xid=marker.get("xid"))
    return rows_verdict(marker, current["tables"], backup_id), rows_of(current)


def restore(module: AnsibleModule, database: Postgres) -> dict[str, t.Any]:
    params = module.params
    marker = read_marker(params["marker"])
    if params["force"]:
        plan = {"needs_restore": True, "reason": "restore asked for without comparing (force)"}
        current_rows: dict[str, int] = {}
    else:
        plan, current_rows = compare(database, marker, params["backup_id"], params["sha256"])
    diff = {"before": {"backup_id": marker.get("backup_id") if not plan["needs_restore"] else None},
            "after": {"backup_id": params["backup_id"]}}
    if not plan["needs_restore"] or module.check_mode:
        return {"changed": plan["needs_restore"], "plan": plan, "row_counts": current_rows, "diff": diff}

    method = database.restore(params["path"], params["jobs"], params["pgoptions"],
                              params["parallel_copy_min_rows"], params["expected_row_counts"])
    tables, schema = database.catalog()
    after = database.fingerprint(tables, with_xid=True)
    rows = rows_of(after)
    mismatches = row_count_mismatches(params["expected_row_counts"], rows)
    if mismatches:
        # No marker: the next run sees an unknown state and restores again.
        module.fail_json(msg=f"row counts after the restore differ from backup {params['backup_id']}: "
                             f"{'; '.join(mismatches)}", changed=True, row_counts=rows, plan=plan,
                         restore_method=method)
    new_marker = {
        "backup_id": params["backup_id"],
        "sha256": params["sha256"],
        "restored_at": _backup.format_time(_backup.utc_now()),
        "xid": after["xid"],
        "tables": after["tables"],
        "schema": schema,
    }
    _backup.write_json_atomically(params["marker"], new_marker)
    return {"changed": True, "plan": plan, "row_counts": rows, "marker": new_marker, "restore_method": method,
            "diff": diff}


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            service=dict(type="str", default="postgres"),
            database=dict(type="str", required=True),
            user=dict(type="str", default="postgres"),
            port=dict(type="int", default=5432),
            state=dict(type="str", choices=["dumped", "restored"], required=True),
            path=dict(type="str", required=True),
            compression=dict(type="int", default=1),
            row_counts_from=dict(type="str", choices=["archive", "live"], default="archive"),
            backup_id=dict(type="str"),
            sha256=dict(type="str"),
            marker=dict(type="path"),
            expected_row_counts=dict(type="dict"),
            jobs=dict(type="int", default=2),
            parallel_copy_min_rows=dict(type="int", default=1000000),
            pgoptions=dict(type="str", default=""),
            force=dict(type="bool", default=False),
            **_lock.HEARTBEAT_ARGUMENT_SPEC,
        ),
        required_if=[("state", "restored", ["backup_id", "sha256", "marker"])],
        supports_check_mode=True,
    )
    params = module.params
    service = ComposeService(module.run_command, params["project_dir"], params["service"],
                             docker=module.get_bin_path("docker", required=True))
    database = Postgres(service, params["database"], params["user"], params["port"])
    try:
        with _lock.module_heartbeat(params, module.check_mode):
            result = dump(module, database) if params["state"] == "dumped" else restore(module, database)
    except ComposeError as error:
        module.fail_json(msg=f"{params['database']} in {params['project_dir']} ({params['service']}): {error}")
    except (OSError, ValueError) as error:
        module.fail_json(msg=f"{params['database']} in {params['project_dir']}: {error}")
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
