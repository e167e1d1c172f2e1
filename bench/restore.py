#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore benchmark: the restore playbook against raw pg_restore and the runbook's psql way.

Builds a ~1 GB coffee-tracker database in the lab (lab/coffee-tracker/seed.sh), takes one
backup with playbooks/backup.yml (the custom-format dump every pg_restore method reads) and
one plain SQL dump the runbook's way, then times, in interleaved rounds, from the same
simulated data loss each time:

  playbook      ansible-playbook playbooks/restore.yml -l coffee-tracker -e backup_id=<id>
                (the whole procedure: checksums, lock, plan, maintenance, safety backup,
                pg_restore --jobs 2, row counts, health gate), with a per-task profile
  pg_restore_j2 docker compose exec -T postgres pg_restore --clean --if-exists --jobs=2 <same dump>
  psql          drop/recreate schema public, then
                docker compose exec -T postgres psql -U coffee coffee_db < dump.sql

Every method is checked afterwards (row counts equal the backup's manifest), untimed. At the
end the lab gets back the data it had before (or a normal 1,000-row dataset), its restore
marker and SQLite file, and the backups the bench made are deleted (unless --keep).

With --store supabase it benches mysetlist's supabase store instead (its database URL: in the
lab a real PostgreSQL database stands in for the Supabase project): the setlists table grown to
--rows rows, one backup with playbooks/backup.yml -l mysetlist, then, from DROP TABLE setlists
each time, in interleaved rounds:

  playbook      ansible-playbook playbooks/restore.yml -l mysetlist -e backup_id=<id> (the whole
                procedure, maintenance and health on the Vercel emulator included), profiled
  pg_restore_j2 pg_restore --clean --if-exists --no-owner --jobs=2 --dbname=<the URL> <same dump>
  playbook_before  with --before PATH: the restore playbook of another checkout (the code before a
                change), timed side by side with this one's under the same load

Usage: .venv/bin/python bench/restore.py [--store compose|supabase] [--rows N] [--rounds 1] [--keep] [--quick]
       [--before PATH]
The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parents[1]
LAB = Path(os.environ.get("APPOPS_LAB_DIR", REPO / ".lab"))
PROJECT = LAB / "coffee-tracker"
BACKUPS = PROJECT / "backups"
MARKER = PROJECT / ".appops" / "restore-main.json"
LOCK = PROJECT / ".appops" / "lock.json"
SQLITE = PROJECT / "data" / "coffee.db"
MAINTENANCE = PROJECT / "state" / "maintenance.json"
WORK = LAB / "bench-restore"
APP = "coffee-tracker"
HEALTH_URL = "http://127.0.0.1:18000/health"
DATABASE, DB_USER, DB_PORT = "coffee_db", "coffee", 15432
BIG_TABLE = "public.coffee_logs"
METHODS = ("playbook", "pg_restore_j2", "psql", "pg_restore_j1")
DEFAULT_METHODS = ("playbook", "pg_restore_j2", "psql")
# A database above this size is not worth a snapshot: the bench resets it to a normal dataset.
SNAPSHOT_LIMIT_BYTES = 256 * 1024 * 1024
NORMAL_ROWS = 1000
TARGET_RATIO = 1.3
# About the compose bench's size (~1.1 GB): below that the procedure's fixed costs are all it measures.
SUPABASE_ROWS = 9_000_000
SUPABASE_METHODS = ("playbook", "pg_restore_j2", "pg_restore_j1", "playbook_before")
LONG = 3600
# 0 turns each retention rule off (see common_backup_keep_last in roles/common/meta/argument_specs.yml).
RETENTION_OFF = json.dumps({"common_backup_keep_last": 0, "common_backup_max_age_days": 0,
                            "common_backup_safety_keep_last": 0, "common_backup_safety_max_age_days": 0})
# Pids of other playbook/test runs seen during the timed part (noise the figures may carry).
OTHERS_SEEN: set[str] = set()
# Backups this run made (its backup, the playbook's safety backups): the only ones it deletes,
# so a backup another user takes meanwhile is never touched.
MADE_BACKUPS: set[str] = set()
# The 1-minute load average when each timed method started (the machine is shared).
LOADAVG_SAMPLES: list[float] = []
SAFETY_BACKUP = re.compile(r"safety[_ ]backup[= ](\d{8}T\d{6}Z(?:-\d+)?)")


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


# ---------------------------------------------------------------------------- lab access


def compose(*args: str, stdin: t.IO[bytes] | None = None, stdout: t.Any = subprocess.PIPE,
            timeout: int = LONG) -> subprocess.CompletedProcess[bytes]:
    """docker compose on the lab project; raises with the tail of stderr on failure."""
    command = ["docker", "compose", "--project-directory", str(PROJECT), "-f", str(PROJECT / "compose.yaml"), *args]
    done = subprocess.run(command, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])} ... failed (rc {done.returncode}): {done.stderr.decode()[-2000:]}")
    return done


def in_postgres(*argv: str, **kwargs: t.Any) -> subprocess.CompletedProcess[bytes]:
    return compose("exec", "-T", "postgres", *argv, **kwargs)


def env_value(key: str) -> str:
    for line in (PROJECT / ".env").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1].strip()
    raise KeyError(key)


def statement(connection: t.Any, query: str, params: tuple[t.Any, ...]) -> list[tuple[t.Any, ...]]:
    """One statement in its own autocommit session (DROP, VACUUM and CHECKPOINT need that)."""
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(query, params or None)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def sql(query: str, *params: t.Any) -> list[tuple[t.Any, ...]]:
    """A statement in coffee-tracker's database."""
    return statement(psycopg2.connect(host="127.0.0.1", port=DB_PORT, dbname=DATABASE, user=DB_USER,
                                      password=env_value("POSTGRES_PASSWORD"), connect_timeout=10,
                                      application_name="bench-restore"), query, params)


