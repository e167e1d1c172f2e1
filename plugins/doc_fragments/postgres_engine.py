# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of ARGUMENT_SPEC in plugins/module_utils/_postgres/procedures.py: keep them in step.
    DOCUMENTATION = r"""
options:
  state:
    description: V(dumped) takes a dump into O(path); V(restored) makes the database hold the dump at O(path).
    type: str
    choices: [dumped, restored]
    required: true
  path:
    description: The archive (C(pg_dump --format=custom)), as a path where the client tools run.
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
    description:
      - File of the restore marker (which backup the database holds since its last restore) on the host
        the module runs on, with O(backend=local).
      - With O(state=restored) the marker is needed, in this file or in the document O(marker_key) of O(app)
        in the state backend (O(backend=postgres) with O(dsn), or O(backend=local) with O(state_dir)).
    type: path
  app:
    description: App whose state keeps the marker document O(marker_key).
    type: str
  marker_key:
    description:
      - Name of the marker document in the app's state backend, for example V(restore-main). With
        O(backend=postgres) every controller that reaches the state database sees it (an AWX job in
        another container knows which backup the database holds).
    type: str
  expected_row_counts:
    description:
      - Rows per table the restored database must hold (the backup's manifest); any difference fails.
      - Tables are named as C(format('%I.%I', schema, table)) names them, e.g. C(public.workers).
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
        created, the rows, then indexes and constraints with O(jobs)). It needs C(perl) where the tools
        run (Debian's PostgreSQL packages bring it); without it, or with O(jobs=1), one session per table.
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
  application_name:
    description:
      - C(application_name) of every database session the run opens (libpq's C(PGAPPNAME)), so that the
        run that started a dump or restore can be found in C(pg_stat_activity), e.g. to wait for the
        restore of a run that died.
      - Default C(appops-<procedure>-<run>), where procedure is V(dump), V(plan) (check mode) or
        V(restore) and run is O(lock_token), or the module's process id without one. The server keeps
        63 bytes.
    type: str
"""
