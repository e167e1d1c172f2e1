# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the Vercel procedures: the playbooks run against the lab's Vercel emulator.

Every test starts from a reset emulator (seed fixture: mysetlist-sonnet, fixzit) with short build
and alias-job times, and the emulator is reset again when the session ends, so the lab is left
as the seed made it. ``VERCEL_API_URL`` / ``VERCEL_DOMAINS_URL`` point the tests and the lab
inventory at another emulator instance (default 127.0.0.1:18200 / :18201).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
import requests

REPO = Path(__file__).resolve().parents[3]
API = os.environ.get("VERCEL_API_URL", "http://127.0.0.1:18200").rstrip("/")
DOMAINS = os.environ.get("VERCEL_DOMAINS_URL", "http://127.0.0.1:18201").rstrip("/")
LAB_DIR = Path(os.environ.get("APPOPS_LAB_DIR", REPO / ".lab"))
# Builds of a fraction of a second keep a deploy, a maintenance switch or a flag flip short.
FAST = {"queue_ms": 50, "build_ms": 250, "alias_job_ms": 100}
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
APPS = ("mysetlist", "fixzit")


class Lab:
    """The emulator's admin API and the projects' domains, as the tests read them."""

    def reset(self) -> None:
        answer = requests.post(f"{API}/__lab/reset", timeout=120)
        assert answer.status_code == 200, answer.text
        self.clear_faults()

    def knobs(self, **knobs: t.Any) -> None:
        answer = requests.post(f"{API}/__lab/knobs", json=knobs, timeout=10)
        assert answer.status_code == 200, answer.text

    def project(self, name: str) -> dict[str, t.Any]:
        answer = requests.get(f"{API}/__lab/projects/{name}", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def deployment(self, project: str, deployment_id: str) -> dict[str, t.Any]:
        return next(d for d in self.project(project)["deployments"] if d["id"] == deployment_id)

    def last_seq(self) -> int:
        return int(requests.get(f"{API}/__lab/health", timeout=10).json()["last_request_seq"])

    def requests_since(self, seq: int) -> list[dict[str, t.Any]]:
        log = requests.get(f"{API}/__lab/requests", params={"since": seq}, timeout=30).json()
        return [r for r in (log["requests"] if isinstance(log, dict) else log) if r["seq"] > seq]

    def writes_since(self, seq: int) -> list[str]:
        """Requests with a side effect (``METHOD path``) logged after ``seq`` that succeeded."""
        return [f"{r['method']} {r['path']}" for r in self.requests_since(seq)
                if r["method"] in WRITES and r["status"] < 400]

    def faults_met(self, seq: int) -> dict[str, int]:
        """How many 429 and 5xx answers the requests logged after ``seq`` met (and, if the run
        succeeded, got past)."""
        logged = self.requests_since(seq)
        return {"429": sum(r["status"] == 429 for r in logged), "5xx": sum(r["status"] >= 500 for r in logged)}

    def faults(self, **faults: t.Any) -> None:
        answer = requests.post(f"{API}/__lab/faults", json=faults, timeout=10)
        assert answer.status_code == 200, answer.text

    def clear_faults(self) -> None:
        requests.delete(f"{API}/__lab/faults", timeout=10)

    def get(self, domain: str, path: str) -> requests.Response:
        return requests.get(f"{DOMAINS}/{domain}{path}", timeout=10)


def builds(writes: list[str]) -> list[str]:
    return [w for w in writes if w == "POST /v13/deployments"]


def alias_moves(writes: list[str]) -> list[str]:
    return [w for w in writes if "/promote/" in w or "/rollback/" in w or w.endswith("/aliases")]


def state_dsn() -> str:
    dsn_file = LAB_DIR / "state" / "dsn"
    return os.environ.get("APPOPS_STATE_DSN") or (dsn_file.read_text(encoding="utf-8").strip() if dsn_file.exists() else "")


def forget_app_state() -> None:
    """No lock, run journal or remembered maintenance values of the two apps left by an earlier run."""
    connection = psycopg2.connect(state_dsn())
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for table in ("appops_locks", "appops_documents", "appops_runs"):
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
                if cursor.fetchone()[0]:
                    cursor.execute(f"DELETE FROM {table} WHERE app = ANY(%s)", (list(APPS),))  # noqa: S608
    finally:
        connection.close()


@pytest.fixture(scope="session")
def lab_up() -> t.Iterator[Lab]:
    try:
        healthy = requests.get(f"{API}/__lab/health", timeout=3).status_code == 200
    except requests.RequestException:
        healthy = False
    assert healthy, f"the Vercel emulator does not answer on {API} (make lab starts it)"
    assert state_dsn(), "the lab's state PostgreSQL is not up (make lab starts it)"
    lab = Lab()
    yield lab
    # Leave the shared lab as the seed made it: projects, env vars, deployments and knobs.
    lab.reset()
    forget_app_state()


@pytest.fixture
def lab(lab_up: Lab) -> Lab:
    lab_up.reset()
    lab_up.knobs(**FAST)
    forget_app_state()
    return lab_up


@dataclass
class Run:
    rc: int
    raw: str

    @property
    def reports(self) -> list[dict[str, t.Any]]:
        """The json callback's documents, one for each playbook of the run."""
        documents, start = [], self.raw.find('{\n    "custom_stats"')
        while start >= 0:
            document, end = json.JSONDecoder().raw_decode(self.raw[start:])
            documents.append(document)
            start = self.raw.find('{\n    "custom_stats"', start + end)
        return documents

    @property
    def published_each(self) -> list[dict[str, dict[str, t.Any]]]:
        """What each playbook of the run published (the global stat appops)."""
        return [report["global_custom_stats"]["appops"] for report in self.reports]

    @property
    def published(self) -> dict[str, dict[str, t.Any]]:
        return self.published_each[-1]


def run_playbooks(playbooks: list[str], limit: str, extra: dict[str, t.Any] | None = None,
                  env: dict[str, str] | None = None) -> Run:
    """ansible-playbook playbooks/<each> -l <limit> -e <extra as JSON> against the lab inventory, with the
    json callback (the outcome CI reads); ``env`` adds to or overrides the environment."""
    environment = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
                   "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                   "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "VERCEL_API_URL": API, "VERCEL_DOMAINS_URL": DOMAINS,
                   **(env or {})}
    environment.pop("VERCEL_TOKEN", None)  # the lab inventory reads it from lab/cli.env
    command = [str(Path(sys.executable).parent / "ansible-playbook"),
               "-i", str(REPO / "inventories" / "lab" / "hosts.yml"),
               *(str(REPO / "playbooks" / name) for name in playbooks), "-l", limit]
    if extra:
        command += ["-e", json.dumps(extra)]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO, timeout=600,
                          check=False)
    return Run(done.returncode, done.stdout + done.stderr)