def table_counts(run: t.Callable[..., list[tuple[t.Any, ...]]] = sql) -> dict[str, int]:
    """Exact row counts of every user table, keyed like the backup manifest (schema.table)."""
    tables = run("SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables ORDER BY 1")
    return {name: int(run(f"SELECT count(*) FROM {name}")[0][0]) for (name,) in tables}


def database_bytes() -> int:
    return int(sql("SELECT pg_database_size(current_database())")[0][0])


def health_status() -> int:
    try:
        with urllib.request.urlopen(HEALTH_URL, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return -1


# ---------------------------------------------------------------------------- other users of the lab


def ancestors() -> set[int]:
    """Our own process chain (a pytest that runs this bench must not count as a competitor)."""
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return pids


def competing_runs() -> list[str]:
    """Running ansible-playbook or integration-test processes that are not ours."""
    mine, found = ancestors(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        line = " ".join(argv).strip()
        if "ansible-playbook" in line or ("pytest" in line and "integration" in line) or "molecule" in line:
            found.append(f"{entry.name}: {line[:160]}")
    return found


def wait_until_idle(wait_s: int, strict: bool) -> list[str]:
    """Waits up to wait_s for other runs to end; heavy runs refuse to start beside them."""
    deadline = time.monotonic() + wait_s
    while (busy := competing_runs()) and time.monotonic() < deadline:
        say(f"waiting for {len(busy)} other run(s) to finish: {busy[0]}")
        time.sleep(15)
        if not competing_runs():
            # Test suites start one playbook after another: idle must last a moment to count.
            time.sleep(20)
    if busy and strict:
        raise SystemExit("other playbook/test runs are active (the full-size bench is heavy and drops tables "
                         "they may use):\n  " + "\n  ".join(busy) + "\nre-run later, with --wait-idle S, or --force")
    for line in busy:
        say(f"warning: running beside {line}")
    return busy


# ---------------------------------------------------------------------------- the lab's state before/after


@dataclasses.dataclass
class Snapshot:
    """What the bench changes and must put back."""
    backup_ids: set[str]
    marker: bytes | None
    maintenance: bool
    sqlite_copy: Path | None
    db_dump: Path | None
    counts: dict[str, int]


def backup_ids() -> set[str]:
    return {path.name for path in BACKUPS.iterdir() if path.is_dir()} if BACKUPS.is_dir() else set()


def take_snapshot() -> Snapshot:
    WORK.mkdir(parents=True, exist_ok=True)
    counts = table_counts()
    db_dump = None
    if database_bytes() <= SNAPSHOT_LIMIT_BYTES:
        db_dump = WORK / "before.dump"
        with db_dump.open("wb") as handle:
            in_postgres("pg_dump", "--format=custom", f"--username={DB_USER}", f"--port={DB_PORT}", DATABASE,
                        stdout=handle)
    sqlite_copy = None
    if SQLITE.exists():
        sqlite_copy = WORK / "before.db"
        shutil.copy2(SQLITE, sqlite_copy)
    return Snapshot(backup_ids(), MARKER.read_bytes() if MARKER.exists() else None, MAINTENANCE.exists(),
                    sqlite_copy, db_dump, counts)


def reset_to_normal_dataset() -> None:
    """The lab's usual data: empty tables plus the 1,000 rows lab-up seeds into a new database.

    A table that a failed method left dropped comes back from seed.sh, which makes the app's schema.
    """
    present = [table for table in ("coffee_logs", "heart_rates") if sql("SELECT to_regclass(%s) IS NOT NULL", table)[0][0]]
    if present:
        sql(f"TRUNCATE {', '.join(present)} RESTART IDENTITY")
    subprocess.run([str(REPO / "lab" / "coffee-tracker" / "seed.sh"), str(NORMAL_ROWS)], check=True,
                   stdout=subprocess.DEVNULL, timeout=600)


def put_back_database(snapshot: Snapshot) -> None:
    if snapshot.db_dump is None:
        say("resetting the database to a normal dataset")
        reset_to_normal_dataset()
        return
    say("putting back the database as it was")
    with snapshot.db_dump.open("rb") as handle:
        in_postgres("pg_restore", "--clean", "--if-exists", "--no-owner", f"--username={DB_USER}",
                    f"--port={DB_PORT}", f"--dbname={DATABASE}", stdin=handle)
    if table_counts() != snapshot.counts:
        raise RuntimeError(f"the database did not come back as it was: {table_counts()} != {snapshot.counts}")


def put_back_files(snapshot: Snapshot) -> None:
    if snapshot.sqlite_copy is not None:
        # Rename over the live file: the app opens a connection per request (rollback journal).
        staged = SQLITE.with_name(".bench-restore.db")
        shutil.copy2(snapshot.sqlite_copy, staged)
        os.replace(staged, SQLITE)
    if snapshot.marker is None:
        MARKER.unlink(missing_ok=True)
    else:
        MARKER.write_bytes(snapshot.marker)
    if not snapshot.maintenance:
        MAINTENANCE.unlink(missing_ok=True)


def delete_made_backups(keep: set[str], folder: Path = BACKUPS) -> list[str]:
    deleted = sorted(MADE_BACKUPS - keep)
    for backup_id in deleted:
        shutil.rmtree(folder / backup_id, ignore_errors=True)
    return deleted


def restore_lab(snapshot: Snapshot, keep: bool, bench_backup: str | None) -> list[str]:
    """Puts the lab back; returns the backups deleted (the ones this run made)."""
    if keep:
        say(f"--keep: the big database and backup {bench_backup} stay; plain dump in {WORK}")
        put_back_files(dataclasses.replace(snapshot, marker=MARKER.read_bytes() if MARKER.exists() else None,
                                           sqlite_copy=None))
        return delete_made_backups({bench_backup} if bench_backup else set())
    put_back_database(snapshot)
    put_back_files(snapshot)
    shutil.rmtree(WORK, ignore_errors=True)
    sql("CHECKPOINT")
    return delete_made_backups(set())


# ---------------------------------------------------------------------------- building the data and the dumps


def build_database(rows: int) -> float:
    """Seeds `rows` coffee_logs rows (+ rows/10 heart_rates) unless the table already holds them."""
    present = table_counts().get(BIG_TABLE, 0)
    if present >= rows:
        say(f"{BIG_TABLE} already holds {present} rows; not seeding")
        return 0.0
    say(f"seeding {rows} rows (lab/coffee-tracker/seed.sh)")
    started = time.perf_counter()
    subprocess.run([str(REPO / "lab" / "coffee-tracker" / "seed.sh"), str(rows), "--audit-rows", "0"],
                   check=True, stdout=subprocess.DEVNULL, timeout=LONG)
    seconds = time.perf_counter() - started
    sql("VACUUM ANALYZE")
    return seconds


def playbook_env(profile: bool, repo: Path = REPO) -> dict[str, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(repo / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(repo / ".collections"), ANSIBLE_STDOUT_CALLBACK="default")
    if profile:
        # Chronological order and every task, so the figures can be grouped by procedure step.
        env.update(ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
                   PROFILE_TASKS_SORT_ORDER="none", PROFILE_TASKS_TASK_OUTPUT_LIMIT="all")
    return env


def run_playbook(name: str, *extra: str, app: str = APP, repo: Path = REPO) -> tuple[float, str]:
    # Retention off: the bench deletes the backups it made itself at the end, and retention would
    # delete the oldest of the lab's own backups once the bench's runs push them past keep_last.
    command = [str(REPO / ".venv" / "bin" / "ansible-playbook"), f"playbooks/{name}.yml", "-l", app,
               "-e", RETENTION_OFF, *extra]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=repo, env=playbook_env(profile=True, repo=repo), capture_output=True, text=True,
                          timeout=LONG, check=False)
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    MADE_BACKUPS.update(SAFETY_BACKUP.findall(output))
    if done.returncode != 0:
        # The task profile ends the output; the reason is in the failed task's lines above it.
        reasons = [line for line in output.splitlines() if "FAILED" in line or line.startswith("fatal:")]
        raise RuntimeError(f"playbooks/{name}.yml failed (rc {done.returncode}):\n" + "\n".join(reasons[-4:])
                           + f"\n{output[-3000:]}")
    return seconds, output


def take_backup(snapshot: Snapshot) -> tuple[str, dict[str, t.Any], float, str]:
    say("backing up with playbooks/backup.yml")
    seconds, output = run_playbook("backup")
    new = sorted(backup_ids() - snapshot.backup_ids)
    if len(new) != 1:
        raise RuntimeError(f"expected one new backup, found {new} (is someone else taking backups?)")
    MADE_BACKUPS.add(new[0])
    manifest = json.loads((BACKUPS / new[0] / "manifest.json").read_text(encoding="utf-8"))
    return new[0], manifest, seconds, output


def make_plain_dump() -> tuple[Path, float]:
    """The runbook's backup: a plain SQL pg_dump streamed out of the container to the host."""
    say("writing the plain SQL dump (pg_dump > dump.sql)")
    path = WORK / "dump.sql"
    started = time.perf_counter()
    with path.open("wb") as handle:
        in_postgres("pg_dump", f"--username={DB_USER}", f"--port={DB_PORT}", DATABASE, stdout=handle)
    return path, time.perf_counter() - started


# ---------------------------------------------------------------------------- same starting point for every method


def reset_public_schema() -> None:
    """Drop everything, then recreate schema public exactly as initdb makes it on PostgreSQL 15."""
    sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION pg_database_owner; "
        "GRANT USAGE ON SCHEMA public TO PUBLIC; COMMENT ON SCHEMA public IS 'standard public schema'")


def simulate_data_loss(loss: str) -> None:
    if loss == "table":
        sql(f"DROP TABLE IF EXISTS {BIG_TABLE}")
    else:
        reset_public_schema()


def wait_for_autovacuum(timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not sql("SELECT 1 FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' "
                   "AND datname = current_database()"):
            return
        time.sleep(1)


def drop_os_caches() -> bool:
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n", encoding="ascii")
        return True
    except OSError:
        return False


def warm(path: Path) -> None:
    with path.open("rb") as handle:
        while handle.read(8 * 1024 * 1024):
            pass


def quiesce(loss: str, input_file: Path) -> bool:
    """Same state for every method: the data loss, the rest vacuumed and analyzed, no autovacuum
    worker busy, everything on disk, OS cache dropped, then the method's input file read once."""
    simulate_data_loss(loss)
    sql("VACUUM ANALYZE")
    wait_for_autovacuum()
    sql("CHECKPOINT")
    dropped = drop_os_caches()
    warm(input_file)
    return dropped


# ---------------------------------------------------------------------------- the methods


@dataclasses.dataclass
class Context:
    backup_id: str
    dump_in_container: str
    dump_on_host: Path
    plain_dump: Path
    expected: dict[str, int]


@dataclasses.dataclass
class Timing:
    method: str
    seconds: float
    detail: dict[str, t.Any] = dataclasses.field(default_factory=dict)


def pg_restore_argv(context: Context, jobs: int) -> list[str]:
    # The same flags as roles/compose_postgres/tasks/restore.yml, so only the wrapping differs.
    return ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--jobs={jobs}", f"--username={DB_USER}",
            f"--port={DB_PORT}", f"--dbname={DATABASE}", context.dump_in_container]


def run_pg_restore(context: Context, jobs: int) -> Timing:
    started = time.perf_counter()
    in_postgres(*pg_restore_argv(context, jobs))
    return Timing(f"pg_restore_j{jobs}", time.perf_counter() - started)


def run_psql(context: Context) -> Timing:
    started = time.perf_counter()
    reset_public_schema()
    schema_s = time.perf_counter() - started
    with context.plain_dump.open("rb") as handle:
        done = in_postgres("psql", "-U", DB_USER, DATABASE, stdin=handle, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    # The runbook's psql runs without ON_ERROR_STOP: errors only show on stderr.
    errors = [line for line in done.stderr.decode(errors="replace").splitlines() if "ERROR" in line]
    if errors:
        raise RuntimeError(f"psql reported errors: {errors[:5]}")
    return Timing("psql", seconds, {"schema_reset_s": round(schema_s, 2)})


def run_restore_playbook(context: Context) -> Timing:
    seconds, output = run_playbook("restore", "-e", f"backup_id={context.backup_id}")
    if f"RESTORED {APP} from backup {context.backup_id}" not in output:
        raise RuntimeError(f"the playbook did not restore:\n{output[-4000:]}")
    tasks = parse_profile(output)
    detail = playbook_breakdown(tasks, seconds)
    rto = re.search(r"rto_seconds=([\d.]+)", output)
    detail["rto_reported_s"] = float(rto.group(1)) if rto else None
    detail["tasks"] = [[name, round(elapsed, 2)] for name, elapsed in tasks]
    return Timing("playbook", seconds, detail)


def run_method(method: str, context: Context) -> Timing:
    if method == "playbook":
        return run_restore_playbook(context)
    if method == "psql":
        return run_psql(context)
    return run_pg_restore(context, int(method[-1]))


def method_input(method: str, context: Context) -> Path:
    return context.plain_dump if method == "psql" else context.dump_on_host


def check_restored(method: str, context: Context) -> None:
    counts = table_counts()
    wrong = {name: (counts.get(name), rows) for name, rows in context.expected.items() if counts.get(name) != rows}
    if wrong:
        raise RuntimeError(f"{method}: row counts after the restore differ (now, expected): {wrong}")
    if health_status() != 200:
        raise RuntimeError(f"{method}: the app is not healthy after the restore")


# ---------------------------------------------------------------------------- the playbook's profile


PROFILE_LINE = re.compile(r"^(?P<name>\S.*?) -+ (?P<seconds>\d+\.\d+)s$")


def parse_profile(output: str) -> list[tuple[str, float]]:
    """The profile_tasks recap (chronological, every task) as (task name, seconds)."""
    recap = output.split("TASKS RECAP", 1)[-1]
    return [(match["name"], float(match["seconds"])) for line in recap.splitlines()
            if (match := PROFILE_LINE.match(line.strip()))]


# The playbook's include tasks mark where each step begins (names from playbooks/restore.yml).
STEP_MARKERS = (("Take a safety backup", "safety_backup_s"), ("Restore each store", "restore_stores_s"),
                ("Health gate", "health_gate_s"), ("Report the restore", "finish_s"))


def playbook_breakdown(tasks: list[tuple[str, float]], wall_s: float) -> dict[str, t.Any]:
    steps: dict[str, float] = {"before_restore_s": 0.0}
    # pg_restore, the row counts and the marker are one module run (compose_postgres_db).
    fine = {"checksums_s": 0.0, "pg_restore_and_row_counts_s": 0.0}
    step = "before_restore_s"
    for name, seconds in tasks:
        step = next((key for marker, key in STEP_MARKERS if marker in name), step)
        steps[step] = steps.get(step, 0.0) + seconds
        if "verify its checksums" in name:
            fine["checksums_s"] += seconds
        elif step == "restore_stores_s" and "Restore with pg_restore" in name:
            fine["pg_restore_and_row_counts_s"] += seconds
    tasks_s = sum(seconds for _name, seconds in tasks)
    figures = {key: round(value, 2) for key, value in {**steps, **fine}.items()}
    figures["ansible_start_and_end_s"] = round(wall_s - tasks_s, 2)
    figures["without_safety_backup_s"] = round(wall_s - steps.get("safety_backup_s", 0.0), 2)
    return figures


# ---------------------------------------------------------------------------- the supabase store (mysetlist)


SUPABASE_APP = "mysetlist"
SUPABASE_BACKUPS = LAB / "vercel-apps" / SUPABASE_APP / "backups"
SUPABASE_BIG_TABLE = "public.setlists"
SUPABASE_MARKER_KEY = "restore-main"
SUPABASE_HEALTH_URL = (os.environ.get("VERCEL_DOMAINS_URL", "http://127.0.0.1:18201").rstrip("/")
                       + "/mysetlist-sonnet.vercel.app/api/health/db")
SETLIST_POSITIONS = 20


def lab_setting(key: str) -> str:
    """A lab setting as the lab inventory reads it: the environment, else lab/cli.env."""
    if os.environ.get(key):
        return os.environ[key]
    for line in (REPO / "lab" / "cli.env").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1].strip()
    raise SystemExit(f"{key} is neither in the environment nor in lab/cli.env (make lab)")


def state_dsn() -> str:
    dsn_file = LAB / "state" / "dsn"
    return os.environ.get("APPOPS_STATE_DSN") or (dsn_file.read_text(encoding="utf-8").strip() if dsn_file.exists() else "")


def url_sql(url: str, query: str, *params: t.Any) -> list[tuple[t.Any, ...]]:
    """A statement over a database URL."""
    return statement(psycopg2.connect(url, connect_timeout=10, application_name="bench-restore"), query, params)


def url_table_counts(url: str) -> dict[str, int]:
    return table_counts(lambda query, *params: url_sql(url, query, *params))


def tool(argv: list[str], what: str) -> None:
    """A client tool over the URL; its stderr tail on failure (libpq never prints the password)."""
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=LONG, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (rc {done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}")


def grow_setlists(url: str, rows: int) -> float:
    """New shows with SETLIST_POSITIONS songs each until setlists holds `rows` rows, made by the server."""
    present = int(url_sql(url, f"SELECT count(*) FROM {SUPABASE_BIG_TABLE}")[0][0])
    if present >= rows:
        say(f"{SUPABASE_BIG_TABLE} already holds {present} rows; not seeding")
        return 0.0
    shows = -(-(rows - present) // SETLIST_POSITIONS)
    say(f"seeding {shows * SETLIST_POSITIONS} setlists rows ({shows} shows) into mysetlist's database")
    started = time.perf_counter()
    last_show = int(url_sql(url, "SELECT coalesce(max(id), 0) FROM shows")[0][0])
    # %% is psycopg2's escaped modulo: these statements take parameters.
    url_sql(url, "INSERT INTO shows (artist, venue, city, show_date) SELECT 'Artist ' || g %% 500,"
                 " 'Venue ' || g %% 300, 'Lab City', date '2026-01-01' + g %% 3000 FROM generate_series(1, %s) g", shows)
    url_sql(url, "WITH song AS (SELECT array_agg(id ORDER BY id) AS ids FROM songs) "
                 "INSERT INTO setlists (show_id, song_id, position, votes) "
                 "SELECT s.id, song.ids[1 + (s.id * 7 + p) %% array_length(song.ids, 1)], p, (s.id * 13 + p) %% 50 "
                 "FROM shows s, song, generate_series(1, %s) p WHERE s.id > %s", SETLIST_POSITIONS, last_show)
    seconds = time.perf_counter() - started
    url_sql(url, "VACUUM ANALYZE")
    return seconds


@dataclasses.dataclass
class SupabaseSnapshot:
    """What the supabase bench changes and must put back: the database, the restore marker, the backups."""
    backup_ids: set[str]
    marker: t.Any
    db_dump: Path
    counts: dict[str, int]


def supabase_backup_ids() -> set[str]:
    return {path.name for path in SUPABASE_BACKUPS.iterdir() if path.is_dir()} if SUPABASE_BACKUPS.is_dir() else set()


def read_marker() -> t.Any:
    """mysetlist's restore marker in the state PostgreSQL (the lab's vercel_apps keep their state there)."""
    if not url_sql(state_dsn(), "SELECT to_regclass('appops_documents') IS NOT NULL")[0][0]:
        return None
    rows = url_sql(state_dsn(), "SELECT value FROM appops_documents WHERE app = %s AND key = %s",
                   SUPABASE_APP, SUPABASE_MARKER_KEY)
    return rows[0][0] if rows else None


def put_back_marker(marker: t.Any) -> None:
    if marker is None:
        url_sql(state_dsn(), "DELETE FROM appops_documents WHERE app = %s AND key = %s", SUPABASE_APP,
                SUPABASE_MARKER_KEY)
    else:
        url_sql(state_dsn(), "INSERT INTO appops_documents (app, key, value) VALUES (%s, %s, %s) "
                             "ON CONFLICT (app, key) DO UPDATE SET value = EXCLUDED.value",
                SUPABASE_APP, SUPABASE_MARKER_KEY, json.dumps(marker))


def take_supabase_snapshot(url: str) -> SupabaseSnapshot:
    WORK.mkdir(parents=True, exist_ok=True)
    db_dump = WORK / "mysetlist-before.dump"
    tool(["pg_dump", "--format=custom", f"--dbname={url}", f"--file={db_dump}"], "pg_dump of the database as it was")
    return SupabaseSnapshot(supabase_backup_ids(), read_marker(), db_dump, url_table_counts(url))


def put_back_supabase(url: str, snapshot: SupabaseSnapshot, keep: bool, bench_backup: str | None) -> list[str]:
    """The database, marker and backups as they were; returns the backups deleted (this run's)."""
    put_back_marker(snapshot.marker)
    if keep:
        say(f"--keep: the big database and backup {bench_backup} stay")
        return delete_made_backups({bench_backup} if bench_backup else set(), SUPABASE_BACKUPS)
    say("putting back mysetlist's database as it was")
    tool(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={url}", str(snapshot.db_dump)],
         "pg_restore of the database as it was")
    if url_table_counts(url) != snapshot.counts:
        raise RuntimeError(f"the database did not come back as it was: {url_table_counts(url)} != {snapshot.counts}")
    shutil.rmtree(WORK, ignore_errors=True)
    return delete_made_backups(set(), SUPABASE_BACKUPS)


@dataclasses.dataclass
class SupabaseContext:
    url: str
    backup_id: str
    dump: Path
    expected: dict[str, int]
    before: Path | None = None
    extra_vars: tuple[str, ...] = ()


def prepare_supabase(args: argparse.Namespace, url: str, snapshot: SupabaseSnapshot) -> tuple[SupabaseContext, dict[str, t.Any]]:
    seed_s = grow_setlists(url, args.rows)
    db_bytes = int(url_sql(url, "SELECT pg_database_size(current_database())")[0][0])
    say(f"backing up with playbooks/backup.yml -l {SUPABASE_APP}")
    backup_s, output = run_playbook("backup", app=SUPABASE_APP)
    new = sorted(supabase_backup_ids() - snapshot.backup_ids)
    if len(new) != 1:
        raise RuntimeError(f"expected one new backup, found {new} (is someone else taking backups?)")
    MADE_BACKUPS.add(new[0])
    manifest = json.loads((SUPABASE_BACKUPS / new[0] / "manifest.json").read_text(encoding="utf-8"))
    store = next(item for item in manifest["stores"] if item["name"] == "main")
    context = SupabaseContext(url, new[0], SUPABASE_BACKUPS / new[0] / store["files"][0]["name"],
                              {name: int(rows) for name, rows in store["row_counts"].items()}, args.before,
                              tuple(args.extra_var))
    build = {"store": "supabase", "rows": context.expected.get(SUPABASE_BIG_TABLE, 0),
             "rows_all_tables": sum(context.expected.values()), "db_bytes": db_bytes, "backup_id": new[0],
             "backup_bytes": sum(path.stat().st_size for path in (SUPABASE_BACKUPS / new[0]).iterdir()),
             "dump_bytes": context.dump.stat().st_size, "seed_s": round(seed_s, 2),
             "backup_playbook_s": round(backup_s, 2),
             "backup_playbook_tasks": [[name, round(seconds, 2)] for name, seconds in parse_profile(output)
                                       if seconds >= 0.3]}
    say(f"database {db_bytes / 1e6:.0f} MB, {build['rows_all_tables']} rows, dump {build['dump_bytes'] / 1e6:.0f} MB;"
        f" backup playbook {backup_s:.1f} s")
    return context, build


def quiesce_supabase(context: SupabaseContext) -> bool:
    """The same start for every method: setlists dropped, the rest vacuumed and analyzed, no
    autovacuum worker busy, OS cache dropped, the dump read once. Supabase's postgres role may not
    CHECKPOINT, so neither does the bench."""
    url_sql(context.url, f"DROP TABLE IF EXISTS {SUPABASE_BIG_TABLE}")
    url_sql(context.url, "VACUUM ANALYZE")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and url_sql(
            context.url, "SELECT 1 FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' "
                         "AND datname = current_database()"):
        time.sleep(1)
    dropped = drop_os_caches()
    warm(context.dump)
    return dropped


def run_supabase_method(method: str, context: SupabaseContext) -> Timing:
    if not method.startswith("playbook"):
        jobs = int(method[-1])
        started = time.perf_counter()
        # The engine's flags (plugins/module_utils/_postgres/engine.py), so only the wrapping differs.
        tool(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--jobs={jobs}", f"--dbname={context.url}",
              str(context.dump)], f"pg_restore --jobs={jobs}")
        return Timing(method, time.perf_counter() - started)
    # playbook_before: the same playbook from another checkout (--before), side by side under the same load.
    repo = context.before if method == "playbook_before" else REPO
    extra = [argument for variable in context.extra_vars for argument in ("-e", variable)]
    seconds, output = run_playbook("restore", "-e", f"backup_id={context.backup_id}", *extra, app=SUPABASE_APP,
                                   repo=repo)
    if f"RESTORED {SUPABASE_APP} from backup {context.backup_id}" not in output:
        raise RuntimeError(f"the playbook did not restore:\n{output[-4000:]}")
    tasks = parse_profile(output)
    detail = playbook_breakdown(tasks, seconds)
    detail["tasks"] = [[name, round(elapsed, 2)] for name, elapsed in tasks]
    return Timing(method, seconds, detail)


def check_supabase_restored(method: str, context: SupabaseContext) -> None:
    counts = url_table_counts(context.url)
    wrong = {name: (counts.get(name), rows) for name, rows in context.expected.items() if counts.get(name) != rows}
    if wrong:
        raise RuntimeError(f"{method}: row counts after the restore differ (now, expected): {wrong}")
    try:
        with urllib.request.urlopen(SUPABASE_HEALTH_URL, timeout=10) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 200:
        raise RuntimeError(f"{method}: mysetlist's /api/health/db answers {status} after the restore")


def run_supabase_rounds(args: argparse.Namespace, context: SupabaseContext) -> tuple[dict[str, list[Timing]], bool]:
    return interleave(args, lambda _method: quiesce_supabase(context),
                      lambda method: run_supabase_method(method, context),
                      lambda method: check_supabase_restored(method, context))


def supabase_main(args: argparse.Namespace) -> int:
    url = lab_setting("SUPABASE_DB_URL")
    busy = wait_until_idle(args.wait_idle, strict=not (args.quick or args.force))
    load_before = os.getloadavg()[0]
    snapshot = take_supabase_snapshot(url)
    bench_backup, deleted = None, []
    try:
        context, build = prepare_supabase(args, url, snapshot)
        bench_backup = context.backup_id
        timings, dropped = run_supabase_rounds(args, context)
    finally:
        say("restoring the lab")
        deleted = put_back_supabase(url, snapshot, args.keep, bench_backup)
    figures = summarize(args, timings, build)
    figures.update(caches_dropped=dropped, loadavg_before=round(load_before, 2),
                   loadavg_after=round(os.getloadavg()[0], 2), ran_beside_other_runs=len(busy),
                   other_runs_during_timing=len(OTHERS_SEEN), deleted_backups=deleted)
    say(f"playbook {figures.get('playbook_s')} s, pg_restore -j2 over the URL {figures.get('pg_restore_j2_s')} s; "
        f"playbook/pg_restore {figures.get('ratio_playbook_vs_pg_restore')}")
    print(json.dumps(figures))
    return 0


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=("compose", "supabase"), default="compose",
                        help="coffee-tracker's compose PostgreSQL (default) or mysetlist's supabase store")
    parser.add_argument("--rows", type=int, default=None,
                        help="coffee_logs rows (default 9,000,000 ~ 1 GB); with --store supabase setlists rows "
                             f"(default {SUPABASE_ROWS:,})")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of all methods (default 1)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 200,000 rows unless --rows")
    parser.add_argument("--keep", action="store_true", help="keep the big database and its backup afterwards")
    parser.add_argument("--loss", choices=("table", "schema"), default="table",
                        help="simulated data loss before each method: DROP TABLE coffee_logs (default) "
                             "or the whole schema")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help=f"comma-separated, from {', '.join(METHODS)}")
    parser.add_argument("--safety-off-var", default="",
                        help="extra var that switches the playbook's safety backup off (KEY=VALUE); "
                             "adds the method playbook_no_safety")
    parser.add_argument("--wait-idle", type=int, default=0, help="seconds to wait for other runs to end")
    parser.add_argument("--force", action="store_true", help="run even beside other playbook/test runs")
    parser.add_argument("--extra-var", action="append", default=[], metavar="KEY=VALUE",
                        help="--store supabase: an extra var of every timed restore playbook run (repeatable), e.g. "
                             "vercel_health_unhealthy_ms=5000 for the lab app, whose /api/health/db counts every row")
    parser.add_argument("--before", type=Path, default=None,
                        help="--store supabase: another checkout of the collection (with its .venv, .collections "
                             "and lab/cli.env links, e.g. the code before a change); adds the method playbook_before, "
                             "its restore playbook timed side by side with this one's")
    args = parser.parse_args(argv)
    full_rows = SUPABASE_ROWS if args.store == "supabase" else 9_000_000
    args.rows = args.rows or (200_000 if args.quick else full_rows)
    args.methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    if args.store == "supabase":
        # Over a database URL there is no psql-in-a-container way to compare with: the runbook's
        # own way is the platform's, so the raw tools over the same URL are the baseline.
        if args.methods == list(DEFAULT_METHODS):
            args.methods = ["playbook", "pg_restore_j2"] + (["playbook_before"] if args.before else ["pg_restore_j1"])
        if ("playbook_before" in args.methods) != bool(args.before):
            parser.error("--before PATH and the method playbook_before go together")
        if set(args.methods) - set(SUPABASE_METHODS) or args.loss != "table" or args.safety_off_var:
            parser.error(f"--store supabase: methods from {SUPABASE_METHODS}, --loss table, no --safety-off-var")
    unknown = set(args.methods) - set(METHODS) - ({"playbook_before"} if args.store == "supabase" else set())
    if unknown or not args.methods:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    if args.safety_off_var:
        args.methods.append("playbook_no_safety")
    return args


