"""Launcher: bind the shared listening socket, then hand it to uvicorn.

With host networking, every replica listens on the same 127.0.0.1:18000. SO_REUSEPORT lets
several processes bind that address, and the kernel spreads new connections across them.
"""
from __future__ import annotations

import logging
import socket
import sys

import uvicorn

from coffee_tracker.settings import load_settings


def bind_shared_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def main() -> int:
    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sock = bind_shared_socket(settings.listen_host, settings.listen_port)
    except OSError as exc:
        logging.critical("cannot listen on %s:%s: %s", settings.listen_host,
                         settings.listen_port, exc)
        return 1
    config = uvicorn.Config(
        "coffee_tracker.main:app",
        log_level=settings.log_level,
        access_log=settings.access_log,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=5,
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
