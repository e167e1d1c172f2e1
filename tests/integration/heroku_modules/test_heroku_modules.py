# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each heroku_* module through ansible-playbook against the Heroku emulator.

Desired-state modules go check -> apply -> idempotent check -> idempotent apply, and the
emulator's own state (admin API, or the app's real PostgreSQL) is asserted after each step.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import re
import tarfile
import threading
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import pytest
import requests

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._state import open_backend
from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import LOCKS_LAB
from ansible_collections.appops.runbooks.tests.integration.heroku_modules.conftest import API, lab_token
from ansible_collections.appops.runbooks.tests.integration.playbooks import Playbooks

pytestmark = pytest.mark.integration

FAST = {"poll_interval": 0.3, "wait_timeout": 120}

# ansible-core says this (at -vvv) when it builds a task's module payload; with pipelining there is
# no AnsiballZ file to name, so this line is what shows that the module ran as a module.
MODULE_PAYLOAD_BUILT = re.compile(r"Using module file \S*/heroku_app_fleet\.py")


def converge(playbooks, task: dict, *, before: t.Callable[[], None], after: t.Callable[[], None]) -> list:
    """check -> apply -> check -> apply; ``before``/``after`` assert the emulator's state."""
    runs = []
    for check, expect_change, verify in ((True, True, before), (False, True, after),
                                         (True, False, after), (False, False, after)):
        run = playbooks.run([task], check=check, diff=True)
        assert run.rc == 0, run.stdout
        assert run.last["changed"] is expect_change, (check, run.last)
        verify()
        runs.append(run.last)
    return runs


def test_maintenance(playbooks, lab_apps):
    app = lab_apps.create("maint")
    task = {"appops.runbooks.heroku_app": {"app": app, "maintenance": True}}
    results = converge(
        playbooks, task,
        before=lambda: assert_equal(lab_apps.state(app)["maintenance"], False),
        after=lambda: assert_equal(lab_apps.state(app)["maintenance"], True),
    )
    assert results[0]["diff"] == {"before": {"maintenance": False}, "after": {"maintenance": True}}
    assert results[1]["app"]["maintenance"] is True

    info = playbooks.run([{"appops.runbooks.heroku_app_info": {"app": app, "include": ["formation", "current_release"]}}],
                         check=True)
    assert info.last["changed"] is False and info.last["app"]["maintenance"] is True
    assert info.last["current_release"]["version"] == lab_apps.state(app)["current_release"]


# A connection plugin next to the playbook that runs locally but is not the local transport, so the
# fleet action must hand the task to the module as it would for a remote host.
NOT_LOCAL_CONNECTION = """
from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    transport = "local_as_remote"
"""


def test_app_fleet_runs_on_the_controller_like_the_module(playbooks, lab_apps, tmp_path):
    apps = [lab_apps.create(f"fleet{index}") for index in range(3)]
    task = {"appops.runbooks.heroku_app_fleet": {"apps": apps, "maintenance": True, "concurrency": 2}}
    results = converge(
        playbooks, task,
        before=lambda: assert_equal([lab_apps.state(app)["maintenance"] for app in apps], [False] * 3),
        after=lambda: assert_equal([lab_apps.state(app)["maintenance"] for app in apps], [True] * 3),
    )
    assert results[0]["diff"] == {"before": {app: {"maintenance": False} for app in apps},
                                  "after": {app: {"maintenance": True} for app in apps}}
    assert results[1]["changed_apps"] == apps and results[3]["requests"] == 1

    # The key from the task's environment (module_defaults without one), the validated spec, no key at -vvvv.
    by_environment = Playbooks(tmp_path, {"group/appops.runbooks.heroku": {"api_url": API, "data_api_url": API}})
    off = by_environment.run([{**{"appops.runbooks.heroku_app_fleet": {"apps": apps, "maintenance": False}},
                               "environment": {"HEROKU_API_KEY": lab_token()}}], diff=True, verbosity=4)
    assert off.rc == 0 and off.last["changed_apps"] == apps, off.stdout[-3000:]
    assert not any(lab_apps.state(app)["maintenance"] for app in apps)
    # Ran in the controller's process: no module payload was built or started.
    assert not MODULE_PAYLOAD_BUILT.search(off.stdout)
    assert lab_token() not in off.stdout
    invalid = playbooks.run([{"appops.runbooks.heroku_app_fleet": {"apps": apps, "concurrency": "many"}}])
    assert invalid.rc != 0 and "concurrency" in invalid.last["msg"], invalid.last

    # On a connection that is not local, the task runs the module itself, with the same result.
    (tmp_path / "connection_plugins").mkdir()
    (tmp_path / "connection_plugins" / "local_as_remote.py").write_text(NOT_LOCAL_CONNECTION)
    remote = playbooks.run([{**task, "vars": {"ansible_connection": "local_as_remote"}}], verbosity=4)
    assert remote.rc == 0 and remote.last["changed_apps"] == apps, remote.stdout[-3000:]
    assert MODULE_PAYLOAD_BUILT.search(remote.stdout) and lab_token() not in remote.stdout
    assert all(lab_apps.state(app)["maintenance"] for app in apps)


