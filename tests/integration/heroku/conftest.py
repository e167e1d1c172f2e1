# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the Heroku procedures: the playbooks run against the lab's Heroku emulator.

Every test starts from a reset emulator (seed fixture: micmap-api, sc-mvp-production,
sc-mvp-staging). ``HEROKU_API_URL`` / ``HEROKU_ROUTER_URL`` point the tests and the lab
inventory at another emulator instance (default 127.0.0.1:18100 / :18101).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import typing as t
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import pytest
import requests
import yaml

from ansible_collections.appops.runbooks.lab.emulators.heroku.client import healthy, lab_token

REPO = Path(__file__).resolve().parents[3]
API = os.environ.get("HEROKU_API_URL", "http://127.0.0.1:18100").rstrip("/")
ROUTER = os.environ.get("HEROKU_ROUTER_URL", "http://127.0.0.1:18101").rstrip("/")
LAB_DIR = Path(os.environ.get("APPOPS_LAB_DIR", REPO / ".lab"))
# The tables whose counts runbook 003 checks after a restore (Worker, Shift, Assignment).
RUNBOOK_TABLES = ("workers", "shifts", "assignments")
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
# POSTs that only read (attachment lookups, log streams, signed URLs): not side effects.
READ_ONLY_POSTS = ("/actions/addon-attachments/resolve", "/actions/addons/resolve", "/log-sessions",
                   "/actions/public-url")