def round_orders(methods: list[str], rounds: int) -> list[list[str]]:
    """ABC, BCA, CAB, ...: every method takes every position, so drift hits all alike."""
    return [methods[index % len(methods):] + methods[:index % len(methods)] for index in range(rounds)]


def note_competing_runs(method: str) -> None:
    for line in competing_runs():
        OTHERS_SEEN.add(line.split(":", 1)[0])
        say(f"warning: {method} runs beside {line}")


def interleave(args: argparse.Namespace, start: t.Callable[[str], bool], run: t.Callable[[str], Timing],
               check: t.Callable[[str], None]) -> tuple[dict[str, list[Timing]], bool]:
    """Every method in every round, from the same start each time (start returns whether the OS
    cache could be dropped), checked untimed after it ran."""
    timings: dict[str, list[Timing]] = {method: [] for method in args.methods}
    dropped_all = True
    for number, order in enumerate(round_orders(args.methods, args.rounds), start=1):
        for method in order:
            dropped_all &= start(method)
            note_competing_runs(method)
            LOADAVG_SAMPLES.append(round(os.getloadavg()[0], 2))
            say(f"round {number}: {method} ... (load average {LOADAVG_SAMPLES[-1]})")
            timing = run(method)
            check(method)
            say(f"round {number}: {method} {timing.seconds:.2f} s "
                f"{ {k: v for k, v in timing.detail.items() if k != 'tasks'} if timing.detail else ''}")
            timings[method].append(timing)
    return timings, dropped_all


