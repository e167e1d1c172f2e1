"""Command line: ``python -m heroku {serve,up,down,status}`` (with PYTHONPATH=lab/emulators)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import LAB_TOKEN, REPO_ROOT, api_url, router_url, state_dir
from . import services


def _tokens(extra: list[str]) -> set[str]:
    tokens = {LAB_TOKEN, *extra}
    tokens.update(t for t in os.environ.get("HEROKU_EMU_TOKENS", "").split(",") if t)
    return tokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heroku-emulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the emulator in the foreground")
    serve.add_argument("--token", action="append", default=[], help="another accepted API token")
    up = sub.add_parser("up", help="start PostgreSQL, Redis and the emulator (idempotent)")
    up.add_argument("--token", action="append", default=[], help="another accepted API token")
    up.add_argument("--cli-env", default=str(REPO_ROOT / "lab" / "cli.env"), help="where to write the CLI env file")
    down = sub.add_parser("down", help="stop the emulator, Redis and PostgreSQL")
    down.add_argument("--keep-services", action="store_true", help="stop only the emulator")
    sub.add_parser("status", help="exit 0 when the emulator answers")
    args = parser.parse_args(argv)

    if args.command == "serve":
        from .server import serve as run
        services.ensure_postgres()
        services.ensure_redis()
        run(_tokens(args.token))
        return 0
    if args.command == "up":
        try:
            services.ensure_postgres()
            services.ensure_redis()
            services.ensure_cert()
            services.start_emulator([f"--token={t}" for t in args.token])
            services.write_cli_env(Path(args.cli_env))
        except services.ServiceError as error:
            print(f"heroku emulator: {error}", file=sys.stderr)
            return 1
        print(f"heroku emulator up: API {api_url()}  apps {router_url()}/<app>/  state {state_dir()}  "
              f"CLI env {args.cli_env}")
        return 0
    if args.command == "down":
        services.stop_emulator()
        if not args.keep_services:
            services.stop_redis()
            services.stop_postgres()
        print("heroku emulator down")
        return 0
    healthy = services.emulator_healthy()
    print("up" if healthy else "down")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
