"""Command line: ``python -m supabase {serve,up,down,status}`` (with PYTHONPATH=lab/emulators)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path

from . import LAB_TOKEN, REPO_ROOT, api_url, state_dir
from . import services


def _tokens(extra: list[str]) -> set[str]:
    tokens = {LAB_TOKEN, *extra}
    tokens.update(t for t in os.environ.get("SUPABASE_EMU_TOKENS", "").split(",") if t)
    return tokens


def _serve(tokens: set[str]) -> None:
    from .lab import Lab
    from .server import serve
    services.ensure_services()
    lab = Lab(tokens)
    lab.start()
    serve(lab)


def _projects() -> list[dict[str, str]]:
    with urllib.request.urlopen(f"{api_url()}/__lab/projects", timeout=10) as response:
        return [{"app": p["app"], "ref": p["ref"], "db_url": p["db_url"]} for p in json.loads(response.read())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supabase-emulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the emulator in the foreground")
    serve.add_argument("--token", action="append", default=[], help="another accepted access token")
    up = sub.add_parser("up", help="start PostgreSQL and the emulator (idempotent)")
    up.add_argument("--token", action="append", default=[], help="another accepted access token")
    up.add_argument("--cli-env", default=str(REPO_ROOT / "lab" / "cli.env"), help="the CLI env file to add to")
    down = sub.add_parser("down", help="stop the emulator (and PostgreSQL unless --keep-services)")
    down.add_argument("--keep-services", action="store_true", help="stop only the emulator")
    sub.add_parser("status", help="exit 0 when the emulator answers")
    args = parser.parse_args(argv)

    if args.command == "serve":
        _serve(_tokens(args.token))
        return 0
    if args.command == "up":
        try:
            services.ensure_services()
            services.start_emulator([f"--token={t}" for t in args.token])
            services.write_cli_env(Path(args.cli_env), _projects())
        except services.ServiceError as error:
            print(f"supabase emulator: {error}", file=sys.stderr)
            return 1
        print(f"supabase emulator up: API {api_url()}  state {state_dir()}")
        return 0
    if args.command == "down":
        services.stop_emulator()
        if not args.keep_services:
            services.stop_services()
        print("supabase emulator down")
        return 0
    healthy = services.emulator_healthy()
    print("up" if healthy else "down")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
