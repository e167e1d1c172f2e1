"""The real Vercel CLI (npm vercel@64.0.2) runs the runbooks' commands against the emulator.

The CLI has no environment variable for its API: it is aimed at the emulator by the global
config folder lab-up.sh writes (``-Q DIR``, ``{"api": URL}``). Every CLI process loads
``node_loopback_guard.cjs``, which refuses and records any DNS lookup or connection to a
non-loopback address (the CLI's crash reporter included); each command asserts the record is empty.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from vercel_lab_helpers import API, CLI_ENV, FIXZIT, REPO, domain, project_state, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLI_VERSION = "64.0.2"
CLI_DIR = REPO / ".cache" / "vercel-cli"
CLI_BIN = CLI_DIR / "node_modules" / ".bin" / "vercel"
GUARD = Path(__file__).resolve().parent / "node_loopback_guard.cjs"


def _installed_version() -> str | None:
    package = CLI_DIR / "node_modules" / "vercel" / "package.json"
    return json.loads(package.read_text())["version"] if package.exists() else None


@pytest.fixture(scope="session")
def vercel_cli() -> Path:
    """The pinned CLI, installed into .cache/vercel-cli on first use (about 30 s)."""
    if _installed_version() != CLI_VERSION:
        CLI_DIR.mkdir(parents=True, exist_ok=True)
        # vercel 61-64 pin sandbox@4.4.0, which this registry lacks.
        (CLI_DIR / "package.json").write_text(json.dumps({"name": "appops-vercel-cli", "private": True,
                                                          "overrides": {"sandbox": "4.5.0"}}) + "\n")
        result = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund",
                                 f"vercel@{CLI_VERSION}"], cwd=CLI_DIR, capture_output=True, text=True,
                                check=False, timeout=900)
        assert result.returncode == 0, result.stderr[-2000:]
    assert _installed_version() == CLI_VERSION
    return CLI_BIN


class Cli:
    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        self.guard_log = home / "guard.log"
        settings = dict(line.split("=", 1) for line in CLI_ENV.read_text().splitlines()
                        if "=" in line and not line.startswith("#") and line.startswith(("VERCEL", "NO_")))
        self.config = settings.pop("VERCEL_GLOBAL_CONFIG")
        self.token = settings["VERCEL_TOKEN"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("VERCEL")}
        env.update(settings)
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_DATA_HOME=str(home / ".local"), NODE_OPTIONS=f"--require {GUARD}",
                   APPOPS_GUARD_LOG=str(self.guard_log), TERM="dumb", NO_COLOR="1", FORCE_COLOR="0",
                   VERCEL_PROJECT_ID=settings["VERCEL_PROJECT_ID_FIXZIT"])
        self.env = env
        self.cwd = home

    def __call__(self, *args: str, expect: int = 0, timeout: float = 120) -> str:
        result = subprocess.run([str(self.binary), "-Q", self.config, "--token", self.token, "--non-interactive",
                                 *args], capture_output=True, text=True, check=False, timeout=timeout, env=self.env,
                                cwd=self.cwd, stdin=subprocess.DEVNULL)
        outside = self.guard_log.read_text() if self.guard_log.exists() else ""
        assert outside == "", f"the CLI tried to reach non-loopback hosts:\n{outside}"
        assert result.returncode == expect, f"vercel {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr


@pytest.fixture
def cli(vercel_cli: Path, vercel: requests.Session, tmp_path: Path) -> Cli:
    requests.post(f"{API}/__lab/knobs", json={"build_ms": 300, "alias_job_ms": 300}, timeout=5)
    return Cli(vercel_cli, tmp_path)


def _urls() -> list[str]:
    return [d["url"] for d in project_state(FIXZIT)["deployments"]]


def test_ls_and_inspect(cli: Cli) -> None:
    listing = cli("ls")
    assert all(url in listing for url in _urls()) and "Production" in listing
    out = cli("inspect", _urls()[-1])
    assert project_state(FIXZIT)["deployments"][-1]["id"] in out and "Ready" in out


def test_rollback_then_promote(cli: Cli) -> None:
    newest, oldest = _urls()[0], _urls()[-1]
    assert "rolled back" in cli("rollback", oldest, "--yes")
    state = project_state(FIXZIT)
    assert state["aliases"]["fixzit.com"] == state["deployments"][-1]["id"] and state["builds_today"] == 0
    assert "promoted" in cli("promote", newest, "--yes")
    state = project_state(FIXZIT)
    assert state["aliases"]["fixzit.com"] == state["deployments"][0]["id"] and state["builds_today"] == 0


def test_alias_set(cli: Cli) -> None:
    previous = _urls()[1]
    assert "now points to" in cli("alias", "set", previous, "fixzit.com")
    state = project_state(FIXZIT)
    assert state["aliases"]["fixzit.com"] == state["deployments"][1]["id"]


def test_env_ls_add_rm_and_redeploy(cli: Cli) -> None:
    listing = cli("env", "ls")
    assert "FEATURE_NEW_DASHBOARD" in listing and "lab-nextauth-secret" not in listing
    cli("env", "add", "MAINTENANCE_MODE", "production", "--value", "true", "--yes")
    cli("env", "add", "MAINTENANCE_MESSAGE", "production", "--value", "Back at 10:00 GMT", "--yes")
    assert project_state(FIXZIT)["env"]["MAINTENANCE_MODE@production"] == "true"
    assert domain("fixzit.com", "/api/health").status_code == 200  # not before a new deployment
    out = cli("redeploy", _urls()[0], "--target", "production")
    assert "fixzit.com" in out
    page = domain("fixzit.com", "/api/health")
    assert page.status_code == 503 and "Back at 10:00 GMT" in page.text
    assert project_state(FIXZIT)["builds_today"] == 1
    cli("env", "rm", "MAINTENANCE_MODE", "production", "--yes")
    cli("env", "rm", "MAINTENANCE_MESSAGE", "production", "--yes")
    assert "MAINTENANCE_MODE@production" not in project_state(FIXZIT)["env"]
    cli("redeploy", _urls()[0], "--target", "production")
    wait_for(lambda: domain("fixzit.com", "/api/health").status_code == 200)
    assert project_state(FIXZIT)["builds_today"] == 2


def test_logs(cli: Cli) -> None:
    assert domain("fixzit.com", "/api/health/db").status_code == 503
    out = cli("logs", "--deployment", _urls()[0])
    assert "/api/health/db" in out and "503" in out
