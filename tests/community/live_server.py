"""Live help's tests against the ASGI app as production serves it: granian (`--interface asginl
config.asgi:application`, as platform/run.py starts it) in a process of its own, on this test
process's database and cache prefix (so pytest-xdist's two workers each have theirs). The threaded
WSGI server of `site_server` cannot stream: under WSGI Django reads an async stream to its end
before sending any of it. Sessions are made here (`session_cookie`), not by logging in through the
server: its password hashers are production's, not the suite's fast ones."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client

from tests.conftest import host_of
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _wait(port: int, process: subprocess.Popen, seconds: float = 30.0) -> None:
    """Until the server answers (its health page), or fail with its exit."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"granian exited with {process.returncode}"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("granian did not answer in time")


@contextmanager
def asgi_served() -> Iterator[int]:
    """granian serving config.asgi on a free port of the loopback: its port."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "SECRET_KEY": settings.SECRET_KEY,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    command = [
        sys.executable, "-m", "granian", "--interface", "asginl", "config.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-ws", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        _wait(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def session_cookie(brand, user=None) -> str:
    """A session of the brand (logged in as `user` when given), written in its schema: its id."""
    connection.set_tenant(brand)
    client = Client(HTTP_HOST=host_of(brand))
    if user is not None:
        client.force_login(user)
    else:
        session = client.session
        session.save()
        client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class SseReader:
    """A server-sent events client for the tests: `next_event()` reads up to the next event (comments
    skipped) within the connection's timeout."""

    def __init__(self, port: int, host: str, path: str, *, cookie: str = "", last_event_id: str = "") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        headers = {"Host": f"{host}:{port}", "Accept": "text/event-stream"}
        if cookie:
            headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={cookie}"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()

    @property
    def status(self) -> int:
        return self.response.status

    def next_event(self) -> dict:
        fields: dict = {}
        while True:
            line = self.response.readline().decode()
            assert line, "the stream ended"
            line = line.rstrip("\n")
            if not line:
                if "event" in fields or "data" in fields:
                    return fields
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.lstrip(" ")

    def close(self) -> None:
        self.conn.close()
