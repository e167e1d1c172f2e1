"""Start and stop what the emulator stands on: a PostgreSQL cluster, Redis, a TLS cert.

The PostgreSQL cluster is the emulator's own (initdb'd under the state folder, 127.0.0.1
only, its own port), so it never touches the host's cluster or another lab part's data.
Everything here is idempotent: calling ``ensure_*`` on a running service is fast.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from . import (API_PORT, HOST, LAB_TOKEN, PG_PORT, REDIS_PORT, REPO_ROOT, api_url,
               state_dir)

PG_BIN = Path(os.environ.get("HEROKU_EMU_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ServiceError(RuntimeError):
    """A lab service could not be brought up."""


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return result


def port_open(port: int, host: str = HOST, timeout: float = 0.3) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


# --------------------------------------------------------------------------- PostgreSQL

def _postgres_can_use(path: Path) -> bool:
    """True when the unprivileged postgres user can reach ``path`` (initdb refuses root)."""
    result = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(path)],
                            capture_output=True, check=False)
    return result.returncode == 0


def pg_root() -> Path:
    """Folder holding the cluster; under the state folder unless postgres cannot reach it."""
    remembered = state_dir() / "pg-root"
    if remembered.exists():
        return Path(remembered.read_text().strip())
    state_dir().mkdir(parents=True, exist_ok=True)
    candidate = state_dir() / "pg"
    if not _postgres_can_use(state_dir()):
        # A repo under a 0700 home: keep the cluster where postgres can live, one per lab folder.
        digest = hashlib.sha256(str(state_dir()).encode()).hexdigest()[:10]
        candidate = Path("/var/lib/postgresql/appops-lab") / f"heroku-{digest}"
    remembered.write_text(str(candidate))
    return candidate


def admin_password() -> str:
    secret_file = state_dir() / "pg-admin.secret"
    if not secret_file.exists():
        state_dir().mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secrets.token_hex(16))
        secret_file.chmod(0o600)
    return secret_file.read_text().strip()


def admin_dsn(dbname: str = "postgres") -> str:
    return f"host={HOST} port={PG_PORT} user=postgres password={admin_password()} dbname={dbname} connect_timeout=3"


def _initdb(data: Path) -> None:
    root = data.parent
    root.mkdir(parents=True, exist_ok=True)
    shutil.chown(root, "postgres", "postgres")
    pwfile = root / ".pwfile"
    pwfile.write_text(admin_password() + "\n")
    shutil.chown(pwfile, "postgres", "postgres")
    pwfile.chmod(0o600)
    try:
        _run(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
              "--auth-local=peer", "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
              "--locale=C.UTF-8"])
    finally:
        pwfile.unlink(missing_ok=True)
    sock = root / "sock"
    sock.mkdir(exist_ok=True)
    shutil.chown(sock, "postgres", "postgres")
    # A lab cluster: loopback only, its own port, durability traded for speed.
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(f"\n# appops lab (heroku emulator)\nlisten_addresses = '{HOST}'\nport = {PG_PORT}\n"
                   f"unix_socket_directories = '{sock}'\nfsync = off\nsynchronous_commit = off\n"
                   "full_page_writes = off\nmax_connections = 100\nshared_buffers = 64MB\n")


def ensure_postgres() -> None:
    if port_open(PG_PORT):
        return
    if not (PG_BIN / "initdb").exists():
        raise ServiceError(f"PostgreSQL 15 binaries not found in {PG_BIN} (apt-get install postgresql-15)")
    data = pg_root() / "data"
    if not (data / "PG_VERSION").exists():
        _initdb(data)
    _run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(data), "-l",
          str(data.parent / "postgresql.log"), "-w", "-t", "60", "start"])


def stop_postgres() -> None:
    data = pg_root() / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                        "-w", "stop"], capture_output=True, check=False)


# --------------------------------------------------------------------------- Redis

def _redis_dir() -> Path:
    return state_dir() / "redis"


def ensure_redis() -> None:
    if port_open(REDIS_PORT):
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceError("redis-server not found (apt-get install redis-server)")
    folder = _redis_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _run([binary, "--port", str(REDIS_PORT), "--bind", HOST, "--daemonize", "yes", "--save", "",
          "--appendonly", "no", "--dir", str(folder), "--pidfile", str(folder / "redis.pid"),
          "--logfile", str(folder / "redis.log")])
    _wait_for(lambda: port_open(REDIS_PORT), 10, "redis")


def stop_redis() -> None:
    _kill_pidfile(_redis_dir() / "redis.pid")


# --------------------------------------------------------------------------- TLS for rendezvous

def cert_paths() -> tuple[Path, Path]:
    return state_dir() / "tls" / "rendezvous.crt", state_dir() / "tls" / "rendezvous.key"


def ensure_cert() -> None:
    """A self-signed cert for 127.0.0.1; the CLI trusts it through NODE_EXTRA_CA_CERTS."""
    cert, key = cert_paths()
    if cert.exists() and key.exists():
        return
    cert.parent.mkdir(parents=True, exist_ok=True)
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj",
          "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
          "-addext", "basicConstraints=critical,CA:TRUE", "-keyout", str(key), "-out", str(cert)])
    key.chmod(0o600)


# --------------------------------------------------------------------------- the emulator process

def _pidfile() -> Path:
    return state_dir() / "emulator.pid"


def _kill_pidfile(pidfile: Path, timeout: float = 10.0) -> None:
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().strip())
    except ValueError:
        pidfile.unlink(missing_ok=True)
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pidfile.unlink(missing_ok=True)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def emulator_healthy() -> bool:
    try:
        with urllib.request.urlopen(f"{api_url()}/__lab/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _wait_for(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise ServiceError(f"{what} did not come up within {timeout:.0f}s")


def start_module(module: str, folder: Path, port: int, healthy: Callable[[], bool], what: str,
                 extra_args: list[str]) -> None:
    """Start ``python -m <module> serve`` in the background (pidfile and log in ``folder``) and wait
    until ``healthy()``; shared by the lab's emulators."""
    if healthy():
        return
    if port_open(port):
        raise ServiceError(f"port {port} is taken by something that is not a healthy emulator")
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "emulator.log").open("ab")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    process = subprocess.Popen([sys.executable, "-m", module, "serve", *extra_args], stdout=log, stderr=log,
                               stdin=subprocess.DEVNULL, env=env, cwd=str(REPO_ROOT), start_new_session=True)
    (folder / "emulator.pid").write_text(str(process.pid))
    try:
        _wait_for(lambda: healthy() or process.poll() is not None, 60, what)
    except ServiceError:
        raise ServiceError(f"emulator did not answer; see {folder / 'emulator.log'}") from None
    if process.poll() is not None:
        raise ServiceError(f"emulator exited with {process.returncode}; see {folder / 'emulator.log'}")


def start_emulator(extra_args: list[str]) -> None:
    start_module("heroku", state_dir(), API_PORT, emulator_healthy, "the Heroku emulator", extra_args)


def stop_emulator() -> None:
    _kill_pidfile(_pidfile())


def write_cli_env(path: Path) -> None:
    """The environment that aims the real Heroku CLI at the emulator (never at heroku.com)."""
    cert, _ = cert_paths()
    lines = [
        "# Generated by lab/emulators/lab-up.sh: aims the Heroku CLI at the local emulator.",
        f"HEROKU_HOST={api_url()}",
        f"HEROKU_API_URL={api_url()}",
        f"HEROKU_DATA_HOST={HOST}",
        f"HEROKU_PARTICLEBOARD_URL={api_url()}",
        f"HEROKU_API_KEY={LAB_TOKEN}",
        "DISABLE_TELEMETRY=true",
        "HEROKU_SKIP_NEW_VERSION_CHECK=true",
        "HEROKU_DISABLE_AUTOUPDATE=true",
        # `heroku run` attaches over TLS to the emulator's rendezvous port.
        f"NODE_EXTRA_CA_CERTS={cert}",
    ]
    # It holds the lab's API token: readable by its owner only, from the first byte on.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an older file keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
