"""The real Heroku CLI (npm heroku@11.10.0) runs the runbooks' commands against the emulator.

Every CLI process loads ``node_loopback_guard.cjs``, which refuses and records any DNS lookup
or connection to a non-loopback address; each command asserts that record stays empty, so
these tests also prove the CLI, set up by lab/cli.env, never phones home.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from heroku_lab_helpers import API, CLI_ENV, REPO, ROUTER, app_state, count_rows, execute, wait_for  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLI_VERSION = "11.10.0"
CLI_DIR = REPO / ".cache" / "heroku-cli"
CLI_BIN = CLI_DIR / "node_modules" / ".bin" / "heroku"
GUARD = Path(__file__).resolve().parent / "node_loopback_guard.cjs"
PROD = "sc-mvp-production"
STAGING = "sc-mvp-staging"
NODE = "micmap-api"


def _installed_version() -> str | None:
    package = CLI_DIR / "node_modules" / "heroku" / "package.json"
    if not package.exists():
        return None
    import json
    return json.loads(package.read_text())["version"]


@pytest.fixture(scope="session")
def heroku_cli() -> Path:
    """The pinned CLI, installed into .cache/heroku-cli on first use (about a minute)."""
    if _installed_version() != CLI_VERSION:
        CLI_DIR.mkdir(parents=True, exist_ok=True)
        package = CLI_DIR / "package.json"
        if not package.exists():
            package.write_text('{"name": "appops-heroku-cli", "private": true}\n')
        result = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund",
                                 f"heroku@{CLI_VERSION}"], cwd=CLI_DIR, capture_output=True, text=True,
                                check=False, timeout=900)
        assert result.returncode == 0, result.stderr[-2000:]
    assert _installed_version() == CLI_VERSION
    return CLI_BIN


class Cli:
    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        self.guard_log = home / "guard.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEROKU_")}
        for line in CLI_ENV.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                env[key] = value
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_DATA_HOME=str(home / ".local"), NODE_OPTIONS=f"--require {GUARD}",
                   APPOPS_GUARD_LOG=str(self.guard_log), TERM="dumb", NO_COLOR="1", FORCE_COLOR="0")
        self.env = env
        # The CLI prints a one-time terms-of-service banner unless its marker exists in its cache.
        (home / ".cache" / "heroku").mkdir(parents=True, exist_ok=True)
        (home / ".cache" / "heroku" / "terms-of-service").touch()

    def __call__(self, *args: str, expect: int = 0, timeout: float = 120) -> str:
        result = subprocess.run([str(self.binary), *args], capture_output=True, text=True, check=False,
                                timeout=timeout, env=self.env, stdin=subprocess.DEVNULL)
        outside = self.guard_log.read_text() if self.guard_log.exists() else ""
        assert outside == "", f"the CLI tried to reach non-loopback hosts:\n{outside}"
        assert result.returncode == expect, f"heroku {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr


@pytest.fixture
def cli(heroku_cli: Path, lab: requests.Session, tmp_path: Path) -> Iterator[Cli]:
    started = time.monotonic()
    yield Cli(heroku_cli, tmp_path)
    print(f"CLI scenario took {time.monotonic() - started:.1f}s")


def test_maintenance_on_and_off(cli: Cli) -> None:
    assert "Enabling maintenance mode" in cli("maintenance:on", "--app", NODE)
    assert app_state(NODE)["maintenance"] is True
    page = requests.get(f"{ROUTER}/{NODE}/health/deep", timeout=5)
    assert page.status_code == 503 and "Application Unavailable - Scheduled Maintenance" in page.text
    assert "on" in cli("maintenance", "--app", NODE)
    cli("maintenance:off", "--app", NODE)
    assert app_state(NODE)["maintenance"] is False
    assert requests.get(f"{ROUTER}/{NODE}/health/deep", timeout=5).status_code == 200


def test_releases_and_rollbacks(cli: Cli) -> None:
    listing = cli("releases", "-a", PROD)
    assert "Current: v9" in listing and "Initial release" in listing
    out = cli("rollback", "-a", PROD)
    assert "to v8" in out and "done, v10" in out
    wait_for(lambda: app_state(PROD)["current_release"] == 10)
    cli("rollback", "v7", "-a", PROD)
    state = wait_for(lambda: (s := app_state(PROD))["current_release"] == 11 and s)
    assert [r["description"] for r in state["releases"][-2:]] == ["Rollback to v8", "Rollback to v7"]
    assert len(state["releases"]) == 11
    assert "v11" in cli("releases", "-a", PROD, "-n", "3")


def test_ps_scale_and_restart(cli: Cli) -> None:
    assert "web.1: up" in cli("ps", "-a", PROD)
    cli("ps:scale", "web=2:standard-1x", "-a", PROD)
    assert app_state(PROD)["formation"]["web"] == {"quantity": 2, "size": "Standard-1X"}
    out = cli("ps:scale", "web=2", "--app", NODE, expect=2)
    assert "Cannot update to more than 1 Eco size dynos" in out
    cli("ps:scale", "web=1:basic", "-a", PROD)
    assert app_state(PROD)["formation"]["web"] == {"quantity": 1, "size": "Basic"}
    booted = app_state(PROD)["dynos_booted_at"]
    cli("restart", "-a", PROD)
    assert app_state(PROD)["dynos_booted_at"] > booted


def test_config_set_and_unset(cli: Cli) -> None:
    assert "MONGODB_URI" in cli("config", "--app", NODE)
    # The lab's micmap cluster (lab/atlas), as the runbook's `heroku config:get MONGODB_URI` reads it.
    assert cli("config:get", "MONGODB_URI", "--app", NODE).startswith("mongodb://127.0.0.1:")
    cli("config:set", "SHEET_ID=new_sheet_id", "--app", NODE)
    cli("config:unset", "CACHE_TTL_SECONDS", "--app", NODE)
    state = app_state(NODE)
    assert state["config_vars"]["SHEET_ID"] == "new_sheet_id" and "CACHE_TTL_SECONDS" not in state["config_vars"]
    assert state["current_release"] == 7 or state["releases"][-1]["version"] == 7


def test_backups_capture_and_restore(cli: Cli) -> None:
    listing = cli("pg:backups", "-a", PROD)
    assert "b001" in listing and "Completed" in listing
    assert "DATABASE_URL: daily at 2:00 America/Los_Angeles" in cli("pg:backups:schedules", "-a", PROD)
    cli("pg:backups:capture", "-a", PROD)
    backup = next(t for t in app_state(PROD)["transfers"] if t["num"] == 2)
    assert backup["succeeded"] and backup["to_type"] == "gof3r"
    execute(PROD, "DROP TABLE assignments")
    cli("pg:backups:restore", "b002", "DATABASE_URL", "-a", PROD, "--confirm", PROD)
    assert count_rows(PROD, "assignments") == 400
    assert "r003" in cli("pg:backups", "-a", PROD)


def test_restore_staging_from_production_url(cli: Cli) -> None:
    url = next(line for line in cli("pg:backups:url", "b001", "-a", PROD).splitlines() if line.startswith("http"))
    assert url.startswith(API)
    execute(STAGING, "DELETE FROM assignments")
    cli("pg:backups:restore", url, "DATABASE_URL", "-a", STAGING, "--confirm", STAGING)
    assert count_rows(STAGING, "workers") == 250 and count_rows(STAGING, "assignments") == 400


def test_run_migrations_and_runner(cli: Cli) -> None:
    out = cli("run", "-a", PROD, "--", "rails", "runner",
              "puts 'Workers: ' + Worker.count.to_s\nputs 'Shifts: ' + Shift.count.to_s")
    assert "Workers: 250" in out and "Shifts: 120" in out
    cli("run", "rails db:migrate", "-a", PROD)
    version = cli("run", "-a", PROD, "--", "rails", "runner",
                  "puts ActiveRecord::Base.connection.migration_context.current_version")
    assert str(app_state(PROD)["release_schema_version"]) in version
    out = cli("run", "--exit-code", "-a", PROD, "--", "sh", "-c", "exit 3", expect=3)
    assert "exited with code 3" in out