def test_an_api_module_runs_in_the_worker_on_a_local_connection_and_as_a_module_elsewhere(
        playbooks, lab_apps, tmp_path):
    app = lab_apps.create("worker")
    task = {"appops.runbooks.heroku_app": {"app": app, "maintenance": True}}
    checked = playbooks.run([task], check=True, diff=True, verbosity=4)
    assert checked.rc == 0 and checked.last["changed"] is True, checked.stdout[-3000:]
    assert checked.last["diff"] == {"before": {"maintenance": False}, "after": {"maintenance": True}}
    assert lab_apps.state(app)["maintenance"] is False
    local = playbooks.run([task], verbosity=4)
    assert local.rc == 0 and local.last["changed"] is True and lab_apps.state(app)["maintenance"] is True
    # Ran in the worker (the api_worker action): no module payload was built or started, no key shown.
    for run in (checked, local):
        assert not re.search(r"Using module file \S*/heroku_app\.py", run.stdout)
        assert lab_token() not in run.stdout
    invalid = playbooks.run([{"appops.runbooks.heroku_app": {"app": app, "maintenance": "perhaps"}}])
    assert invalid.rc != 0 and "maintenance" in invalid.last["msg"] and "perhaps" in invalid.last["msg"]

    # On a connection that is not local the module runs itself, with the same result.
    (tmp_path / "connection_plugins").mkdir()
    (tmp_path / "connection_plugins" / "local_as_remote.py").write_text(NOT_LOCAL_CONNECTION)
    off = {"appops.runbooks.heroku_app": {"app": app, "maintenance": False}}
    remote = playbooks.run([{**off, "vars": {"ansible_connection": "local_as_remote"}}], verbosity=4)
    assert remote.rc == 0 and remote.last["changed"] is True, remote.stdout[-3000:]
    assert re.search(r"Using module file \S*/heroku_app\.py", remote.stdout) and lab_token() not in remote.stdout
    assert lab_apps.state(app)["maintenance"] is False
    assert {key: remote.last["app"][key] for key in ("name", "maintenance")} == {"name": app, "maintenance": False}
    # An async task runs the module too (async_wrapper), with the module's result.
    waited = playbooks.run([{**task, "async": 120, "poll": 1}], verbosity=4)
    assert waited.rc == 0 and waited.last["changed"] is True, waited.stdout[-3000:]
    assert re.search(r"Using module file \S*/heroku_app\.py", waited.stdout)
    assert lab_apps.state(app)["maintenance"] is True


