#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore benchmark of the atlas store's logical way against raw mongorestore, on the same dump.

Starts a MongoDB wire-protocol cluster of its own (the lab's nx-27017 launcher,
lab/emulators/atlas/mongo_server.py, on --port, data under <lab>/bench-mongo-restore), fills a
database with --docs documents in two collections, dumps it once with the store's engine
(mongodump --archive --gzip, read back whole), then times, in interleaved rounds, from the same
simulated data loss each time (half of the orders deleted, the customers changed):

  raw       mongorestore --archive=<dump> --gzip --drop   (the runbook's line)
  engine    what the store's restore runs for it (mongodb_restore as the restore flow calls it:
            the archive's sha256 against the manifest, the archive read back, mongorestore
            --drop --nsInclude of each collection, then every document compared with the dump)
  role      ansible-playbook running the atlas role's restore entry point with that backup: the
            engine plus Ansible's own start-up, which the other two do not pay

Every method is checked afterwards (counts equal the dump's), untimed. The cluster is stopped
and its data deleted at the end (unless --keep).

Usage: .venv/bin/python bench/mongo_restore.py [--docs 40000] [--rounds 2] [--quick] [--keep]
The last line of output is one JSON object with the figures; the target is the engine within
1.3x of raw mongorestore.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.appops.runbooks.plugins.module_utils._mongo import procedures  # noqa: E402
from ansible_collections.appops.runbooks.plugins.module_utils._mongo.tools import Tools  # noqa: E402

LAB = Path(os.environ.get("APPOPS_LAB_DIR", REPO / ".lab"))
WORK = LAB / "bench-mongo-restore"
TOOLS_DIR = Path(os.environ.get("ATLAS_EMU_TOOLS_DIR") or LAB / "tools") / "bin"
DATABASE = "benchshop"
METHODS = ("raw", "engine", "role")
TARGET_RATIO = 1.3
STORE_NAME = "main"


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


# ---------------------------------------------------------------------------- the cluster


def start_cluster(port: int) -> subprocess.Popen[bytes]:
    from pymongo import MongoClient

    shutil.rmtree(WORK / "data", ignore_errors=True)
    (WORK / "data").mkdir(parents=True)
    log = (WORK / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, str(REPO / "lab" / "emulators" / "atlas" / "mongo_server.py"),
                               "--data-dir", str(WORK / "data"), "--port", str(port),
                               "--pid-file", str(WORK / "server.pid"), "--log-file", str(WORK / "nx.log")],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            with MongoClient(uri(port), serverSelectionTimeoutMS=500) as client:
                client.admin.command("ping")
            return server
        except Exception:  # pylint: disable=broad-except  # not up yet
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bench cluster on {port} did not start: {(WORK / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)


def stop_cluster(server: subprocess.Popen[bytes], keep: bool) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    if not keep:
        shutil.rmtree(WORK, ignore_errors=True)


def cluster_log_tail(lines: int = 40) -> str:
    text = ""
    for name in ("server.log", "nx.log"):
        path = WORK / name
        if path.exists():
            text += f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
    return text


def uri(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/{DATABASE}"


def fill(port: int, docs: int) -> dict[str, int]:
    from pymongo import MongoClient

    base = datetime.datetime(2024, 1, 1)
    customers = docs // 5
    with MongoClient(uri(port)) as client:
        database = client[DATABASE]
        database.customers.insert_many([{"_id": f"c{i}", "name": f"Customer {i}", "tier": ("free", "pro")[i % 2],
                                         "since": base + datetime.timedelta(days=i % 900)} for i in range(customers)])
        orders = docs - customers
        for start in range(0, orders, 5000):
            database.orders.insert_many([{"n": i, "customerId": f"c{i % max(customers, 1)}",
                                          "status": ("open", "paid", "shipped")[i % 3], "total": round(i * 1.25, 2),
                                          "items": [{"sku": f"sku-{i % 97}", "qty": i % 5 + 1}],
                                          "createdAt": base + datetime.timedelta(minutes=i)}
                                         for i in range(start, min(start + 5000, orders))])
        database.orders.create_index([("customerId", 1), ("status", 1)])
        return {f"{DATABASE}.{name}": database[name].estimated_document_count() for name in ("customers", "orders")}


def simulate_data_loss(port: int) -> None:
    from pymongo import MongoClient

    with MongoClient(uri(port)) as client:
        client[DATABASE].orders.delete_many({"status": "open"})
        client[DATABASE].customers.update_many({"tier": "pro"}, {"$set": {"tier": "lost"}})


def live_counts(port: int) -> dict[str, int]:
    from pymongo import MongoClient

    with MongoClient(uri(port)) as client:
        return {f"{DATABASE}.{name}": client[DATABASE][name].count_documents({}) for name in ("customers", "orders")}


# ---------------------------------------------------------------------------- the methods


def run_raw(port: int, archive: Path) -> float:
    started = time.monotonic()
    done = subprocess.run([str(TOOLS_DIR / "mongorestore"), f"--uri=mongodb://127.0.0.1:{port}/",
                           f"--archive={archive}", "--gzip", "--drop"], capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"mongorestore failed: {done.stderr[-2000:]}")
    return took


def run_engine(port: int, archive: Path, sha256: str) -> float:
    """The forced restore of the restore flow (its plan step has compared just before)."""
    started = time.monotonic()
    tools = Tools(str(TOOLS_DIR))
    tools.versions()
    summary = procedures.read_verified(str(archive), sha256)
    namespaces = procedures.selected_namespaces(summary, [])
    procedures.plan(uri(port), summary, namespaces, archive.name, compare_content=False)
    result = procedures.restore(tools, uri(port), str(archive), summary, namespaces, drop=True)
    took = time.monotonic() - started
    if not result["content_matches"]:
        raise RuntimeError("the engine's restore does not hold the dump's documents")
    return took


def role_playbook(port: int, archive: Path, dump: dict[str, t.Any]) -> Path:
    backup = {"backup_id": "bench", "path": str(archive.parent),
              "manifest": {"stores": [{"name": STORE_NAME, "kind": "atlas", "files": [{"name": archive.name,
                                                                                        "sha256": dump["sha256"]}],
                                       "row_counts": dump["row_counts"]}]}}
    play = [{"name": "Restore the atlas store's backup (bench)", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "Restore", "ansible.builtin.include_role": {"name": "appops.runbooks.atlas",
                                                                           "tasks_from": "restore"},
                        "vars": {"appops_store": {"name": STORE_NAME, "kind": "atlas", "database": DATABASE,
                                                  "uri_env": "BENCH_MONGODB_URI", "tools_dir": str(TOOLS_DIR)},
                                 "appops_backup": backup, "appops_store_planned": True}}]}]
    path = WORK / "role-restore.yml"
    path.write_text(json.dumps(play), encoding="utf-8")
    return path


def run_role(port: int, playbook: Path) -> float:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               BENCH_MONGODB_URI=uri(port))
    started = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
                          capture_output=True, text=True, env=env, cwd=REPO, check=False)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"the role's restore failed: {done.stdout[-3000:]}")
    return took


