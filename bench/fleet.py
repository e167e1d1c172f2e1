#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark: maintenance on, then off, across 200 emulated Heroku apps.

Compares our playbook (playbooks/maintenance.yml, which switches a fleet of Heroku apps in one
heroku_app_fleet task: one listing of the account's apps, then a PATCH of each app that differs)
with a sequential loop that reads and then writes one app at a time (a plain ``requests`` loop:
what a shell loop over ``heroku maintenance:on -a <app>`` does, without the CLI's start-up),
with a latency injected into every API request by the emulator's admin API.

Usage: .venv/bin/python bench/fleet.py [--apps 200] [--latency-ms 50] [--concurrency 40] [--rounds 3]
       .venv/bin/python bench/fleet.py --platform atlas [--clusters 200] ...  (bench/fleet_atlas.py)
       .venv/bin/python bench/fleet.py --platform vercel [--help]   (bench/fleet_vercel.py)
The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
ADMIN = os.environ.get("HEROKU_EMULATOR_URL", "http://127.0.0.1:18100")
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}

# The emulator's own import root (lab-up.sh runs it as `python -m heroku` from there).
sys.path.insert(0, str(REPO / "lab" / "emulators"))
from heroku.client import healthy, lab_token  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
import fleet_atlas  # noqa: E402  the Atlas part (--platform atlas)


def ensure_emulator() -> None:
    if healthy(ADMIN):
        return
    subprocess.run([str(REPO / "lab" / "emulators" / "lab-up.sh")], check=True, timeout=300)


def fleet_names(count: int) -> list[str]:
    return [f"fleet-{index:03d}" for index in range(count)]


def create_fleet(names: list[str]) -> None:
    """Fresh apps, maintenance off, through the admin API (no faults apply to it)."""
    with requests.Session() as admin:
        for name in names:
            admin.delete(f"{ADMIN}/__lab/apps/{name}", timeout=30)
            answer = admin.post(f"{ADMIN}/__lab/apps", json={"name": name, "releases": 1}, timeout=30)
            answer.raise_for_status()


def delete_fleet(names: list[str]) -> None:
    with requests.Session() as admin:
        for name in names:
            admin.delete(f"{ADMIN}/__lab/apps/{name}", timeout=30)


def refill_rate_limit() -> None:
    """A full bucket (Heroku's 4500 requests, 75 a minute back), as at the start of an hour."""
    requests.post(f"{ADMIN}/__lab/rate-limit", json={"capacity": 4500, "refill_per_minute": 75},
                  timeout=10).raise_for_status()


def set_latency(latency_ms: int) -> None:
    requests.post(f"{ADMIN}/__lab/faults", json={"latency_ms": latency_ms}, timeout=10).raise_for_status()


def clear_faults() -> None:
    requests.delete(f"{ADMIN}/__lab/faults", timeout=10)


def last_seq() -> int:
    return int(requests.get(f"{ADMIN}/__lab/health", timeout=10).json()["last_request_seq"])


def requests_since(seq: int, names: set[str]) -> list[dict[str, t.Any]]:
    """API requests about the fleet's apps logged after ``seq``, and listings of the account's apps
    (``GET /apps``, which read them all); other apps' traffic is ignored."""
    records = requests.get(f"{ADMIN}/__lab/requests", params={"since": seq}, timeout=30).json()["requests"]
    return [r for r in records if is_listing(r) or (r["path"].split("/")[2:3] and r["path"].split("/")[2] in names)]


def is_listing(record: dict[str, t.Any]) -> bool:
    return record["method"] == "GET" and record["path"].split("?")[0].rstrip("/") == "/apps"


def maintenance_states(names: list[str]) -> dict[str, bool]:
    apps = requests.get(f"{ADMIN}/__lab/apps", timeout=30).json()
    return {a["name"]: a["maintenance"] for a in apps if a["name"] in set(names)}


def write_inventory(folder: Path, names: list[str], concurrency: int) -> Path:
    inventory = {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                     "app_environment": "lab", "heroku_api_key": lab_token(), "heroku_api_url": ADMIN,
                     "heroku_data_api_url": ADMIN, "heroku_fleet_concurrency": concurrency},
            "children": {"heroku_apps": {"vars": {"app_platform": "heroku"},
                                         "hosts": {name: None for name in names}}},
        }
    }
    path = folder / "fleet.json"
    path.write_text(json.dumps(inventory))
    return path