def test_config_vars_values_stay_hidden(playbooks, lab_apps):
    app = lab_apps.create("config", config={"OLD_VAR": "old-secret-value", "KEEP": "1"})
    releases_before = len(lab_apps.state(app)["releases"])
    task = {"appops.runbooks.heroku_config_vars": {"app": app, "config": {"SHEET_ID": "sheet-secret-771"},
                                                   "absent_keys": ["OLD_VAR"]}}
    results = converge(
        playbooks, task,
        before=lambda: assert_equal(lab_apps.state(app)["config_vars"].get("OLD_VAR"), "old-secret-value"),
        after=lambda: assert_subset({"SHEET_ID": "sheet-secret-771", "KEEP": "1"}, lab_apps.state(app)["config_vars"],
                                    absent=["OLD_VAR"]),
    )
    assert results[1]["changed_keys"] == ["SHEET_ID"] and results[1]["removed_keys"] == ["OLD_VAR"]
    # One PATCH made one release; the idempotent runs made none.
    assert len(lab_apps.state(app)["releases"]) == releases_before + 1
    verbose = playbooks.run([task], diff=True, verbosity=3)
    assert verbose.rc == 0 and verbose.last["changed"] is False
    for text in [verbose.stdout] + [json.dumps(r) for r in results]:
        assert "sheet-secret-771" not in text and "old-secret-value" not in text
        assert lab_token() not in text


def test_formation_scale_and_resize(playbooks, lab_apps):
    app = lab_apps.create("scale", formation={"web": {"quantity": 1, "size": "Basic"}, "worker": {"quantity": 0}})
    task = {"appops.runbooks.heroku_formation": {"app": app, "formation": [
        {"type": "web", "quantity": 2, "size": "standard-1x"}, {"type": "worker", "quantity": 0}]}}
    results = converge(
        playbooks, task,
        before=lambda: assert_equal(lab_apps.state(app)["formation"]["web"], {"quantity": 1, "size": "Basic"}),
        after=lambda: assert_equal(lab_apps.state(app)["formation"]["web"], {"quantity": 2, "size": "Standard-1X"}),
    )
    assert results[1]["updates"] == [{"type": "web", "quantity": 2, "dyno_size": {"name": "standard-1x"}}]
    assert lab_apps.state(app)["formation"]["worker"]["quantity"] == 0

    info = playbooks.run([{"appops.runbooks.heroku_formation_info": {"app": app}}])
    assert [(f["type"], f["quantity"]) for f in info.last["formation"]] == [("web", 2), ("worker", 0)]
    assert sorted(d["name"] for d in info.last["dynos"]) == ["web.1", "web.2"]


def test_rollback_to_previous_is_idempotent(playbooks, lab_apps):
    app = lab_apps.create("rollback", releases=5)
    task = {"appops.runbooks.heroku_release": {"app": app, "version": "previous", **FAST}}

    def current() -> dict:
        state = lab_apps.state(app)
        return next(r for r in state["releases"] if r["version"] == state["current_release"])

    results = converge(
        playbooks, task,
        before=lambda: assert_equal((current()["version"], len(lab_apps.state(app)["releases"])), (5, 5)),
        after=lambda: assert_equal((current()["description"], len(lab_apps.state(app)["releases"])),
                                   ("Rollback to v4", 6)),
    )
    assert results[1]["release"]["status"] == "succeeded" and results[1]["target"]["version"] == 4
    assert results[3]["release"]["version"] == 6

    explicit = playbooks.run([{"appops.runbooks.heroku_release": {"app": app, "version": "v4", **FAST}}])
    assert explicit.last["changed"] is False
    listed = playbooks.run([{"appops.runbooks.heroku_release_info": {"app": app, "limit": 2}}])
    assert [r["version"] for r in listed.last["releases"]] == [6, 5]