def run_rounds(args: argparse.Namespace, context: Context) -> tuple[dict[str, list[Timing]], bool]:
    def run(method: str) -> Timing:
        if method == "playbook_no_safety":
            return run_no_safety_playbook(context, args.safety_off_var)
        return run_method(method, context)

    return interleave(args, lambda method: quiesce(args.loss, method_input(method.replace("_no_safety", ""), context)),
                      run, lambda method: check_restored(method, context))


def run_no_safety_playbook(context: Context, variable: str) -> Timing:
    seconds, output = run_playbook("restore", "-e", f"backup_id={context.backup_id}", "-e", variable)
    if f"RESTORED {APP} from backup {context.backup_id}" not in output:
        raise RuntimeError(f"the playbook did not restore:\n{output[-4000:]}")
    return Timing("playbook_no_safety", seconds, playbook_breakdown(parse_profile(output), seconds))


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def summarize(args: argparse.Namespace, timings: dict[str, list[Timing]], build: dict[str, t.Any]) -> dict[str, t.Any]:
    per_method = {method: [round(item.seconds, 2) for item in items] for method, items in timings.items()}
    figures: dict[str, t.Any] = {"bench": "restore", "date": datetime.datetime.now(datetime.timezone.utc)
                                 .strftime("%Y-%m-%dT%H:%M:%SZ"), **build, "rounds": args.rounds, "loss": args.loss}
    for method, values in per_method.items():
        figures[f"{method}_s"] = median(values)
    figures["runs"] = per_method
    if LOADAVG_SAMPLES:
        figures["loadavg_at_each_run"] = {"min": min(LOADAVG_SAMPLES), "median": median(LOADAVG_SAMPLES),
                                          "max": max(LOADAVG_SAMPLES)}
    for method in ("playbook", "playbook_before"):
        if not timings.get(method):
            continue
        playbook_details = [item.detail for item in timings[method]]
        breakdown = {key: median([detail[key] for detail in playbook_details])
                     for key, value in playbook_details[0].items() if isinstance(value, (int, float))}
        figures[f"{method}_breakdown"] = breakdown
        figures[f"{method}_tasks_last_run"] = playbook_details[-1]["tasks"]
    add_ratios(figures)
    return figures


