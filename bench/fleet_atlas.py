# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark, Atlas part (``bench/fleet.py --platform atlas``): an on-demand snapshot of 200 clusters.

Compares our playbook (playbooks/backup.yml on a play of apps whose one store is an atlas store of
method snapshot: one atlas_snapshot_fleet task that starts the missing snapshots concurrently and
waits for them all) with a sequential loop that, one cluster at a time, asks for an on-demand
snapshot and polls it until it completed (what a shell loop over ``atlas backups snapshots create
... && atlas backups snapshots watch ...`` does, without the CLI's start-up). Then the playbook
again: every cluster has a fresh snapshot, so the re-run must send no write.

It runs an Atlas Admin API emulator of its own (ports 18390 and up, state in a temporary folder),
so it needs no lab lock and leaves the lab's Atlas (18300) alone. Its clusters are empty clusters
(``POST /__lab/clusters``): no MongoDB server behind them, so a snapshot captures an empty data set;
the snapshot jobs' life (queued, inProgress, completed after --snapshot-seconds, one on-demand
snapshot of a cluster at a time) is the emulator's as for any cluster. The emulator's rate limit
(Atlas's 100 requests a minute) is lifted for both sides: a real project of 200 clusters would be
bound by it, the loop and the playbook alike.

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import requests
from requests.auth import HTTPDigestAuth

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lab" / "emulators"))
import atlas  # noqa: E402  the emulator's own constants (credentials, group id)

V2023 = "application/vnd.atlas.2023-01-01+json"
GROUP_PATH = f"/api/atlas/v2/groups/{atlas.GROUP_ID}"
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


def snapshots_path(cluster: str) -> str:
    return f"{GROUP_PATH}/clusters/{cluster}/backup/snapshots"


def cluster_names(count: int) -> list[str]:
    return [f"fleet-{index:03d}" for index in range(count)]


class Instance:
    """An Atlas emulator of its own: API on ``port``, state under ``folder``; only its API (no MongoDB server)."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.folder = folder
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # The seeded clusters' ports (micmap, fixzit) point at nothing: this instance has only empty clusters.
        env = dict(os.environ, ATLAS_EMU_API_PORT=str(self.port), ATLAS_EMU_MICMAP_PORT=str(self.port + 8),
                   ATLAS_EMU_FIXZIT_PORT=str(self.port + 9), APPOPS_LAB_DIR=str(self.folder),
                   PYTHONPATH=str(REPO / "lab" / "emulators"))
        log = (self.folder / "emulator.log").open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "atlas", "serve"], cwd=REPO / "lab" / "emulators",
                                        env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/__lab/health", timeout=2).ok:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the Atlas emulator on {self.port} did not start; see {self.folder / 'emulator.log'}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def admin(self, method: str, path: str, body: t.Any = None) -> t.Any:
        answer = requests.request(method, f"{self.url}/__lab/{path}", json=body, timeout=60)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def prepare(self, names: list[str], snapshot_seconds: float) -> None:
        """Empty clusters, snapshots that take ``snapshot_seconds``, no journal, the rate limit lifted."""
        self.admin("POST", "knobs", {"snapshot_queued_seconds": snapshot_seconds / 4,
                                     "snapshot_progress_seconds": snapshot_seconds * 3 / 4,
                                     "journal_interval": 3600})
        self.admin("POST", "rate-limit", {"capacity": 1_000_000, "refill_per_minute": 1_000_000})
        self.admin("POST", "clusters", {"names": names})

    def set_latency(self, latency_ms: int) -> None:
        self.admin("POST", "faults", {"latency_ms": latency_ms})

    def last_seq(self) -> int:
        return int(self.admin("GET", "health")["last_seq"])

    def requests_since(self, seq: int) -> list[dict[str, t.Any]]:
        return list(self.admin("GET", f"requests?since={seq}"))

    def on_demand_snapshots(self) -> list[dict[str, t.Any]]:
        return [s for s in self.admin("GET", "state")["snapshot"] if s["snapshotType"] == "onDemand"]


@contextlib.contextmanager
def private_instance(port: int, names: list[str], snapshot_seconds: float) -> t.Iterator[Instance]:
    with tempfile.TemporaryDirectory(prefix="atlas-fleet-") as folder:
        instance = Instance(port, Path(folder))
        instance.start()
        try:
            instance.prepare(names, snapshot_seconds)
            yield instance
        finally:
            instance.stop()


def write_inventory(folder: Path, api_url: str, names: list[str], concurrency: int, poll_interval: float) -> Path:
    """One app per cluster, each with one atlas store of method snapshot."""
    hosts = {f"app-{name}": {"app_name": f"app-{name}",
                             "app_data_stores": [{"name": "db", "kind": "atlas", "method": "snapshot",
                                                  "cluster": name, "database": "app"}]} for name in names}
    inventory = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "app_environment": "lab", "app_platform": "heroku",
                 "atlas_api_url": api_url, "atlas_project_id": atlas.GROUP_ID,
                 "atlas_public_key": atlas.PUBLIC_KEY, "atlas_private_key": atlas.PRIVATE_KEY,
                 "atlas_fleet_concurrency": concurrency, "atlas_poll_interval": poll_interval},
        "children": {"atlas_apps": {"hosts": hosts}},
    }}
    path = folder / "atlas-fleet.json"
    path.write_text(json.dumps(inventory))
    return path


def run_backup_playbook(inventory: Path, extra: dict[str, t.Any] | None = None,
                        check: bool = False) -> tuple[float, dict[str, t.Any]]:
    """playbooks/backup.yml on every app of the inventory (``--check`` with ``check``); the wall time and the
    fleet task's result, with what the run published (``published``: the appops stat, by app)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
               str(REPO / "playbooks" / "backup.yml"), "-e", json.dumps(extra or {})] + (["--check"] if check else [])
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"playbook failed (rc {done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout[done.stdout.index("{"):])
    fleet = [result for play in report["plays"] for task in play["tasks"]
             for result in task["hosts"].values() if "changed_clusters" in result]
    if len(fleet) != 1:
        raise SystemExit(f"expected one atlas_snapshot_fleet task (the fleet path), found {len(fleet)}")
    return elapsed, {**fleet[0], "published": report.get("global_custom_stats", {}).get("appops", {})}


def sequential_loop(api_url: str, names: list[str], poll_interval: float) -> None:
    """One cluster at a time on one keep-alive session: ask for a snapshot, poll it until it completed."""
    with requests.Session() as http:
        http.auth = HTTPDigestAuth(atlas.PUBLIC_KEY, atlas.PRIVATE_KEY)
        http.headers.update({"Accept": V2023, "Content-Type": V2023})
        for name in names:
            taken = http.post(f"{api_url}{snapshots_path(name)}", timeout=30,
                              json={"description": "loop backup", "retentionInDays": 1})
            taken.raise_for_status()
            snapshot_id = taken.json()["id"]
            while True:
                state = http.get(f"{api_url}{snapshots_path(name)}/{snapshot_id}", timeout=30)
                state.raise_for_status()
                if state.json()["status"] not in ("queued", "inProgress"):
                    break
                time.sleep(poll_interval)


def writes(records: list[dict[str, t.Any]]) -> int:
    return sum(1 for r in records if r["method"] in WRITE_METHODS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("--platform atlas")
    group.add_argument("--clusters", type=int, default=200)
    group.add_argument("--snapshot-seconds", type=float, default=1.0,
                       help="how long an on-demand snapshot takes in the emulator (queued, then inProgress)")
    group.add_argument("--poll-interval", type=float, default=0.25, help="of the playbook and the loop alike")
    group.add_argument("--atlas-port", type=int, default=18390, help="API port of the bench's own Atlas emulator")


def main(args: argparse.Namespace) -> int:
    names = cluster_names(args.clusters)
    runs: dict[str, list[float]] = {"playbook": [], "sequential": []}
    with private_instance(args.atlas_port, names, args.snapshot_seconds) as instance, \
            tempfile.TemporaryDirectory() as folder:
        print(f"Atlas emulator {instance.url}: {len(names)} empty clusters, snapshots of "
              f"{args.snapshot_seconds:g} s, latency {args.latency_ms} ms", flush=True)
        instance.set_latency(args.latency_ms)
        inventory = write_inventory(Path(folder), instance.url, names, args.concurrency, args.poll_interval)
        # Interleaved rounds (the loop, then the playbook): both see the same machine noise.
        for round_no in range(1, args.rounds + 1):
            seq = instance.last_seq()
            started = time.monotonic()
            sequential_loop(instance.url, names, args.poll_interval)
            sequential_s = time.monotonic() - started
            sequential = instance.requests_since(seq)
            print(f"round {round_no}: sequential loop: {sequential_s:.2f} s, {len(sequential)} requests", flush=True)

            # The loop's snapshots are fresh: with atlas_fleet_fresh_within=0 none is, so the playbook
            # takes a snapshot of every cluster, as the loop did.
            seq = instance.last_seq()
            playbook_s, fleet = run_backup_playbook(inventory, {"atlas_fleet_fresh_within": 0})
            playbook = instance.requests_since(seq)
            assert len(fleet["changed_clusters"]) == len(names), "not every cluster got a snapshot"
            print(f"round {round_no}: playbook: {playbook_s:.2f} s, API time {fleet['elapsed']} s, "
                  f"{len(playbook)} requests, {writes(playbook)} writes", flush=True)
            runs["playbook"].append(round(playbook_s, 2))
            runs["sequential"].append(round(sequential_s, 2))

        completed = {s["_cluster"] for s in instance.on_demand_snapshots() if s["status"] == "completed"}
        assert completed >= set(names), "a cluster has no completed on-demand snapshot"
        seq = instance.last_seq()
        noop_s, noop_fleet = run_backup_playbook(inventory)
        noop = instance.requests_since(seq)
        print(f"no-op re-run: {noop_s:.2f} s, {len(noop)} requests, {writes(noop)} writes", flush=True)

    playbook_s = statistics.median(runs["playbook"])
    sequential_s = statistics.median(runs["sequential"])
    figures = {
        "platform": "atlas",
        "fleet_clusters": len(names),
        "latency_ms": args.latency_ms,
        "snapshot_seconds": args.snapshot_seconds,
        "poll_interval": args.poll_interval,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "playbook_s": round(playbook_s, 2),
        "sequential_s": round(sequential_s, 2),
        "ratio_vs_sequential": round(sequential_s / playbook_s, 2),
        # The fleet task's own time (Ansible's start-up excluded); the floor is one snapshot's time.
        "api_s": fleet["elapsed"],
        "playbook_writes": writes(playbook),
        "playbook_requests_per_cluster": round(len(playbook) / len(names), 2),
        "sequential_requests_per_cluster": round(len(sequential) / len(names), 2),
        "noop_s": round(noop_s, 2),
        "noop_writes": writes(noop),
        "noop_changed_clusters": len(noop_fleet["changed_clusters"]),
        "runs": runs,
    }
    print(json.dumps(figures))
    return 0