def test_one_off_command_exit_status(playbooks, lab_apps):
    app = lab_apps.create("run", postgres=True, kind="rails")
    checked = playbooks.run([{"appops.runbooks.heroku_dyno": {"app": app, "state": "run",
                                                              "command": "rails db:migrate", **FAST}}], check=True)
    assert checked.rc == 0 and checked.last["changed"] is True and checked.last["attached"] is False
    assert lab_apps.state(app)["oneoffs"] == {}

    ran = playbooks.run([{"appops.runbooks.heroku_dyno": {"app": app, "state": "run",
                                                          "command": "echo hello from the dyno", **FAST}}])
    assert ran.rc == 0 and ran.last["rc"] == 0
    assert ran.last["stdout_lines"] == ["hello from the dyno"]
    oneoffs = lab_apps.state(app)["oneoffs"]
    assert oneoffs[ran.last["dyno"]["name"]]["exit_status"] == 0

    failed = playbooks.run([{"appops.runbooks.heroku_dyno": {"app": app, "state": "run",
                                                             "command": "echo about to fail; exit 3", **FAST}}])
    assert failed.rc != 0 and failed.last["failed"] is True and failed.last["rc"] == 3
    assert failed.last["stdout_lines"] == ["about to fail"]
    assert "exited with status 3" in failed.last["msg"]


def test_re_run_attaches_to_the_one_off_dyno_still_running(playbooks, lab_apps):
    """A second run of the same command while the first dyno runs reads that dyno; it starts none."""
    app = lab_apps.create("attach", postgres=True, kind="rails")
    # Long enough that the second run, an ansible-playbook start away, finds the dyno still up on a busy machine.
    command = "sleep 20; echo migrated"
    started = playbooks.run([{"appops.runbooks.heroku_dyno": {"app": app, "state": "run", "command": command,
                                                              "wait": False, **FAST}}])
    assert started.rc == 0 and started.last["changed"] is True and started.last["attached"] is False

    attached = playbooks.run([{"appops.runbooks.heroku_dyno": {"app": app, "state": "run", "command": command,
                                                               **FAST}}])
    assert attached.rc == 0, attached.stdout[-3000:]
    assert attached.last["changed"] is False and attached.last["attached"] is True
    assert attached.last["dyno"]["name"] == started.last["dyno"]["name"]
    assert attached.last["rc"] == 0 and attached.last["stdout_lines"] == ["migrated"]
    oneoffs = lab_apps.state(app)["oneoffs"]
    assert list(oneoffs) == [started.last["dyno"]["name"]] and oneoffs[started.last["dyno"]["name"]]["exit_status"] == 0


def test_restart_web_dynos(playbooks, lab_apps):
    app = lab_apps.create("restart")
    booted = lab_apps.state(app)["dynos_booted_at"]
    checked = playbooks.run([{"appops.runbooks.heroku_dyno": {"app": app, "state": "restarted", "type": "web"}}],
                            check=True)
    assert checked.last["changed"] is True and lab_apps.state(app)["dynos_booted_at"] == booted
    done = playbooks.run([{"appops.runbooks.heroku_dyno": {"app": app, "state": "restarted", "type": "web"}}])
    assert done.rc == 0 and done.last["restarted"] == "web dynos"
    assert lab_apps.state(app)["dynos_booted_at"] > booted


@pytest.fixture
def source_server() -> t.Iterator[dict[str, bytes]]:
    """Serves source tarballs on 127.0.0.1 (the emulator fetches only loopback URLs)."""
    blobs: dict[str, bytes] = {}

    class Blobs(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: t.Any) -> None:
            pass

        def do_GET(self) -> None:
            data = blobs.get(self.path.split("?")[0])
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Blobs)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    blobs["__base__"] = f"http://127.0.0.1:{server.server_address[1]}".encode()
    yield blobs
    server.shutdown()
    server.server_close()


