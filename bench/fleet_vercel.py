# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark for Vercel: maintenance on, then off, across 200 emulated Vercel projects.

Run through ``bench/fleet.py --platform vercel``. Compares playbooks/maintenance.yml (the fleet
path: one vercel_project_fleet task per state, which reads every project's env vars, writes
MAINTENANCE_MODE and MAINTENANCE_MESSAGE where they differ and redeploys each changed project
once, the builds side by side) with a sequential loop of the same REST calls, one project at a
time: read the project and its env vars, write the env vars, redeploy, poll until READY, check
production. Both see the same injected latency on every API request.

The emulator is an own instance (ports 18290-18294, state under .lab/bench-vercel-fleet), started
and stopped here, so the shared lab is not touched. Its build times are the emulator's defaults
(queued 0.3 s, building 1.2 s, alias jobs 0.8 s). Its per-endpoint rate limits are Hobby-like (120
deployments and 120 env writes a minute); the bench raises them for both runs, as a team on a
higher plan has them, so that the figures measure latency and builds rather than a rate limit.

A sequential run of 200 projects takes ~15 minutes with these build times, so the loop runs on
the first ``--sequential-projects`` projects (20 by default, 0 for all) and its time is scaled to
the fleet: the loop handles one project after the other, so its time grows linearly with their
number. ``sequential_measured_s`` is what was measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
PORTS = {"VERCEL_EMU_API_PORT": "18290", "VERCEL_EMU_DOMAIN_PORT": "18291", "HEROKU_EMU_PG_PORT": "18292",
         "HEROKU_EMU_REDIS_PORT": "18293", "ATLAS_EMU_FIXZIT_PORT": "18294"}
LAB_DIR = REPO / ".lab" / "bench-vercel-fleet"
API = f"http://127.0.0.1:{PORTS['VERCEL_EMU_API_PORT']}"
TOKEN = "appops_lab_vercel_token"
TEAM_ID = "team_appopsLabTeam0000000001"
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
KEYS = ("MAINTENANCE_MODE", "MAINTENANCE_MESSAGE")
MESSAGE = "Back soon"
# Higher than the emulator's Hobby-like limits a minute (see the module docstring).
RAISED_LIMITS = {"POST /v13/deployments": 5000, "POST /v10/projects/{idOrName}/env": 5000,
                 "PATCH /v9/projects/{idOrName}/env/{id}": 5000, "DELETE /v9/projects/{idOrName}/env/{id}": 5000,
                 "*": 50000}


def lab_script(name: str) -> None:
    env = {**os.environ, **PORTS, "APPOPS_LAB_DIR": str(LAB_DIR), "HEROKU_EMU_CLI_ENV": str(LAB_DIR / "cli.env"),
           "APPOPS_LAB_EMULATORS": "vercel"}
    subprocess.run([str(REPO / "lab" / "emulators" / name)], env=env, check=True, timeout=300,
                   capture_output=True, text=True)


def create_fleet(names: list[str]) -> None:
    """A reset instance with the fleet's projects, each with one READY production deployment."""
    requests.post(f"{API}/__lab/reset", timeout=60).raise_for_status()
    requests.post(f"{API}/__lab/rate-limit", json={"limits": RAISED_LIMITS}, timeout=10).raise_for_status()
    with requests.Session() as admin:
        for name in names:
            admin.post(f"{API}/__lab/projects", json={"name": name, "deployments": 1}, timeout=30).raise_for_status()


def set_latency(latency_ms: int) -> None:
    requests.post(f"{API}/__lab/faults", json={"latency_ms": latency_ms}, timeout=10).raise_for_status()


def last_seq() -> int:
    return int(requests.get(f"{API}/__lab/health", timeout=10).json()["last_request_seq"])


def requests_since(seq: int) -> list[dict[str, t.Any]]:
    return requests.get(f"{API}/__lab/requests", params={"since": seq}, timeout=60).json()


def project_state(name: str) -> dict[str, t.Any]:
    return requests.get(f"{API}/__lab/projects/{name}", timeout=30).json()


def write_inventory(folder: Path, names: list[str], concurrency: int, poll_interval: float) -> Path:
    inventory = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "app_environment": "lab", "vercel_token": TOKEN, "vercel_team_id": TEAM_ID, "vercel_api_url": API,
                 "vercel_fleet_concurrency": concurrency, "vercel_poll_interval": poll_interval,
                 "app_state_dir": str(folder / "state"), "message": MESSAGE},
        "children": {"vercel_apps": {"vars": {"app_platform": "vercel"}, "hosts": {name: None for name in names}}},
    }}
    path = folder / "fleet.json"
    path.write_text(json.dumps(inventory))
    return path


