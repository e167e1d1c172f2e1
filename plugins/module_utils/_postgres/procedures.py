# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a store's module does with the engine: dump (and verify), plan a restore, restore.

Shared by every module that dumps or restores a PostgreSQL database, whatever runs the tools:
a module builds its runner from its own connection options, then calls ``run_procedure``.
``ARGUMENT_SPEC`` is the twin of the ``appops.runbooks.postgres_engine`` doc fragment.
"""

from __future__ import annotations

import contextlib
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._backup import (
    marker_verdict,
    row_count_mismatches,
    rows_verdict,
    schema_verdict,
    table_set_verdict,
)
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.engine import Postgres
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.marker import (
    MarkerDocument,
    MarkerFile,
    MarkerStore,
    new_marker,
)
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.runners import application_name
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.sql import rows_of
from ansible_collections.appops.runbooks.plugins.module_utils._state import STATE_ARGUMENT_SPEC, StateError, open_backend
from ansible_collections.appops.runbooks.plugins.module_utils._state._journal import (JOURNAL_STEP_OPTION,
                                                                                      JournalStepFailed, record_step)

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "state": {"type": "str", "choices": ["dumped", "restored"], "required": True},
    "path": {"type": "str", "required": True},
    "compression": {"type": "int", "default": 1},
    "row_counts_from": {"type": "str", "choices": ["archive", "live"], "default": "archive"},
    "backup_id": {"type": "str"},
    "sha256": {"type": "str"},
    "marker": {"type": "path"},
    "expected_row_counts": {"type": "dict"},
    "jobs": {"type": "int", "default": 2},
    "parallel_copy_min_rows": {"type": "int", "default": 1000000},
    "pgoptions": {"type": "str", "default": ""},
    "force": {"type": "bool", "default": False},
    "application_name": {"type": "str"},
    # Where the marker lives: the file O(marker) (backend local), or document O(marker_key) of
    # O(app) in the state database (backend postgres).
    **STATE_ARGUMENT_SPEC,
    "app": {"type": "str"},
    "marker_key": {"type": "str", "no_log": False},
    **_lock.HEARTBEAT_ARGUMENT_SPEC,
    # A restore records it (store_restoring) right before it replaces anything.
    "journal_step": JOURNAL_STEP_OPTION,
}
REQUIRED_IF = [("state", "restored", ["backup_id", "sha256"])]


def marker_missing(params: t.Mapping[str, t.Any]) -> str | None:
    """What a restore lacks to find its marker in the chosen backend, None when nothing."""
    if params["state"] != "restored" or (params["backend"] == "local" and params.get("marker")):
        return None
    needed = ("dsn", "app", "marker_key") if params["backend"] == "postgres" else ("state_dir", "app", "marker_key")
    missing = [name for name in needed if not params.get(name)]
    if not missing:
        return None
    if params["backend"] == "local":
        return f"backend=local needs marker (a file), or state_dir, app and marker_key (missing {', '.join(missing)})"
    return f"backend=postgres keeps the marker in the state database and needs {', '.join(missing)}"


@contextlib.contextmanager
def marker_store(params: t.Mapping[str, t.Any]) -> t.Iterator[MarkerStore]:
    """The marker of the restore: its file, or a document of the app's state backend (closed afterwards)."""
    if params["backend"] == "local" and params.get("marker"):
        yield MarkerFile(params["marker"])
        return
    backend = open_backend(params["backend"], params.get("dsn"), params.get("state_dir"))
    try:
        yield MarkerDocument(backend, params["app"], params["marker_key"])
    finally:
        backend.close()


def session_name(params: t.Mapping[str, t.Any], check_mode: bool) -> str:
    """application_name of the run's sessions: the option, else appops-<procedure>-<lock token or pid>."""
    if params.get("application_name"):
        return str(params["application_name"])
    procedure = "dump" if params["state"] == "dumped" else "plan" if check_mode else "restore"
    return application_name(procedure, params.get("lock_token"))