def tarball(lab_json: dict) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        data = json.dumps(lab_json).encode()
        info = tarfile.TarInfo("app/lab.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_build_deploys_once_per_source(playbooks, lab_apps, source_server):
    app = lab_apps.create("build")
    blob = tarball({"build_seconds": 0.2})
    source_server["/v1.3.0.tar.gz"] = blob
    base = source_server["__base__"].decode()
    checksum = "SHA256:" + hashlib.sha256(blob).hexdigest()
    task = {"appops.runbooks.heroku_build": {"app": app, "source_url": f"{base}/v1.3.0.tar.gz",
                                             "checksum": checksum, "source_version": "v1.3.0", **FAST}}
    versions = len(lab_apps.state(app)["releases"])
    results = converge(
        playbooks, task,
        before=lambda: assert_equal(len(lab_apps.state(app)["releases"]), versions),
        after=lambda: assert_equal((len(lab_apps.state(app)["releases"]), lab_apps.state(app)["current_release"]),
                                   (versions + 1, versions + 1)),
    )
    assert results[1]["build"]["status"] == "succeeded"
    assert results[1]["release"]["version"] == versions + 1 and results[1]["release"]["status"] == "succeeded"
    assert results[3]["build"]["id"] == results[1]["build"]["id"]

    source_server["/broken.tar.gz"] = tarball({"build": "fail"})
    broken = playbooks.run([{"appops.runbooks.heroku_build": {"app": app, "source_url": f"{base}/broken.tar.gz",
                                                              "source_version": "broken", **FAST}}])
    assert broken.rc != 0 and "failed; output:" in broken.last["msg"]
    assert lab_apps.state(app)["current_release"] == versions + 1


def count_workers(app_state: dict) -> int:
    with psycopg2.connect(app_state["config_vars"]["DATABASE_URL"], connect_timeout=5) as conn:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM workers")
            return cursor.fetchone()[0]


def add_worker(app_state: dict) -> None:
    with psycopg2.connect(app_state["config_vars"]["DATABASE_URL"], connect_timeout=5) as conn:
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO workers (first_name, last_name, email) VALUES ('Late', 'Write', 'late@x.test')")


def attach_while_held(playbooks, lab_apps, app: str, uuid: str):
    """Run a waiting capture while the transfer ``uuid`` is held, and let the transfer go once
    the run is polling it: the run can only have attached, whatever the machine's speed."""
    seq = requests.get(f"{API}/__lab/health", timeout=5).json()["last_request_seq"]
    outcome: dict[str, t.Any] = {}
    runner = threading.Thread(target=lambda: outcome.update(run=playbooks.run(
        [{"appops.runbooks.heroku_pg_backup": {"app": app, "state": "captured", **FAST}}])))
    runner.start()
    polled = f"/client/v11/apps/{app}/transfers/{uuid}"
    try:
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=120)
        while runner.is_alive() and datetime.datetime.now() < deadline:
            log = requests.get(f"{API}/__lab/requests", params={"since": seq}, timeout=5).json()["requests"]
            if any(r["path"] == polled for r in log):
                break
            runner.join(0.2)
    finally:
        lab_apps.knobs(app, transfer_delay_ms=0)
        runner.join(180)
    assert "run" in outcome, "the attaching run did not finish"
    return outcome["run"]