class SequentialLoop:
    """One project after the other on one keep-alive session, the REST calls the fleet task makes."""

    def __init__(self, poll_interval: float) -> None:
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
        self.params = {"teamId": TEAM_ID}
        self.poll_interval = poll_interval

    def call(self, method: str, path: str, **kwargs: t.Any) -> t.Any:
        answer = self.http.request(method, f"{API}{path}", params={**self.params, **kwargs.pop("params", {})},
                                   timeout=60, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def switch(self, name: str, on: bool) -> None:
        project = self.call("GET", f"/v9/projects/{name}")
        envs = self.call("GET", f"/v10/projects/{name}/env", params={"decrypt": "true"})["envs"]
        current = {e["key"]: e for e in envs if "production" in e["target"] and e["key"] in KEYS}
        wanted = {"MAINTENANCE_MODE": "true", "MAINTENANCE_MESSAGE": MESSAGE} if on else {}
        changed = False
        for key in KEYS:
            record = current.get(key)
            if key in wanted and (record is None or record["value"] != wanted[key]):
                self.call("POST", f"/v10/projects/{name}/env", params={"upsert": "true"},
                          json={"key": key, "value": wanted[key], "type": "plain", "target": ["production"]})
                changed = True
            elif key not in wanted and record is not None:
                self.call("DELETE", f"/v9/projects/{name}/env/{record['id']}")
                changed = True
        if changed:
            self.redeploy(project)

    def redeploy(self, project: dict[str, t.Any]) -> None:
        production = project["targets"]["production"]["id"]
        made = self.call("POST", "/v13/deployments", json={"name": project["name"], "project": project["id"],
                                                          "deploymentId": production, "target": "production"})
        while made["readyState"] not in ("READY", "ERROR", "CANCELED"):
            time.sleep(self.poll_interval)
            made = self.call("GET", f"/v13/deployments/{made['id']}")
        if made["readyState"] != "READY":
            raise SystemExit(f"{project['name']}: the redeploy ended {made['readyState']}")
        if self.call("GET", f"/v9/projects/{project['id']}")["targets"]["production"]["id"] != made["id"]:
            raise SystemExit(f"{project['name']}: the redeploy did not take production")

    def run(self, names: list[str], on: bool) -> None:
        for name in names:
            self.switch(name, on)


def build_count(names: list[str]) -> int:
    return sum(sum(1 for d in project_state(name)["deployments"] if not d.get("seeded")) for name in names)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fleet.py --platform vercel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--poll-interval", type=float, default=0.5, help="seconds between reads of a build (both)")
    parser.add_argument("--sequential-projects", type=int, default=20, help="projects the loop runs on (0: all)")
    parser.add_argument("--keep-emulator", action="store_true", help="leave the own emulator instance running")
    args = parser.parse_args(argv)

    from fleet import run_playbook  # the Heroku bench's playbook runner: the same wall time and API time

    names = [f"bench-v-{index:03d}" for index in range(args.projects)]
    sample = names[:args.sequential_projects] if args.sequential_projects > 0 else names
    print(f"starting an own Vercel emulator on {API} ...", flush=True)
    lab_script("lab-up.sh")
    try:
        print(f"creating {len(names)} projects ...", flush=True)
        create_fleet(names)
        knobs = requests.get(f"{API}/__lab/knobs", timeout=10).json()
        build_s = (knobs["queue_ms"] + knobs["build_ms"]) / 1000.0
        set_latency(args.latency_ms)
        with tempfile.TemporaryDirectory() as folder:
            inventory = write_inventory(Path(folder), names, args.concurrency, args.poll_interval)
            playbook = REPO / "playbooks" / "maintenance.yml"
            seq = last_seq()
            playbook_s, api_times = run_playbook(inventory, playbook, Path(folder), ["on", "off"])
            fleet_requests = requests_since(seq)
            builds = build_count(names)
            print(f"playbook (on, then off, one run): {playbook_s:.2f} s, API time {api_times},"
                  f" {len(fleet_requests)} requests, {builds} builds", flush=True)
            if builds != 2 * len(names):
                raise SystemExit(f"expected one redeploy per project each way ({2 * len(names)}), found {builds}")

            seq = last_seq()
            noop_s, _ = run_playbook(inventory, playbook, Path(folder), ["off"])
            noop = requests_since(seq)
            noop_writes = sum(1 for r in noop if r["method"] in WRITE_METHODS)
            print(f"no-op re-run (off again): {noop_s:.2f} s, {len(noop)} requests, {noop_writes} writes", flush=True)

        loop = SequentialLoop(args.poll_interval)
        seq = last_seq()
        started = time.monotonic()
        loop.run(sample, True)
        loop.run(sample, False)
        measured_s = time.monotonic() - started
        loop_requests = requests_since(seq)
        print(f"sequential loop on {len(sample)} projects: {measured_s:.2f} s, {len(loop_requests)} requests",
              flush=True)
    finally:
        requests.delete(f"{API}/__lab/faults", timeout=10)
        if not args.keep_emulator:
            lab_script("lab-down.sh")

    sequential_s = measured_s * len(names) / len(sample)
    figures = {
        "platform": "vercel",
        "fleet_projects": len(names),
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "poll_interval_s": args.poll_interval,
        "build_s": build_s,
        "playbook_s": round(playbook_s, 2),
        "api_s": round(sum(api_times), 2),
        "sequential_measured_projects": len(sample),
        "sequential_measured_s": round(measured_s, 2),
        "sequential_s": round(sequential_s, 2),
        "ratio_vs_sequential": round(sequential_s / playbook_s, 2),
        "builds": builds,
        "requests_per_project": round(len(fleet_requests) / len(names), 2),
        "sequential_requests_per_project": round(len(loop_requests) / len(sample), 2),
        "noop_s": round(noop_s, 2),
        "noop_requests": len(noop),
        "noop_writes": noop_writes,
    }
    print(json.dumps(figures))
    return 0
