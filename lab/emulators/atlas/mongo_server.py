"""Run one emulated cluster: nx-27017 (a MongoDB wire-protocol server on SQLite) on 127.0.0.1.

The real ``mongorestore`` 100.7.0 reads ``buildInfo.versionArray`` to pick its behaviour and stops
with "buildInfo.versionArray had fewer than 3 elements" when it is missing; nx-27017 0.8.1 answers
``buildInfo`` with its ``serverStatus`` document, which has only ``version``. This launcher wraps
that handler and adds the fields a real server's ``buildInfo`` carries (``versionArray``,
``gitVersion``, ``modules``, ``bits``, ``maxBsonObjectSize``), then runs nx-27017's own entry point.
It also keeps the index catalog of ``indexes.py`` (index names, key directions, options and
``$indexStats``, which nx-27017 does not keep), so index management works as on a real server.

    python mongo_server.py --data-dir DIR --port 18310 --pid-file F --log-file L
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

BUILD_INFO_DEFAULTS: dict[str, Any] = {
    "gitVersion": "0000000000000000000000000000000000000000",
    "modules": [],
    "bits": 64,
    "maxBsonObjectSize": 16 * 1024 * 1024,
    "storageEngines": ["wiredTiger"],
}


def version_array(version: str) -> list[int]:
    """``"7.0.0"`` -> ``[7, 0, 0, 0]``, the shape a real server reports."""
    numbers = [int(part) if part.isdigit() else 0 for part in version.split(".")[:3]]
    return (numbers + [0, 0, 0])[:3] + [0]


def complete_build_info(document: dict[str, Any]) -> dict[str, Any]:
    document.setdefault("versionArray", version_array(str(document.get("version", "7.0.0"))))
    for key, value in BUILD_INFO_DEFAULTS.items():
        document.setdefault(key, value)
    return document


def patch_build_info() -> None:
    from nx_27017 import handler

    original = handler.NeoSQLiteHandler._handle_server_status
    if getattr(original, "_lab_patched", False):
        return

    def handle_server_status(self: Any, request_id: int, db: Any) -> tuple[int, dict[str, Any]]:
        request_id, document = original(self, request_id, db)
        return request_id, complete_build_info(document)

    handle_server_status._lab_patched = True  # type: ignore[attr-defined]
    handler.NeoSQLiteHandler._handle_server_status = handle_server_status  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--log-file", required=True)
    args = parser.parse_args(argv)
    patch_build_info()
    from pathlib import Path

    from nx_27017 import handler, nx_27017

    from indexes import install  # beside this file (run as a script, not as part of the package)
    install(handler.NeoSQLiteHandler, Path(args.data_dir), args.port)

    # Loopback only: the host is fixed, not an option.
    sys.argv = ["nx-27017", "--data-dir", args.data_dir, "--host", "127.0.0.1", "-p", str(args.port),
                "--pid-file", args.pid_file, "--log-file", args.log_file]
    nx_27017.main()


if __name__ == "__main__":
    main()