def test_backup_capture_attach_and_restore(playbooks, lab_apps):
    app = lab_apps.create("pg", kind="rails", postgres=True, rows=[12, 4, 6])
    state = lab_apps.state(app)
    assert count_workers(state) == 12

    checked = playbooks.run([{"appops.runbooks.heroku_pg_backup": {"app": app, "state": "captured", **FAST}}],
                            check=True)
    assert checked.last["changed"] is True and lab_apps.state(app)["transfers"] == []
    captured = playbooks.run([{"appops.runbooks.heroku_pg_backup": {"app": app, "state": "captured", **FAST}}])
    assert captured.rc == 0 and captured.last["backup"]["status"] == "succeeded"
    name = captured.last["backup"]["name"]
    assert [(t["num"], t["succeeded"]) for t in lab_apps.state(app)["transfers"]] == [(1, True)]

    # A capture held in flight (the emulator queues it while the knob says so), started without
    # waiting; the next runs attach to it instead of starting another.
    lab_apps.knobs(app, transfer_delay_ms=3_600_000)
    started = playbooks.run([{"appops.runbooks.heroku_pg_backup": {"app": app, "state": "captured", "wait": False}}])
    assert started.last["changed"] is True and started.last["backup"]["status"] == "pending"
    peeked = playbooks.run([{"appops.runbooks.heroku_pg_backup": {"app": app, "state": "captured", "wait": False}}])
    assert peeked.last["changed"] is False and peeked.last["attached"] is True
    assert peeked.last["backup"]["num"] == 2 and peeked.last["backup"]["status"] == "pending"
    attached = attach_while_held(playbooks, lab_apps, app, started.last["backup"]["uuid"])
    assert attached.last["changed"] is False and attached.last["attached"] is True
    assert attached.last["backup"]["num"] == started.last["backup"]["num"] == 2
    assert attached.last["backup"]["status"] == "succeeded"
    assert len(lab_apps.state(app)["transfers"]) == 2
    lab_apps.knobs(app, transfer_delay_ms=100)

    unconfirmed = playbooks.run([{"appops.runbooks.heroku_pg_backup": {
        "app": app, "state": "restored", "backup": name, "confirm": "some-other-app"}}])
    assert unconfirmed.rc != 0 and "set confirm to" in unconfirmed.last["msg"]

    add_worker(lab_apps.state(app))
    assert count_workers(lab_apps.state(app)) == 13
    task = {"appops.runbooks.heroku_pg_backup": {"app": app, "state": "restored", "backup": name, "confirm": app,
                                                 **FAST}}
    results = converge(
        playbooks, task,
        before=lambda: assert_equal(count_workers(lab_apps.state(app)), 13),
        after=lambda: assert_equal(count_workers(lab_apps.state(app)), 12),
    )
    assert results[1]["restore"]["status"] == "succeeded" and results[1]["backup"]["name"] == "b001"
    restores = [t for t in lab_apps.state(app)["transfers"] if t["to_type"] == "pg_restore"]
    assert len(restores) == 1 and restores[0]["succeeded"] is True

    info = playbooks.run([{"appops.runbooks.heroku_pg_backup_info": {"app": app, "backup": name}}])
    assert [b["name"] for b in info.last["backups"]] == ["b002", "b001"]
    assert [r["name"] for r in info.last["restores"]] == ["r003"]
    assert info.last["backup"]["logs"], "verbose info carries the transfer's logs"


def test_a_long_capture_keeps_the_run_s_lock_alive(playbooks, lab_apps, tmp_path):
    app = lab_apps.create("pg", kind="rails", postgres=True, rows=[3, 1, 1])
    lock = tmp_path / "lock.json"
    started = _lock.utc_now().replace(microsecond=0)
    _lock.acquire(str(lock), app, "backup", "ops@host", "mine", 7200, now=started - datetime.timedelta(hours=3))
    lab_apps.knobs(app, transfer_delay_ms=6000)
    run = playbooks.run([{"appops.runbooks.heroku_pg_backup": {
        "app": app, "state": "captured", "poll_interval": 0.5, "lock_path": str(lock), "lock_token": "mine",
        "lock_heartbeat": 1}}])
    assert run.rc == 0 and run.last["backup"]["status"] == "succeeded", run.stdout[-2000:]
    held = _lock.read_lock(str(lock))
    # Marked alive during the wait, not only when the module started (ansible-playbook starts in < 4 s).
    assert held["token"] == "mine" and _lock.parse_time(held["alive_at"]) >= started + datetime.timedelta(seconds=4)


