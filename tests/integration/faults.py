# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults done for real to an emulator's API, shared by the platforms' fault tests: a flaky API
(5xx and bursts of 429 through the emulator's fault knobs) and an outage (a relay that drops
every connection)."""

from __future__ import annotations

import socket
import socketserver
import threading
import typing as t


class FlakyApi:
    """20 % of API requests answer 503; every 10 s a burst of three 429s (Retry-After: 1)."""

    def __init__(self, emulator: t.Any, error_rate: float = 0.2, burst: int = 3, every_s: float = 10.0) -> None:
        self.emulator, self.error_rate, self.burst, self.every_s = emulator, error_rate, burst, every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._bursts, daemon=True)

    def _bursts(self) -> None:
        while not self.stop.is_set():
            self.emulator.faults(error_rate=self.error_rate, error_status=503, rate_limit_burst=self.burst)
            self.stop.wait(self.every_s)

    def __enter__(self) -> FlakyApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.emulator.clear_faults()


class Relay:
    """A TCP relay to the emulator's API that can drop every connection (an API outage)."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.split("//", 1)[1].split(":")
        self.upstream = (host, int(port))
        self.broken = threading.Event()
        # Set once the outage dropped a request: the outage is sure to have been seen.
        self.dropped = threading.Event()
        relay = self

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                if relay.broken.is_set():
                    relay.dropped.set()
                    return
                with socket.create_connection(relay.upstream) as server:
                    other = threading.Thread(target=relay.pump, args=(server, self.request), daemon=True)
                    other.start()
                    relay.pump(self.request, server)
                    other.join(5)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Pipe)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if self.broken.is_set():
                    self.dropped.set()
                    break
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> Relay:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
