"""What the fake providers' HTTP servers share (tests/fakes/stripe.py, tests/fakes/twilio.py): a
threaded server on a free port of 127.0.0.1 for the length of a `with` block, a request handler
with keep-alive connections and answers sent without delay (TCP_NODELAY), and the POST of a
signed callback to our web server as the provider sends it. Imports nothing of the tests'."""

from __future__ import annotations

import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit


class FakeHandler(BaseHTTPRequestHandler):
    """A fake's request handler: keep-alive, no log lines, `answer` sends a whole body."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the providers' APIs

    def setup(self) -> None:
        super().setup()
        # Answers leave at once: without it, each waits ~40 ms for the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: object) -> None:
        pass

    def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeServer:
    """A fake provider served while `with fake:` lasts, at `base_url`; subclasses say which
    handler answers (`_handler`, a class bound to the fake)."""

    base_url = ""
    _server: ThreadingHTTPServer | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.daemon_threads = True
        server.request_queue_size = 256
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def callback_post(
    url: str, *, body: bytes, headers: dict[str, str], connect_to: str | None = None, timeout: float = 10.0
) -> int:
    """POST `body` to `url` (or to `connect_to`, "host:port", with the URL's host in the Host
    header, as a proxy in front of our web server would); the status answered."""
    parts = urlsplit(url)
    host, _, port = (connect_to or parts.netloc).partition(":")
    secure = parts.scheme == "https" and not connect_to
    connection = (http.client.HTTPSConnection if secure else http.client.HTTPConnection)(
        host, int(port) if port else None, timeout=timeout
    )
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers={"Host": parts.netloc, **headers})
        return connection.getresponse().status
    finally:
        connection.close()