def test_a_long_capture_keeps_a_lock_kept_in_the_state_database_alive(playbooks, lab_apps):
    """The same through lock_backend=postgres: the heartbeat moves alive_at of the lock row."""
    # The state schema of the group's instance: the lab instance's tests clear the lab's schema as they reset.
    dsn = LOCKS_LAB.state_dsn
    app = lab_apps.create("pgstate", kind="rails", postgres=True, rows=[3, 1, 1])
    store = open_backend("postgres", dsn=dsn)
    try:
        store.acquire(app, "backup", "ops@host", "mine-pg", 7200)
        # Last alive three hours ago: only a beat during this run can bring alive_at forward.
        with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
            cursor.execute("UPDATE appops_locks SET alive_at = clock_timestamp() - interval '3 hours' WHERE app = %s",
                           (app,))
        connection.close()
        lab_apps.knobs(app, transfer_delay_ms=6000)
        started = datetime.datetime.now(datetime.timezone.utc)
        run = playbooks.run([{"appops.runbooks.heroku_pg_backup": {
            "app": app, "state": "captured", "poll_interval": 0.5, "lock_token": "mine-pg", "lock_heartbeat": 1,
            "lock_backend": "postgres", "lock_dsn": dsn}}])
        assert run.rc == 0 and run.last["backup"]["status"] == "succeeded", run.stdout[-2000:]
        held = store.read_lock(app)
        # Marked alive in the database during the wait, not only when the module started.
        assert held["token"] == "mine-pg"
        assert _lock.parse_time(held["alive_at"]) >= started.replace(microsecond=0) + datetime.timedelta(seconds=4)
    finally:
        store.release(app, "mine-pg", force=True)
        store.close()


def test_backup_schedule(playbooks, lab_apps):
    app = lab_apps.create("sched", kind="rails", postgres=True)
    task = {"appops.runbooks.heroku_pg_backup": {"app": app, "state": "scheduled", "hour": 2,
                                                 "timezone": "America/Los_Angeles"}}

    def schedules() -> list:
        return [(s["name"], int(s["hour"]), s["timezone"]) for s in lab_apps.state(app)["schedules"]]

    converge(playbooks, task, before=lambda: assert_equal(schedules(), []),
             after=lambda: assert_equal(schedules(), [("DATABASE_URL", 2, "America/Los_Angeles")]))
    removal = {"appops.runbooks.heroku_pg_backup": {"app": app, "state": "unscheduled"}}
    converge(playbooks, removal, before=lambda: assert_equal(len(schedules()), 1),
             after=lambda: assert_equal(schedules(), []))


def test_retries_through_injected_server_errors_and_429(playbooks, lab_apps):
    app = lab_apps.create("faults")
    seq = requests.get(f"{API}/__lab/health", timeout=5).json()["last_request_seq"]
    assert requests.post(f"{API}/__lab/faults", json={"rate_limit_burst": 2}, timeout=5).status_code == 200
    try:
        run = playbooks.run([{"appops.runbooks.heroku_app": {"app": app, "maintenance": True}}])
    finally:
        requests.delete(f"{API}/__lab/faults", timeout=5)
    assert run.rc == 0 and run.last["changed"] is True
    assert lab_apps.state(app)["maintenance"] is True
    log = requests.get(f"{API}/__lab/requests", params={"since": seq}, timeout=5).json()["requests"]
    statuses = [r["status"] for r in log if r["path"] == f"/apps/{app}"]
    assert statuses.count(429) == 2 and statuses[-1] == 200

    # Server errors on reads: retried with backoff until the answer comes (seeded, so repeatable).
    seq = requests.get(f"{API}/__lab/health", timeout=5).json()["last_request_seq"]
    assert requests.post(f"{API}/__lab/faults", json={"error_rate": 0.3, "error_status": 503, "seed": 1},
                         timeout=5).status_code == 200
    try:
        reads = playbooks.run([{"appops.runbooks.heroku_app_info": {"app": app, "include": ["formation", "dynos"]}}])
    finally:
        requests.delete(f"{API}/__lab/faults", timeout=5)
    assert reads.rc == 0 and reads.last["app"]["maintenance"] is True
    log = requests.get(f"{API}/__lab/requests", params={"since": seq}, timeout=5).json()["requests"]
    mine = [(r["path"], r["status"]) for r in log if r["path"].startswith(f"/apps/{app}")]
    assert (f"/apps/{app}", 200) in mine and (f"/apps/{app}/formation", 200) in mine
    assert any(status == 503 for _path, status in mine), f"no injected error hit this run: {mine}"