def run_playbook(inventory: Path, playbook: Path, folder: Path, states: list[str]) -> tuple[float, list[float]]:
    """One ansible-playbook run that imports ``playbook`` once per state; returns the wall time
    and the API time (``elapsed``) of every heroku_app_fleet task."""
    wrapper = folder / f"fleet-{'-'.join(states)}.yml"
    wrapper.write_text(json.dumps([{"import_playbook": str(playbook), "vars": {"state": state}} for state in states]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(wrapper)]
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"playbook failed (rc {done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout[done.stdout.index("{"):])
    api_times = [result["elapsed"] for play in report["plays"] for task in play["tasks"]
                 for result in task["hosts"].values() if "elapsed" in result and "requests" in result]
    if len(api_times) != len(states):
        raise SystemExit(f"expected {len(states)} fleet tasks (the fleet path), found {len(api_times)}")
    return elapsed, api_times


def sequential_loop(names: list[str], wanted: bool) -> None:
    """One app at a time on one keep-alive session: read the app, PATCH only when it differs."""
    with requests.Session() as http:
        http.headers.update({"Authorization": f"Bearer {lab_token()}",
                             "Accept": "application/vnd.heroku+json; version=3"})
        for name in names:
            app = http.get(f"{ADMIN}/apps/{name}", timeout=30)
            app.raise_for_status()
            if app.json().get("maintenance") != wanted:
                http.patch(f"{ADMIN}/apps/{name}", json={"maintenance": wanted}, timeout=30).raise_for_status()


def other_platform(argv: list[str]) -> int | None:
    """``--platform vercel`` runs bench/fleet_vercel.py with the other arguments (it parses its own);
    heroku and atlas share the parser below."""
    if "--platform" not in argv:
        return None
    at = argv.index("--platform")
    platform, rest = argv[at + 1], argv[:at] + argv[at + 2:]
    if platform in ("heroku", "atlas"):
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    module = __import__(f"fleet_{platform}")
    return module.main(rest)


def main() -> int:
    chosen = other_platform(sys.argv[1:])
    if chosen is not None:
        return chosen
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--playbook", default=str(REPO / "playbooks" / "maintenance.yml"))
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of playbook and loop (medians)")
    parser.add_argument("--keep", action="store_true", help="leave the fleet apps in the emulator")
    parser.add_argument("--platform", choices=["heroku", "atlas", "vercel"], default="heroku")
    fleet_atlas.add_arguments(parser)
    args = parser.parse_args()
    if args.platform == "atlas":
        return fleet_atlas.main(args)

    ensure_emulator()
    names = fleet_names(args.apps)
    name_set = set(names)
    print(f"creating {len(names)} apps in the emulator ...", flush=True)
    create_fleet(names)
    runs: dict[str, list[float]] = {"playbook": [], "sequential": [], "api": []}
    try:
        set_latency(args.latency_ms)
        with tempfile.TemporaryDirectory() as folder:
            inventory = write_inventory(Path(folder), names, args.concurrency)
            # Interleaved rounds (playbook, then the loop): both see the same machine noise.
            for round_no in range(1, args.rounds + 1):
                refill_rate_limit()
                seq = last_seq()
                playbook_s, api_times = run_playbook(inventory, Path(args.playbook), Path(folder), ["on", "off"])
                playbook_requests = requests_since(seq, name_set)
                assert not any(maintenance_states(names).values()), "maintenance is not off for every app"
                on_seen = {r["path"] for r in playbook_requests if r["method"] == "PATCH"}
                assert len(on_seen) == len(names), "not every app was switched"
                print(f"round {round_no}: playbook (on, then off, one run): {playbook_s:.2f} s,"
                      f" API time {api_times}, {len(playbook_requests)} requests", flush=True)

                refill_rate_limit()
                seq = last_seq()
                started = time.monotonic()
                sequential_loop(names, True)
                sequential_loop(names, False)
                sequential_s = time.monotonic() - started
                sequential_requests = requests_since(seq, name_set)
                print(f"round {round_no}: sequential loop: {sequential_s:.2f} s,"
                      f" {len(sequential_requests)} requests", flush=True)
                runs["playbook"].append(round(playbook_s, 2))
                runs["sequential"].append(round(sequential_s, 2))
                runs["api"].append(round(sum(api_times), 2))

            refill_rate_limit()
            seq = last_seq()
            noop_s, _ = run_playbook(inventory, Path(args.playbook), Path(folder), ["off"])
            noop = requests_since(seq, name_set)
            noop_writes = sum(1 for r in noop if r["method"] in WRITE_METHODS)
            print(f"no-op re-run (off again): {noop_s:.2f} s, {len(noop)} requests, {noop_writes} writes", flush=True)
    finally:
        clear_faults()
        if not args.keep:
            delete_fleet(names)

    # The latency-bound limit: every request waits the injected latency and at most
    # `concurrency` of them are in flight. Per state, the playbook's listings (one page of 1,000
    # apps each) come first, then its per-app requests in waves; an app's requests come one after
    # the other.
    listings = sum(1 for r in playbook_requests if is_listing(r))
    per_app = (len(playbook_requests) - listings) / len(names)
    waves = math.ceil(len(names) / args.concurrency)
    latency_bound_s = (listings + 2 * waves * math.ceil(per_app / 2)) * args.latency_ms / 1000.0
    playbook_s = statistics.median(runs["playbook"])
    sequential_s = statistics.median(runs["sequential"])
    api_s = statistics.median(runs["api"])
    figures = {
        "fleet_apps": len(names),
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        # Medians over the rounds; every run in `runs`.
        "playbook_s": round(playbook_s, 2),
        "sequential_s": round(sequential_s, 2),
        "ratio_vs_sequential": round(sequential_s / playbook_s, 2),
        "latency_bound_s": round(latency_bound_s, 2),
        "ratio_vs_bound": round(playbook_s / latency_bound_s, 2),
        # The fleet tasks' own API time against the same bound (Ansible's start-up and the
        # validation tasks excluded).
        "api_s": round(api_s, 2),
        "api_ratio_vs_bound": round(api_s / latency_bound_s, 2),
        # Per app, without the listings (`listings`: GET /apps pages, each read the whole fleet).
        "requests_per_app": round(per_app, 2),
        "listings": listings,
        "sequential_requests_per_app": round(len(sequential_requests) / len(names), 2),
        "noop_s": round(noop_s, 2),
        "noop_writes": noop_writes,
        "runs": runs,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
