# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the Heroku procedures: the playbooks run against the lab's Heroku emulator.

Every test starts from a reset emulator (seed fixture: micmap-api, sc-mvp-production,
sc-mvp-staging). ``HEROKU_API_URL`` / ``HEROKU_ROUTER_URL`` point the tests and the lab
inventory at another emulator instance (default 127.0.0.1:18100 / :18101).

A test module that overrides the ``heroku_lab`` fixture with ``faults_heroku_lab`` or
``locks_heroku_lab`` runs on an emulator instance of its group's own (FAULTS_LAB, LOCKS_LAB: own
ports, lab folder and state schema), so that its group runs beside the tests on the lab's instance.
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
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class HerokuLab:
    """One emulator instance, and where the playbooks run against it keep their state."""

    api: str
    router: str
    lab_dir: Path
    # An instance of a group's own: what lab-up.sh starts it with. Its apps have the lab's names,
    # so their lock rows and documents go to a schema of their own in the lab's state database.
    ports: dict[str, str] = field(default_factory=dict)
    schema: str = ""

    @property
    def state_dsn(self) -> str:
        """The lab's state database (read when used: the lab may start after import), in ``schema``."""
        dsn = state_dsn()
        if not self.schema:
            return dsn
        if "://" in dsn:
            return f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{self.schema}"
        return f"{dsn} options='-csearch_path={self.schema}'"

    def env(self) -> dict[str, str]:
        """What points the lab inventory (and the modules) at this instance."""
        return {"HEROKU_API_URL": self.api, "HEROKU_ROUTER_URL": self.router, "APPOPS_LAB_DIR": str(self.lab_dir),
                "APPOPS_STATE_DSN": self.state_dsn}

    def run_playbook(self, *args: t.Any, **kwargs: t.Any) -> Run:
        return run_playbook(*args, lab=self, **kwargs)

    def state_query(self, sql: str, args: tuple[t.Any, ...] = ()) -> list[tuple[t.Any, ...]]:
        return state_query(sql, args, self.state_dsn)

    def state_lock(self, app: str) -> tuple[t.Any, ...] | None:
        return state_lock(app, self.state_dsn)

    def lab_env(self) -> dict[str, str]:
        """The environment of lab-up.sh / lab-down.sh for this instance."""
        return {**self.ports, "APPOPS_LAB_DIR": str(self.lab_dir), "APPOPS_LAB_EMULATORS": "heroku",
                "HEROKU_EMU_CLI_ENV": str(self.lab_dir / "heroku" / "cli.env")}


def own_lab(name: str, first_port: int, redis_port: int) -> HerokuLab:
    """A group's own instance: API, router, PostgreSQL, rendezvous on four ports from ``first_port``."""
    names = ("HEROKU_EMU_API_PORT", "HEROKU_EMU_ROUTER_PORT", "HEROKU_EMU_PG_PORT", "HEROKU_EMU_RENDEZVOUS_PORT")
    ports = {key: str(first_port + offset) for offset, key in enumerate(names)}
    return HerokuLab(f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{first_port + 1}",
                     LAB_DIR / f"tests-heroku-{name}", {**ports, "HEROKU_EMU_REDIS_PORT": str(redis_port)},
                     f"heroku_{name}")


SHARED_LAB = HerokuLab(API, ROUTER, LAB_DIR)
# Ports no other group uses (tests/conftest.py names the groups).
FAULTS_LAB = own_lab("faults", 18120, 16397)
LOCKS_LAB = own_lab("locks", 18124, 16394)