def add_ratios(figures: dict[str, t.Any]) -> None:
    playbook, raw, psql = figures.get("playbook_s"), figures.get("pg_restore_j2_s"), figures.get("psql_s")
    if playbook and raw:
        figures["ratio_playbook_vs_pg_restore"] = round(playbook / raw, 3)
        figures["target_playbook_within_1_3x"] = playbook <= TARGET_RATIO * raw
        without = figures.get("playbook_breakdown", {}).get("without_safety_backup_s")
        if without:
            figures["ratio_playbook_without_safety_vs_pg_restore"] = round(without / raw, 3)
    if figures.get("playbook_before_s") and raw:
        figures["ratio_playbook_before_vs_pg_restore"] = round(figures["playbook_before_s"] / raw, 3)
    if playbook and psql:
        figures["ratio_psql_vs_playbook"] = round(psql / playbook, 3)
        figures["target_playbook_not_slower_than_psql"] = playbook <= psql


def prepare(args: argparse.Namespace, snapshot: Snapshot) -> tuple[Context, dict[str, t.Any]]:
    seed_s = build_database(args.rows)
    db_bytes = database_bytes()
    backup_id, manifest, backup_s, backup_output = take_backup(snapshot)
    store = next(item for item in manifest["stores"] if item["name"] == "main")
    dump_name = store["files"][0]["name"]
    plain_dump, plain_s = make_plain_dump()
    context = Context(backup_id, f"/backups/{backup_id}/{dump_name}", BACKUPS / backup_id / dump_name, plain_dump,
                      {name: int(rows) for name, rows in store["row_counts"].items()})
    build = {
        "rows": context.expected.get(BIG_TABLE, 0),
        "rows_all_tables": sum(context.expected.values()),
        "db_bytes": db_bytes,
        "backup_id": backup_id,
        "backup_bytes": sum(path.stat().st_size for path in (BACKUPS / backup_id).iterdir()),
        "dump_bytes": context.dump_on_host.stat().st_size,
        "plain_dump_bytes": plain_dump.stat().st_size,
        "seed_s": round(seed_s, 2),
        # The backup playbook on the full database: what a safety backup costs when little is lost.
        "backup_playbook_s": round(backup_s, 2),
        "plain_dump_s": round(plain_s, 2),
        # Where a full-size (safety) backup spends its time: the tasks that took 0.3 s or more.
        "backup_playbook_tasks": [[name, round(seconds, 2)] for name, seconds in parse_profile(backup_output)
                                  if seconds >= 0.3],
    }
    say(f"database {db_bytes / 1e9:.2f} GB, {build['rows_all_tables']} rows, dump {build['dump_bytes'] / 1e6:.0f} MB,"
        f" plain SQL {build['plain_dump_bytes'] / 1e6:.0f} MB; backup playbook {backup_s:.1f} s")
    return context, build


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.store == "supabase":
        return supabase_main(args)
    if health_status() != 200:
        raise SystemExit(f"the coffee-tracker lab is not healthy at {HEALTH_URL} (make lab)")
    busy = wait_until_idle(args.wait_idle, strict=not (args.quick or args.force))
    load_before = os.getloadavg()[0]
    snapshot = take_snapshot()
    bench_backup, deleted = None, []
    try:
        context, build = prepare(args, snapshot)
        bench_backup = context.backup_id
        timings, dropped = run_rounds(args, context)
    finally:
        say("restoring the lab")
        deleted = restore_lab(snapshot, args.keep, bench_backup)
    figures = summarize(args, timings, build)
    figures.update(caches_dropped=dropped, loadavg_before=round(load_before, 2),
                   loadavg_after=round(os.getloadavg()[0], 2), ran_beside_other_runs=len(busy),
                   other_runs_during_timing=len(OTHERS_SEEN), deleted_backups=deleted)
    say(f"playbook {figures.get('playbook_s')} s, pg_restore -j2 {figures.get('pg_restore_j2_s')} s, "
        f"psql {figures.get('psql_s')} s; playbook/pg_restore {figures.get('ratio_playbook_vs_pg_restore')}, "
        f"psql/playbook {figures.get('ratio_psql_vs_playbook')}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