def assert_equal(actual: t.Any, expected: t.Any) -> None:
    assert actual == expected


def assert_subset(expected: dict, actual: dict, absent: list[str]) -> None:
    assert {k: actual.get(k) for k in expected} == expected
    assert not set(absent) & set(actual)


class AnswerLosingProxy:
    """An HTTP proxy on 127.0.0.1 in front of the emulator that, for the first request matching
    ``method`` and a path ending in ``suffix``, passes the request on and then closes the
    connection without an answer: the server did the work, the client never hears of it."""

    def __init__(self, method: str, suffix: str) -> None:
        proxy = self
        self.lost: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: t.Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(self.command, API + self.path, data=body, headers=headers, timeout=60)
                if self.command == method and self.path.split("?")[0].endswith(suffix) and not proxy.lost:
                    proxy.lost.append(self.path)
                    self.close_connection = True
                    return
                payload = answer.content
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "content-encoding", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> AnswerLosingProxy:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_lost_answers_of_capture_and_restore_start_one_job_each(playbooks, lab_apps):
    app = lab_apps.create("lost", kind="rails", postgres=True, rows=[5, 2, 3])
    with AnswerLosingProxy("POST", "/backups") as proxy:
        captured = playbooks.run([{"appops.runbooks.heroku_pg_backup": {
            "app": app, "state": "captured", "api_url": proxy.url, "data_api_url": proxy.url, **FAST}}])
    assert proxy.lost, "the proxy lost no answer"
    assert captured.rc == 0, captured.stdout
    assert captured.last["changed"] is True and captured.last["backup"]["status"] == "succeeded"
    transfers = lab_apps.state(app)["transfers"]
    assert [(t["num"], t["to_type"], t["succeeded"]) for t in transfers] == [(1, "gof3r", True)]

    add_worker(lab_apps.state(app))
    with AnswerLosingProxy("POST", "/restores") as proxy:
        restored = playbooks.run([{"appops.runbooks.heroku_pg_backup": {
            "app": app, "state": "restored", "backup": "b001", "confirm": app,
            "api_url": proxy.url, "data_api_url": proxy.url, **FAST}}])
    assert proxy.lost, "the proxy lost no answer"
    assert restored.rc == 0, restored.stdout
    assert restored.last["changed"] is True and restored.last["restore"]["status"] == "succeeded"
    restores = [t for t in lab_apps.state(app)["transfers"] if t["to_type"] == "pg_restore"]
    assert len(restores) == 1 and restores[0]["succeeded"] is True
    assert count_workers(lab_apps.state(app)) == 5, "the restore brought the backup's rows back"


def test_lost_answer_of_a_build_builds_once(playbooks, lab_apps, source_server):
    app = lab_apps.create("lostbuild")
    versions = len(lab_apps.state(app)["releases"])
    blob = tarball({"build_seconds": 0.2})
    source_server["/v9.9.9.tar.gz"] = blob
    base = source_server["__base__"].decode()
    with AnswerLosingProxy("POST", "/builds") as proxy:
        built = playbooks.run([{"appops.runbooks.heroku_build": {
            "app": app, "source_url": f"{base}/v9.9.9.tar.gz", "source_version": "v9.9.9",
            "checksum": "SHA256:" + hashlib.sha256(blob).hexdigest(),
            "api_url": proxy.url, "data_api_url": proxy.url, **FAST}}])
    assert proxy.lost, "the proxy lost no answer"
    assert built.rc == 0, built.stdout
    assert built.last["changed"] is True and built.last["build"]["status"] == "succeeded"
    state = lab_apps.state(app)
    # One build, so one new release: a second build would have made two.
    assert (len(state["releases"]), state["current_release"]) == (versions + 1, versions + 1)
