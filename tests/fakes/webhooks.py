"""A brand's webhook receiver: a real HTTP server on 127.0.0.1 that records every request (method,
path, headers, raw body) and answers what the test says: a status and body, a redirect, or a hang
(it holds the request without answering)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


@dataclass
class Receiver:
    port: int
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0
    released: threading.Event = field(default_factory=threading.Event)
    server_names: list[str | None] = field(default_factory=list)  # TLS: the SNI of each connection

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/loyalty"

    def answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers, self.hang_seconds = status, body, headers or {}, 0.0

    def hang(self, seconds: float) -> None:
        """Hold each request this long (or until the test ends) before answering."""
        self.hang_seconds = seconds


@contextmanager
def webhook_receiver(*, certificate: tuple[str, str] | None = None) -> Iterator[Receiver]:
    """A receiver on a free port of the loopback for the test's duration; over TLS with
    `certificate` (the PEM files of its certificate chain and key), recording the SNI name asked."""
    receiver = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(
                Received(method="POST", path=self.path, headers=dict(self.headers.items()), body=body)
            )
            if receiver.hang_seconds:
                receiver.released.wait(receiver.hang_seconds)
            try:
                self.send_response(receiver.status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)
            except OSError:  # the client gave up waiting
                pass

        do_GET = do_POST

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if certificate:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)

        def named(sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
            receiver.server_names.append(name)

        context.sni_callback = named
        server.socket = context.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
