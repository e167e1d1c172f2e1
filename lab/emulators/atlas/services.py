"""Processes of the Atlas lab: one nx-27017 server per cluster and the API server, with pidfiles."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import (CLIENT_ID, CLIENT_SECRET, CLUSTERS, GROUP_ID, HOST, PRIVATE_KEY, PUBLIC_KEY, api_port, api_url,
               cluster_port, cluster_uri, state_dir)

HERE = Path(__file__).resolve().parent
CLI_ENV_BEGIN = "# >>> atlas lab (lab/atlas/lab-up.sh): Atlas API emulator and the lab's MongoDB clusters"
CLI_ENV_END = "# <<< atlas lab"


class ServiceError(RuntimeError):
    pass


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def pid_alive(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def wait_for(port: int, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise ServiceError(f"{what} did not answer on {HOST}:{port} within {seconds:.0f} s\n{tail}")


def spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        return subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)})


def ensure_cluster(spec: dict[str, object]) -> bool:
    """Start the cluster's server when it is not running; True when its data folder is new (seed it)."""
    folder = state_dir() / "clusters" / str(spec["name"])
    port = cluster_port(spec)
    fresh = not (folder / "data").exists()
    if port_open(port):
        return fresh
    (folder / "data").mkdir(parents=True, exist_ok=True)
    spawn([sys.executable, str(HERE / "mongo_server.py"), "--data-dir", str(folder / "data"), "--port", str(port),
           "--pid-file", str(folder / "server.pid"), "--log-file", str(folder / "server.log")], folder / "stdout.log")
    wait_for(port, 30, f"cluster {spec['name']}", folder / "stdout.log")
    return fresh


def ensure_api() -> None:
    if port_open(api_port()):
        return
    folder = state_dir()
    process = spawn([sys.executable, "-m", "atlas", "serve"], folder / "emulator.log")
    (folder / "emulator.pid").write_text(f"{process.pid}\n")
    wait_for(api_port(), 60, "the Atlas emulator", folder / "emulator.log")


def stop_pidfile(pidfile: Path, port: int) -> None:
    pid = pid_alive(pidfile)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (pid_alive(pidfile) == pid or port_open(port)):
            time.sleep(0.1)
        if pid_alive(pidfile) == pid:
            os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def stop_all() -> None:
    stop_pidfile(state_dir() / "emulator.pid", api_port())
    for spec in CLUSTERS:
        stop_pidfile(state_dir() / "clusters" / str(spec["name"]) / "server.pid", cluster_port(spec))


def cli_env_lines() -> list[str]:
    return [
        CLI_ENV_BEGIN,
        f"ATLAS_API_URL={api_url()}",
        f"ATLAS_GROUP_ID={GROUP_ID}",
        f"ATLAS_PUBLIC_KEY={PUBLIC_KEY}",
        f"ATLAS_PRIVATE_KEY={PRIVATE_KEY}",
        f"ATLAS_CLIENT_ID={CLIENT_ID}",
        f"ATLAS_CLIENT_SECRET={CLIENT_SECRET}",
        *(f"{str(spec['app']).upper()}_MONGODB_URI={cluster_uri(spec)}" for spec in CLUSTERS),
        CLI_ENV_END,
    ]


def write_cli_env(path: Path) -> None:
    """Replace only our block (between the markers) in the shared env file; keep it 0600."""
    target = path.resolve()
    existing = target.read_text().splitlines() if target.exists() else []
    kept: list[str] = []
    inside = False
    for line in existing:
        if line == CLI_ENV_BEGIN:
            inside = True
        elif line == CLI_ENV_END and inside:
            inside = False
        elif not inside:
            kept.append(line)
    staged = target.with_name(f".{target.name}.atlas.tmp")
    # A test instance's lab folder may not exist yet on a fresh checkout.
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(kept + cli_env_lines()) + "\n")
    os.chmod(staged, 0o600)
    os.replace(staged, target)