class Emulator:
    """The emulator's admin API and the apps' own API, as the tests read them."""

    def __init__(self, lab: HerokuLab = SHARED_LAB) -> None:
        self.lab = lab
        self.api, self.router = lab.api, lab.router
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {lab_token()}",
                                  "Accept": "application/vnd.heroku+json; version=3"})

    def reset(self) -> None:
        answer = requests.post(f"{self.api}/__lab/reset", timeout=120)
        assert answer.status_code == 200, answer.text
        self.clear_faults()

    def clear_faults(self) -> None:
        requests.delete(f"{self.api}/__lab/faults", timeout=10)
        requests.post(f"{self.api}/__lab/rate-limit", json={"capacity": 4500, "refill_per_minute": 75}, timeout=10)

    def faults(self, **faults: t.Any) -> None:
        assert requests.post(f"{self.api}/__lab/faults", json=faults, timeout=10).status_code == 200

    def state(self, app: str) -> dict[str, t.Any]:
        answer = requests.get(f"{self.api}/__lab/apps/{app}", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def knobs(self, app: str, **knobs: t.Any) -> None:
        assert requests.post(f"{self.api}/__lab/apps/{app}/knobs", json=knobs, timeout=10).status_code == 200

    def last_seq(self) -> int:
        return int(requests.get(f"{self.api}/__lab/health", timeout=10).json()["last_request_seq"])

    def requests_since(self, seq: int) -> list[dict[str, t.Any]]:
        return requests.get(f"{self.api}/__lab/requests", params={"since": seq}, timeout=30).json()["requests"]

    def writes_since(self, seq: int, *, succeeded_only: bool = True) -> list[str]:
        """Side-effect requests (``METHOD path``) logged after ``seq``; failed attempts left out."""
        return [f"{r['method']} {r['path']}" for r in self.requests_since(seq)
                if r["method"] in WRITE_METHODS and not r["path"].endswith(READ_ONLY_POSTS)
                and (r["status"] < 400 or not succeeded_only)]

    def config_var(self, app: str, key: str) -> str:
        answer = self.http.get(f"{self.api}/apps/{app}/config-vars", timeout=10)
        answer.raise_for_status()
        return answer.json()[key]

    def config_values(self, app: str) -> list[str]:
        return [v for v in self.http.get(f"{self.api}/apps/{app}/config-vars", timeout=10).json().values() if len(v) > 4]

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
        return requests.get(f"{self.router}/{path}", headers={"Accept": "application/json"}, timeout=10)


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


def create_schema(schema: str) -> None:
    """The group's schema in the lab's state database, made whether or not any run made the state tables yet
    (state_query reads nothing before they exist; a group that starts first finds none)."""
    connection = psycopg2.connect(state_dsn())
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    finally:
        connection.close()


def state_query(sql: str, args: tuple[t.Any, ...] = (), dsn: str = "") -> list[tuple[t.Any, ...]]:
    """Rows of the lab's state database (the lock rows and run journal of the Heroku apps), or of ``dsn``."""
    connection = psycopg2.connect(dsn or state_dsn())
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


def state_lock(app: str, dsn: str = "") -> tuple[t.Any, ...] | None:
    """(holder, procedure, token) of the app's lock row in the state database, None when free."""
    rows = state_query("SELECT holder, procedure, token FROM appops_locks WHERE app = %s", (app,), dsn)
    return rows[0] if rows else None


@pytest.fixture(scope="session")
def state_up() -> str:
    if not state_dsn():
        started = subprocess.run(["bash", str(REPO / "lab" / "state" / "lab-up.sh")], capture_output=True, text=True,
                                 check=False, timeout=300, env=dict(os.environ, APPOPS_LAB_DIR=str(LAB_DIR)))
        assert started.returncode == 0, f"lab/state/lab-up.sh failed:\n{started.stdout}\n{started.stderr}"
    psycopg2.connect(state_dsn(), connect_timeout=3).close()
    return state_dsn()


def lab_script(name: str, lab: HerokuLab) -> None:
    """lab/emulators/<name> (lab-up.sh, lab-down.sh) for the emulator instance ``lab``."""
    done = subprocess.run([str(REPO / "lab" / "emulators" / name)], capture_output=True, text=True, check=False,
                          timeout=300, env={**os.environ, **lab.lab_env()})
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"


def started(lab: HerokuLab) -> t.Iterator[HerokuLab]:
    """A group's own instance, up (lab-up.sh) with its state schema, for the session; then down."""
    lab_script("lab-up.sh", lab)
    assert healthy(lab.api, timeout=3), f"the Heroku emulator does not answer on {lab.api}"
    create_schema(lab.schema)
    yield lab
    lab_script("lab-down.sh", lab)


@pytest.fixture(scope="session")
def faults_heroku_lab(state_up: str) -> t.Iterator[HerokuLab]:
    yield from started(FAULTS_LAB)


@pytest.fixture(scope="session")
def locks_heroku_lab(state_up: str) -> t.Iterator[HerokuLab]:
    yield from started(LOCKS_LAB)


@pytest.fixture
def heroku_lab(emulator_up: str, state_up: str) -> HerokuLab:
    """The instance the tests drive: the lab's, unless a module overrides this with its group's own."""
    return SHARED_LAB


@pytest.fixture
def emulator(heroku_lab: HerokuLab) -> t.Iterator[Emulator]:
    """A freshly reset emulator, and no lock, shared document or cached download left by an earlier test."""
    lab = Emulator(heroku_lab)
    lab.reset()
    shutil.rmtree(heroku_lab.lab_dir / "heroku-apps", ignore_errors=True)
    # The Heroku apps keep their lock in the state database (inventories/lab/group_vars), and no
    # shared document (safety-backup list, markers) may name backups of the emulator's last life,
    # nor an unfinished run of it be recovered. The other platforms' apps are other groups'.
    for table in ("appops_locks", "appops_documents", "appops_runs"):
        heroku_lab.state_query(f"DELETE FROM {table} WHERE app <> ALL(%s)", (other_platforms_apps(),))
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
                 extra_file: Path | None = None, check: bool = False, lab: HerokuLab | None = None) -> Run:
    """ansible-playbook playbooks/<playbook> -l <limit> -e <extra as JSON> [-e @extra_file], against the
    lab inventory (aimed at ``lab``, an instance of its own, when given; ``env`` wins over both).
    Secrets go in ``extra_file``: at -vvvv ansible-playbook echoes its own command line."""
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
                       ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                       HEROKU_API_URL=API, HEROKU_ROUTER_URL=ROUTER)
    environment.pop("HEROKU_API_KEY", None)  # the lab inventory reads it from lab/cli.env
    if lab is not None:
        environment.update(lab.env())
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
def playbook(heroku_lab: HerokuLab) -> t.Callable[..., Run]:
    return run_playbook if heroku_lab is SHARED_LAB else heroku_lab.run_playbook


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