# ---------------------------------------------------------------------------- the rounds


def round_orders(rounds: int) -> list[list[str]]:
    """Each round in another order, so no method always runs right after the cluster warmed up."""
    return [list(METHODS[i % 3:] + METHODS[:i % 3]) for i in range(rounds)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=40000, help="documents in the database (default 40000)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_MONGO_PORT", "18345")))
    parser.add_argument("--quick", action="store_true", help="5000 documents, one round (smoke test)")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's data and the dump")
    args = parser.parse_args(argv)
    if args.quick:
        args.docs, args.rounds = 5000, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    server = start_cluster(args.port)
    timings: dict[str, list[float]] = {method: [] for method in METHODS}
    try:
        say(f"filling {args.docs} documents")
        seeded = fill(args.port, args.docs)
        archive = Path(tempfile.mkdtemp(dir=WORK)) / f"{STORE_NAME}.archive.gz"
        dump = procedures.dump(Tools(str(TOOLS_DIR)), uri(args.port), DATABASE, str(archive), [], False)
        if dump["row_counts"] != seeded:
            raise RuntimeError(f"the dump holds {dump['row_counts']}, the database {seeded}")
        playbook = role_playbook(args.port, archive, dump)
        for number, order in enumerate(round_orders(args.rounds), 1):
            for method in order:
                simulate_data_loss(args.port)
                if method == "raw":
                    took = run_raw(args.port, archive)
                elif method == "engine":
                    took = run_engine(args.port, archive, dump["sha256"])
                else:
                    took = run_role(args.port, playbook)
                if live_counts(args.port) != dump["row_counts"]:
                    raise RuntimeError(f"{method}: counts after the restore differ from the dump")
                timings[method].append(round(took, 3))
                say(f"round {number}: {method} {took:.2f} s")
    except Exception:  # pylint: disable=broad-except  # re-raised after the log is shown
        # The cluster's own account of a failure (a server that died or closed the connection)
        # goes before the folder holding it is removed.
        say(f"failed; the cluster's server exit status {server.poll()}, its log:\n{cluster_log_tail()}")
        raise
    finally:
        stop_cluster(server, args.keep)
    figures: dict[str, t.Any] = {f"{method}_s": round(statistics.median(values), 3) for method, values in timings.items()}
    figures.update(
        docs=sum(dump["row_counts"].values()), archive_bytes=dump["size"], rounds=args.rounds, runs=timings,
        ratio_engine_vs_raw=round(figures["engine_s"] / figures["raw_s"], 3),
        ratio_role_vs_raw=round(figures["role_s"] / figures["raw_s"], 3),
        target_ratio=TARGET_RATIO, loadavg_before=round(load_before, 2), loadavg_after=round(os.getloadavg()[0], 2),
        tool_versions=Tools(str(TOOLS_DIR)).versions() if TOOLS_DIR.exists() else {})
    figures["engine_within_target"] = figures["ratio_engine_vs_raw"] <= TARGET_RATIO
    say(f"raw mongorestore {figures['raw_s']} s, engine {figures['engine_s']} s (x{figures['ratio_engine_vs_raw']}), "
        f"role via ansible-playbook {figures['role_s']} s (x{figures['ratio_role_vs_raw']})")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
