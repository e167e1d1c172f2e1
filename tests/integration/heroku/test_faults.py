# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The procedures under a flaky API (20 % 5xx, 429 bursts) and with the API down.

They run on an emulator instance of their own (``faults_heroku_lab``): their group runs beside the
other Heroku tests, which share the lab's instance."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.appops.runbooks.tests.integration.faults import FlakyApi, Relay
from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import (
    HerokuLab,
    source_tarball,
)

pytestmark = pytest.mark.integration

STAGING = "sc-mvp-staging"
PROD = "sc-mvp-production"


@pytest.fixture
def heroku_lab(faults_heroku_lab: HerokuLab) -> HerokuLab:
    return faults_heroku_lab


def test_every_procedure_succeeds_on_a_flaky_api_without_duplicate_writes(emulator, playbook, blobs):
    url = blobs("flaky-good.tar.gz", source_tarball())
    app = f"/apps/{STAGING}"
    steps: list[tuple[str, dict, list[str]]] = [
        ("maintenance.yml", {"state": "on"}, [f"PATCH {app}"]),
        ("maintenance.yml", {"state": "on"}, []),
        ("scale.yml", {"service": "web", "replicas": 2, "size": "standard-1x"}, [f"PATCH {app}/formation"]),
        ("scale.yml", {"service": "web", "replicas": 2, "size": "standard-1x"}, []),
        ("rollback.yml", {}, [f"POST {app}/releases"]),
        ("rollback.yml", {}, []),
        ("deploy.yml", {"ref": "v3.0.0", "source_url": url}, [f"POST {app}/builds", f"POST {app}/dynos"]),
        ("deploy.yml", {"ref": "v3.0.0", "source_url": url}, []),
        ("backup.yml", {}, ["backups"]),
        # Maintenance is on already: the restore leaves it on; a safety backup, one restore.
        ("restore.yml", {}, ["backups", "restores"]),
        ("restore.yml", {}, []),
        ("config.yml", {"config": {"FEATURE_FLAG": "on"}}, [f"PATCH {app}/config-vars"]),
        ("config.yml", {"config": {"FEATURE_FLAG": "on"}}, []),
        ("maintenance.yml", {"state": "off"}, [f"PATCH {app}"]),
    ]
    with FlakyApi(emulator):
        for procedure, extra, expected in steps:
            seq = emulator.last_seq()
            run = playbook(procedure, STAGING, extra)
            assert run.rc == 0, f"{procedure} {extra} failed under faults:\n{run.raw[-6000:]}"
            writes = emulator.writes_since(seq)
            # Backups API paths carry the add-on id: compare by their last segment.
            shown = [w.rsplit("/", 1)[-1] if "/client/v11/" in w else w for w in writes]
            assert shown == expected, (procedure, extra, writes)
            failed = [r for r in emulator.requests_since(seq) if r["status"] in (429, 503)]
            print(f"{procedure} {extra}: {len(failed)} injected faults absorbed, writes {shown}")
    state = emulator.state(STAGING)
    assert state["maintenance"] is False
    assert state["formation"]["web"] == {"quantity": 2, "size": "Standard-1X"}
    assert state["config_vars"]["FEATURE_FLAG"] == "on"
    assert [r["description"] for r in state["releases"] if r["description"].startswith("Rollback")] == ["Rollback to v4"]
    assert emulator.rows(STAGING) == {"workers": 40, "shifts": 20, "assignments": 60}


def test_api_unreachable_fails_clearly_and_changes_nothing(emulator, playbook):
    before = {app: emulator.state(app) for app in (STAGING, PROD)}
    # Fail fast: one retry of each request (the modules' own retries outlast 30 s, 60 s for
    # maintenance, by default).
    closed = {"HEROKU_API_URL": "http://127.0.0.1:9", "HEROKU_DATA_API_URL": "http://127.0.0.1:9",
              "APPOPS_API_RETRIES": "1", "APPOPS_API_RETRY_MAX_WAIT": "0"}
    for procedure, app, extra in (("maintenance.yml", STAGING, {"state": "on"}),
                                  ("restore.yml", PROD, {"confirm": PROD}),
                                  ("rollback.yml", PROD, {"confirm": PROD})):
        run = playbook(procedure, app, extra, env=closed)
        assert run.rc != 0
        assert "connection failed" in run.output or "Connection refused" in run.output, run.output[-3000:]
        assert "127.0.0.1:9" in run.output or "/apps/" in run.output
    after = {app: emulator.state(app) for app in (STAGING, PROD)}
    for app in before:
        for key in ("maintenance", "current_release", "formation", "transfers", "config_vars"):
            assert after[app][key] == before[app][key], (app, key)


def test_api_outage_mid_restore_puts_maintenance_back(emulator, playbook):
    """The API goes away right after maintenance went on: the restore fails at its next step (the
    safety backup), before any store was touched, so the always-branch keeps trying until the API
    is back and puts maintenance back off (only a failure after a store began to be replaced
    leaves maintenance on)."""
    outage_s = 12

    def break_after_maintenance_on(relay: Relay) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not emulator.state(PROD)["maintenance"]:
            time.sleep(0.02)
        relay.broken.set()
        # Counted from the first request the outage dropped, not from its start: on a busy
        # machine the restore's next step may come later than the outage would have lasted.
        relay.dropped.wait(120)
        time.sleep(outage_s)
        relay.broken.clear()

    with Relay(emulator.api) as relay:
        watcher = threading.Thread(target=break_after_maintenance_on, args=(relay,), daemon=True)
        watcher.start()
        # The modules would outlast this outage on their own: one retry each, so the restore's
        # next step fails and only the maintenance switch's longer budget outlasts it.
        run = playbook("restore.yml", PROD, {"confirm": PROD, "heroku_maintenance_retry_max_wait": 30},
                       env={"HEROKU_API_URL": relay.url, "HEROKU_DATA_API_URL": relay.url,
                            "APPOPS_API_RETRIES": "1", "APPOPS_API_RETRY_MAX_WAIT": "0"})
        watcher.join(150)
    assert run.rc != 0
    assert "Restore of sc-mvp-production from b001 FAILED" in run.output and "connection failed" in run.output
    state = emulator.state(PROD)
    assert state["maintenance"] is False, "maintenance was left on after the outage"
    assert [t for t in state["transfers"] if t["to_type"] == "pg_restore"] == [], "a restore started"
    assert "Maintenance stays ON" not in run.output
    assert emulator.lab.state_lock(PROD) is None, "the lock was not released"


def test_modules_outlast_an_api_outage_without_task_retries(emulator, playbook):
    """The API is down for 8 s when maintenance is switched: no task-level retry exists, the
    module's own (retry_max_wait, 60 s for maintenance) outlasts the outage."""
    outage_s = 8
    assert emulator.state(STAGING)["maintenance"] is False

    with Relay(emulator.api) as relay:
        relay.broken.set()
        threading.Timer(outage_s, relay.broken.clear).start()
        started = time.monotonic()
        run = playbook("maintenance.yml", STAGING, {"state": "on"},
                       env={"HEROKU_API_URL": relay.url, "HEROKU_DATA_API_URL": relay.url})
        took = time.monotonic() - started
    assert run.rc == 0, run.raw[-4000:]
    assert took >= outage_s, "the run ended before the outage did"
    assert emulator.state(STAGING)["maintenance"] is True
