"""Command line: ``python -m atlas {serve,up,down,status,tools}`` (with PYTHONPATH=lab/emulators)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import CLUSTERS, REPO_ROOT, api_url, cluster_port, cluster_uri, lab_dir, state_dir
from . import services, tools


def up(cli_env: Path) -> int:
    try:
        tools.ensure_all(lab_dir())
        fresh = [spec for spec in CLUSTERS if services.ensure_cluster(spec)]
        if fresh:
            from .seed import seed_cluster
            for spec in fresh:
                seed_cluster(cluster_port(spec), str(spec["app"]))
        services.ensure_api()
        services.write_cli_env(cli_env)
    except (services.ServiceError, tools.ToolInstallError) as error:
        print(f"atlas lab: {error}", file=sys.stderr)
        return 1
    clusters = "  ".join(f"{spec['name']} {cluster_uri(spec)}" for spec in CLUSTERS)
    print(f"atlas lab up: API {api_url()}  {clusters}  state {state_dir()}  CLI env {cli_env}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="atlas-emulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the API emulator in the foreground")
    start = sub.add_parser("up", help="install the Mongo tools, start the clusters and the emulator (idempotent)")
    start.add_argument("--cli-env", default=str(REPO_ROOT / "lab" / "cli.env"))
    sub.add_parser("down", help="stop the emulator and the clusters (state stays)")
    sub.add_parser("status", help="exit 0 when the emulator and every cluster answer")
    sub.add_parser("tools", help="install mongosh, mongodump and mongorestore only")
    args = parser.parse_args(argv)
    if args.command == "serve":
        from .server import serve
        serve()
        return 0
    if args.command == "up":
        return up(Path(args.cli_env))
    if args.command == "down":
        services.stop_all()
        print("atlas lab down")
        return 0
    if args.command == "tools":
        for name, path in tools.ensure_all(lab_dir()).items():
            print(f"{name} {path}")
        return 0
    ports = {"api": services.port_open(int(api_url().rsplit(":", 1)[1]))}
    ports.update({str(spec["name"]): services.port_open(cluster_port(spec)) for spec in CLUSTERS})
    for name, ok in ports.items():
        print(f"{name}: {'up' if ok else 'down'}")
    return 0 if all(ports.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