def dump(params: t.Mapping[str, t.Any], database: Postgres, check_mode: bool) -> dict[str, t.Any]:
    if check_mode:
        return {"changed": True, "row_counts": {}}
    database.dump(params["path"], params["compression"])
    live = params["row_counts_from"] == "live"
    facts = database.verify_dump(params["path"], rows_from_live_tables=live)
    facts["verification"] = {"pg_restore_list": "ok", "rows_read_back": not live, "rows_counted_live": live}
    return {"changed": True, **facts}


def compare(database: Postgres, marker: t.Mapping[str, t.Any], backup_id: str,
            sha256: str) -> tuple[dict[str, t.Any], dict[str, int]]:
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


class RowCountMismatch(Exception):
    """The restored database does not hold the rows of the backup; carries what the run saw."""

    def __init__(self, message: str, result: dict[str, t.Any]) -> None:
        super().__init__(message)
        self.result = result


def restore(params: t.Mapping[str, t.Any], database: Postgres, markers: MarkerStore,
            check_mode: bool) -> dict[str, t.Any]:
    marker = markers.read()
    if params["force"]:
        plan = {"needs_restore": True, "reason": "restore asked for without comparing (force)"}
        current_rows: dict[str, int] = {}
    else:
        plan, current_rows = compare(database, marker, params["backup_id"], params["sha256"])
    diff = {"before": {"backup_id": marker.get("backup_id") if not plan["needs_restore"] else None},
            "after": {"backup_id": params["backup_id"]}}
    if not plan["needs_restore"] or check_mode:
        return {"changed": plan["needs_restore"], "plan": plan, "row_counts": current_rows, "diff": diff}

    journal_run = record_step(params.get("journal_step"), "before", check_mode)
    method = database.restore(params["path"], params["jobs"], params["pgoptions"],
                              params["parallel_copy_min_rows"], params["expected_row_counts"])
    tables, schema = database.catalog()
    after = database.fingerprint(tables, with_xid=True)
    rows = rows_of(after)
    mismatches = row_count_mismatches(params["expected_row_counts"], rows)
    if mismatches:
        # No marker: the next run sees an unknown state and restores again.
        raise RowCountMismatch(
            f"row counts after the restore differ from backup {params['backup_id']}: {'; '.join(mismatches)}",
            {"changed": True, "row_counts": rows, "plan": plan, "restore_method": method})
    written = new_marker(params["backup_id"], params["sha256"], after, schema)
    markers.write(written)
    return {"changed": True, "plan": plan, "row_counts": rows, "marker": written, "restore_method": method,
            "diff": diff, "journal_run": journal_run}


def run_procedure(module: t.Any, database: Postgres) -> t.NoReturn:
    """Dump or restore as ``state`` says, keep the run's lock alive meanwhile, exit the module."""
    params = module.params
    for secret in database.runner.secrets():
        module.no_log_values.add(secret)
    where = database.runner.describe()
    missing = marker_missing(params)
    if missing:
        module.fail_json(msg=f"{where}: {missing}")
    try:
        with _lock.module_heartbeat(params, module.check_mode):
            if params["state"] == "dumped":
                result = dump(params, database, module.check_mode)
            else:
                with marker_store(params) as markers:
                    result = restore(params, database, markers, module.check_mode)
    except JournalStepFailed as error:
        module.fail_json(msg=f"{where}: nothing was restored: {error}")
    except StateError as error:
        # The state database (the marker, or the heartbeat of a lock kept there) cannot be used.
        module.fail_json(msg=f"{where}: state backend: {error}")
    except RowCountMismatch as error:
        module.fail_json(msg=str(error), **error.result)
    except PostgresError as error:
        module.fail_json(msg=f"{where}: {error}")
    except (OSError, ValueError) as error:
        module.fail_json(msg=database.runner.scrub(f"{where}: {error}"))
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(application_name=database.runner.application_name, **result)
