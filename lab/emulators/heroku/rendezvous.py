"""Rendezvous for attached one-off dynos (``heroku run``).

The CLI opens TLS to the host and port of ``attach_url``, writes the URL's secret and a
CRLF, discards the first chunk it receives, then prints everything until the socket
closes. The lab serves that on 127.0.0.1 with a self-signed cert the CLI is told to trust.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path

from .lab import Lab
from .oneoff import run_oneoff


class RendezvousServer:
    def __init__(self, lab: Lab, host: str, port: int, cert: Path, key: Path) -> None:
        self.lab = lab
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.sock = socket.create_server((host, port), reuse_port=False)
        self.sock.settimeout(1.0)
        self._stop = threading.Event()

    def serve_forever(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def shutdown(self) -> None:
        self._stop.set()
        self.sock.close()

    def _find(self, secret: str):  # type: ignore[no-untyped-def]
        with self.lab.lock:
            for app in self.lab.apps.values():
                for dyno in app.oneoffs.values():
                    if dyno.secret and dyno.secret == secret:
                        return app, dyno
        return None, None

    def _handle(self, raw: socket.socket) -> None:
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        try:
            conn.settimeout(10)
            secret = self._read_line(conn)
            app, dyno = self._find(secret)
            if dyno is None:
                conn.sendall(b"Dyno not found\r\n")
                return
            conn.sendall(b"rendezvous\r\n")
            # The CLI drops its first data event; give it time to arrive on its own.
            time.sleep(0.3)
            conn.settimeout(None)

            def emit(text: str) -> None:
                try:
                    conn.sendall(text.replace("\n", "\r\n").encode())
                except OSError:
                    pass

            run_oneoff(self.lab, app, dyno, emit)
            self._drain(conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _read_line(conn: ssl.SSLSocket) -> str:
        data = b""
        while not data.endswith(b"\n") and len(data) < 512:
            chunk = conn.recv(1)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace").strip()

    @staticmethod
    def _drain(conn: ssl.SSLSocket) -> None:
        """Read what the CLI sent as stdin (an EOF marker when not a TTY) so closing sends FIN, not RST.

        Reading happens only after the command, in this one thread: an SSL socket must not be
        read and written from two threads at once.
        """
        conn.settimeout(0.2)
        try:
            while conn.recv(4096):
                pass
        except (OSError, ssl.SSLError):
            pass