class Emulator:
    """The emulator's admin API and the apps' own API, as the tests read them."""

    def __init__(self) -> None:
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {lab_token()}",
                                  "Accept": "application/vnd.heroku+json; version=3"})

    def reset(self) -> None:
        answer = requests.post(f"{API}/__lab/reset", timeout=120)
        assert answer.status_code == 200, answer.text
        self.clear_faults()

    def clear_faults(self) -> None:
        requests.delete(f"{API}/__lab/faults", timeout=10)
        requests.post(f"{API}/__lab/rate-limit", json={"capacity": 4500, "refill_per_minute": 75}, timeout=10)

    def faults(self, **faults: t.Any) -> None:
        assert requests.post(f"{API}/__lab/faults", json=faults, timeout=10).status_code == 200

    def state(self, app: str) -> dict[str, t.Any]:
        answer = requests.get(f"{API}/__lab/apps/{app}", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def knobs(self, app: str, **knobs: t.Any) -> None:
        assert requests.post(f"{API}/__lab/apps/{app}/knobs", json=knobs, timeout=10).status_code == 200

    def last_seq(self) -> int:
        return int(requests.get(f"{API}/__lab/health", timeout=10).json()["last_request_seq"])

    def requests_since(self, seq: int) -> list[dict[str, t.Any]]:
        return requests.get(f"{API}/__lab/requests", params={"since": seq}, timeout=30).json()["requests"]

    def writes_since(self, seq: int, *, succeeded_only: bool = True) -> list[str]:
        """Side-effect requests (``METHOD path``) logged after ``seq``; failed attempts left out."""
        return [f"{r['method']} {r['path']}" for r in self.requests_since(seq)
                if r["method"] in WRITE_METHODS and not r["path"].endswith(READ_ONLY_POSTS)
                and (r["status"] < 400 or not succeeded_only)]

    def config_var(self, app: str, key: str) -> str:
        answer = self.http.get(f"{API}/apps/{app}/config-vars", timeout=10)
        answer.raise_for_status()
        return answer.json()[key]

    def config_values(self, app: str) -> list[str]:
        return [v for v in self.http.get(f"{API}/apps/{app}/config-vars", timeout=10).json().values() if len(v) > 4]

    def db(self, app: str) -> t.Any:
        """A connection to the app's real PostgreSQL (its DATABASE_URL)."""
        connection = psycopg2.connect(self.config_var(app, "DATABASE_URL"))
        connection.autocommit = True
        return connection

    def per_table(self, app: str, aggregate: str, tables: t.Iterable[str] = RUNBOOK_TABLES) -> dict[str, t.Any]:
        """SELECT <aggregate> FROM <table> t, for each table of the app's database."""
        connection = self.db(app)
        try:
            with connection.cursor() as cursor:
                values = {}
                for table in tables:
                    cursor.execute(f'SELECT {aggregate} FROM "{table}" t')
                    values[table] = cursor.fetchone()[0]
                return values
        finally:
            connection.close()

    def rows(self, app: str, tables: t.Iterable[str] = RUNBOOK_TABLES) -> dict[str, int]:
        return self.per_table(app, "count(*)", tables)

    def digests(self, app: str, tables: t.Iterable[str] = RUNBOOK_TABLES) -> dict[str, str]:
        """One md5 of every row per table: equal digests, equal data."""
        return self.per_table(app, "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))", tables)

    def health(self, path: str) -> requests.Response:
        return requests.get(f"{ROUTER}/{path}", headers={"Accept": "application/json"}, timeout=10)


@pytest.fixture(scope="session")
def emulator_up() -> str:
    if not healthy(API, timeout=3):
        started = subprocess.run([str(REPO / "lab" / "emulators" / "lab-up.sh")], capture_output=True, text=True,
                                 check=False, timeout=300)
        assert started.returncode == 0, f"lab-up.sh failed:\n{started.stdout}\n{started.stderr}"
    assert healthy(API, timeout=3), f"the Heroku emulator does not answer on {API}"
    return API


def other_platforms_apps() -> list[str]:
    """The lab inventory's apps that are not Heroku apps: their state rows belong to other test groups."""
    groups = yaml.safe_load((REPO / "inventories" / "lab" / "hosts.yml").read_text(encoding="utf-8"))["all"]["children"]
    return sorted(host for name, group in groups.items() if name != "heroku_apps" for host in (group.get("hosts") or {}))


def state_dsn() -> str:
    """The DSN of the lab's state PostgreSQL, as the lab inventory finds it."""
    dsn_file = LAB_DIR / "state" / "dsn"
    return os.environ.get("APPOPS_STATE_DSN") or (dsn_file.read_text(encoding="utf-8").strip() if dsn_file.exists() else "")


def state_query(sql: str, args: tuple[t.Any, ...] = ()) -> list[tuple[t.Any, ...]]:
    """Rows of the lab's state database (the lock rows and run journal of the Heroku apps)."""
    connection = psycopg2.connect(state_dsn())
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('appops_locks') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return []
            cursor.execute(sql, args)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def state_lock(app: str) -> tuple[t.Any, ...] | None:
    """(holder, procedure, token) of the app's lock row in the state database, None when free."""
    rows = state_query("SELECT holder, procedure, token FROM appops_locks WHERE app = %s", (app,))
    return rows[0] if rows else None


@pytest.fixture(scope="session")
def state_up() -> str:
    if not state_dsn():
        started = subprocess.run(["bash", str(REPO / "lab" / "state" / "lab-up.sh")], capture_output=True, text=True,
                                 check=False, timeout=300, env=dict(os.environ, APPOPS_LAB_DIR=str(LAB_DIR)))
        assert started.returncode == 0, f"lab/state/lab-up.sh failed:\n{started.stdout}\n{started.stderr}"
    psycopg2.connect(state_dsn(), connect_timeout=3).close()
    return state_dsn()


@pytest.fixture
def emulator(emulator_up: str, state_up: str) -> t.Iterator[Emulator]:
    """A freshly reset emulator, and no lock, shared document or cached download left by an earlier test."""
    lab = Emulator()
    lab.reset()
    shutil.rmtree(LAB_DIR / "heroku-apps", ignore_errors=True)
    # The Heroku apps keep their lock in the state database (inventories/lab/group_vars), and no
    # shared document (safety-backup list, markers) may name backups of the emulator's last life,
    # nor an unfinished run of it be recovered. The other platforms' apps are other groups'.
    for table in ("appops_locks", "appops_documents", "appops_runs"):
        state_query(f"DELETE FROM {table} WHERE app <> ALL(%s)", (other_platforms_apps(),))
    yield lab
    lab.clear_faults()


@dataclass
class Run:
    rc: int
    raw: str

    @property
    def output(self) -> str:
        """The output with whitespace runs collapsed: the YAML callback folds long messages."""
        return " ".join(self.raw.split())

    @property
    def recap(self) -> dict[str, int]:
        """Counts of the PLAY RECAP line of the (single) host."""
        line = [line for line in self.raw.splitlines() if " : ok=" in line][-1]
        return {key: int(value) for key, value in (part.split("=") for part in line.split(":", 1)[1].split())}

    @property
    def changed(self) -> int:
        return self.recap["changed"]


def run_playbook(playbook: str, limit: str, extra: dict[str, t.Any] | None = None, *, verbosity: int = 0,
                 env: dict[str, str] | None = None, inventory: Path | None = None, timeout: int = 600,
                 extra_file: Path | None = None, check: bool = False) -> Run:
    """ansible-playbook playbooks/<playbook> -l <limit> -e <extra as JSON> [-e @extra_file], against the
    lab inventory. Secrets go in ``extra_file``: at -vvvv ansible-playbook echoes its own command line."""
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                       ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                       HEROKU_API_URL=API, HEROKU_ROUTER_URL=ROUTER)
    environment.pop("HEROKU_API_KEY", None)  # the lab inventory reads it from lab/cli.env
    environment.update(env or {})
    command = [str(Path(sys.executable).parent / "ansible-playbook"),
               "-i", str(inventory or REPO / "inventories" / "lab" / "hosts.yml"),
               str(REPO / "playbooks" / playbook) if "/" not in playbook else playbook, "-l", limit]
    if extra:
        command += ["-e", json.dumps(extra)]
    if extra_file:
        command += ["-e", f"@{extra_file}"]
    if verbosity:
        command.append("-" + "v" * verbosity)
    if check:
        command.append("--check")
    done = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO, timeout=timeout,
                          check=False)
    return Run(done.returncode, done.stdout + done.stderr)


@pytest.fixture
def playbook() -> t.Callable[..., Run]:
    return run_playbook


def source_tarball(runtime: str = "ok", build: str = "ok") -> bytes:
    """A gzipped source tree whose lab.json tells the emulator how the release behaves."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in (("lab.json", json.dumps({"runtime": runtime, "build": build, "build_seconds": 0.2})),
                           ("server.js", "require('http').createServer().listen(process.env.PORT)\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def blobs(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[t.Callable[[str, bytes], str]]:
    """Serve source tarballs on loopback (the emulator only fetches loopback URLs): put(name, data) -> URL."""
    folder = tmp_path_factory.mktemp("blobs")

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def put(name: str, data: bytes) -> str:
        (folder / name).write_bytes(data)
        return f"http://127.0.0.1:{server.server_address[1]}/{name}"

    yield put
    server.shutdown()
