#!/usr/bin/env python3
"""A streaming replica of the embedded PostgreSQL (platform/embedded.py), for the tests of the
read-only pages' router (tests/platform/test_replica.py) and for trying it on a developer's machine
(docs/production.md, "Streaming replica").

Usage:
    python platform/replica.py start [PORT]   make a replica of the running embedded server, start it
                                              on PORT (default 54339), wait until it has caught up,
                                              print its DATABASE_REPLICA_URL
    python platform/replica.py stop [PORT]    stop it and delete its data

The replica is a copy of the whole cluster taken with `pg_basebackup -R` (every database, the test
databases included), streaming the primary's WAL from then on: what the primary commits shows on
the replica once replayed. It is throwaway: it runs without fsync (its crash is no loss, it is made
again), and `stop` deletes it and drops its replication slot on the primary (the slot keeps the
WAL it has not received yet, from before the copy starts). Under root it runs as the embedded
server's user (loyalty_pg), its folder next to the server's data
(/var/lib/loyalty-pg/<key>/replica-<port>/).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 54339
# The standby refuses to start when one of these is below the primary's (PostgreSQL's hot standby
# rules): taken from the running primary.
PRIMARY_LIMITS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


class ReplicaError(Exception):
    """The replica could not be made, started or caught up; the message is one line for the user."""


def _embedded() -> ModuleType:
    """platform/embedded.py (`platform` is not a package: it would shadow the standard library's)."""
    spec = importlib.util.spec_from_file_location("loyalty_embedded", ROOT / "platform" / "embedded.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Replica:
    port: int
    folder: Path  # data/ and replica.log, deleted by replica_stop

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "replica.log"

    @property
    def slot(self) -> str:
        return f"loyalty_replica_{self.port}"

    def url(self, *, database: str = "loyalty") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


def _dsn(port: int, database: str = "postgres") -> str:
    return f"host=127.0.0.1 port={port} user=postgres dbname={database} connect_timeout=5"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def replica_of(*, port: int) -> Replica:
    """Where the replica on `port` lives (whether it exists or not)."""
    embedded = _embedded()
    server = embedded.Postgres()
    parent = server.home if server.as_root else embedded.VAR
    return Replica(port=port, folder=parent / f"replica-{port}")


def replica_start(*, port: int | None = None, fsync: bool = False, timeout: float = 120.0) -> Replica:
    """A replica of the running embedded server on `port` (a free one if None), started and caught up.
    On failure whatever was made is stopped and deleted."""
    embedded = _embedded()
    server = embedded.Postgres()
    if server.external:
        raise ReplicaError("DATABASE_URL names an external server: make its replica as its docs say")
    if not server.running():
        raise ReplicaError(f"the embedded PostgreSQL does not run on port {embedded.PG_PORT}")
    replica = replica_of(port=port or free_port())
    if replica.folder.exists():
        raise ReplicaError(f"{replica.folder} exists: `python platform/replica.py stop {replica.port}` first")
    with psycopg.connect(_dsn(embedded.PG_PORT), autocommit=True) as primary:
        limits = {name: primary.execute(f"SHOW {name}").fetchone()[0] for name in PRIMARY_LIMITS}  # type: ignore[index]
    replica.folder.mkdir(mode=0o700, parents=True)
    try:
        if server.as_root:
            account = pwd.getpwnam(embedded.PG_SYSTEM_USER)
            os.chown(replica.folder, account.pw_uid, account.pw_gid)
        # -R: standby.signal and primary_conninfo written; -X stream: the WAL of the copy's own time
        # streamed alongside, so it starts consistent; -c fast: no wait for the next checkpoint; -N:
        # no fsync of the copy (throwaway). -C -S: a slot made before the copy starts keeps every
        # WAL segment from its start (without it, under a heavy write load, the primary recycled a
        # segment before the stream's temporary slot existed: "requested WAL segment ... has already
        # been removed"), then the replica's (primary_slot_name), dropped by replica_stop.
        backup = [str(server.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(embedded.PG_PORT)]
        backup += ["-U", "postgres", "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast", "-N"]
        backup += ["-C", "-S", replica.slot]
        _slot_drop(replica)  # one a crashed run left behind
        done = server._as_server([*backup, "--no-manifest", "-w"], capture_output=True, text=True)
        if done.returncode != 0:
            raise ReplicaError(f"pg_basebackup failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
        options = [f"-p {replica.port}", "-h 127.0.0.1", f"-k {replica.data}", "-c shared_buffers=64MB"]
        options += [f"-c {name}={value}" for name, value in limits.items()]
        # Feedback: the primary's vacuum keeps the rows a replica's query still reads, so long reads
        # (exports) are not cancelled by a conflict with recovery.
        options += ["-c hot_standby=on", "-c hot_standby_feedback=on"]
        if not fsync:
            options.append("-c fsync=off")  # nor the startup's sync of every file of the copy
        pg_ctl = [str(server.bin / "pg_ctl"), "-D", str(replica.data), "-l", str(replica.log), "-w"]
        done = server._as_server(
            [*pg_ctl, "-t", str(int(timeout)), "-o", " ".join(options), "start"],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        if done.returncode != 0:
            raise ReplicaError(
                f"the replica did not start (pg_ctl exit {done.returncode}): see {replica.log}"
            )
        with psycopg.connect(_dsn(replica.port), autocommit=True) as standby:
            if not standby.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                raise ReplicaError(f"the server on port {replica.port} is not a standby")
        replica_catch_up(replica, timeout=timeout)
    except BaseException:
        replica_stop(replica)
        raise
    return replica


def replica_catch_up(replica: Replica, *, timeout: float = 30.0) -> float:
    """Wait until the replica has replayed everything the primary committed before this call;
    the seconds it took. A marker written to the primary's WAL (and flushed) tells where that is:
    every commit before it precedes it in the WAL."""
    port = _embedded().PG_PORT
    started = time.monotonic()
    with psycopg.connect(_dsn(port), autocommit=True) as primary:
        marker = primary.execute(
            "SELECT pg_logical_emit_message(false, 'loyalty-replica', 'catch-up', true)"
        ).fetchone()[0]  # type: ignore[index]
    with psycopg.connect(_dsn(replica.port), autocommit=True) as standby:
        while True:
            replayed = standby.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [str(marker)]
            ).fetchone()[0]  # type: ignore[index]
            if replayed:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise ReplicaError(
                    f"the replica on port {replica.port} did not catch up within {timeout:.0f} s"
                )
            time.sleep(0.02)


def _slot_drop(replica: Replica, *, timeout: float = 10.0) -> None:
    """Drop the replica's slot on the primary, if there is one, once its sender has ended (a slot
    nobody reads keeps the primary's WAL for ever)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(_dsn(_embedded().PG_PORT), autocommit=True) as primary:
        while True:
            row = primary.execute(
                "SELECT active FROM pg_replication_slots WHERE slot_name = %s", [replica.slot]
            ).fetchone()
            if row is None:
                return
            if not row[0]:
                primary.execute("SELECT pg_drop_replication_slot(%s)", [replica.slot])
                return
            if time.monotonic() > deadline:
                raise ReplicaError(f"the slot {replica.slot} is still in use after {timeout:.0f} s")
            time.sleep(0.05)


def replica_stop(replica: Replica) -> None:
    """Stop the replica (immediately: its data goes anyway), drop its slot on the primary and delete
    its folder."""
    server = _embedded().Postgres()
    if (replica.data / "postmaster.pid").exists():
        server._as_server(
            [str(server.bin / "pg_ctl"), "-D", str(replica.data), "-m", "immediate", "-w", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        if _embedded().Postgres().running():
            _slot_drop(replica)
    finally:
        shutil.rmtree(replica.folder, ignore_errors=True)


@contextmanager
def replica_attached(replica: Replica) -> Iterator[None]:
    """In this process (a test's, Django set up): the `replica` database on `replica`, in the
    database `default` is connected to, and core.replica's router, as DATABASE_REPLICA_URL sets them
    (config/settings.py); both removed after."""
    from django.conf import settings
    from django.db import connections
    from django.test import override_settings

    from core.replica import REPLICA

    primary = connections["default"].settings_dict
    settings_dict = {**primary, "HOST": "127.0.0.1", "PORT": replica.port}
    settings_dict["OPTIONS"] = dict(primary["OPTIONS"])
    settings_dict["TEST"] = {**primary["TEST"], "MIRROR": "default"}
    connections.settings[REPLICA] = settings_dict  # settings.DATABASES itself
    routers = ["core.replica.ReplicaRouter", *settings.DATABASE_ROUTERS]
    try:
        with override_settings(DATABASE_ROUTERS=routers):
            yield
    finally:
        try:
            connections[REPLICA].close()
            del connections[REPLICA]
        except AttributeError:  # never connected in this thread
            pass
        del connections.settings[REPLICA]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("start", "stop") or len(argv) > 2:
        print(__doc__)
        return 2
    try:
        port = int(argv[1]) if len(argv) == 2 else DEFAULT_PORT
    except ValueError:
        print(f"[replica] not a port: {argv[1]!r}", file=sys.stderr)
        return 2
    if argv[0] == "stop":
        replica_stop(replica_of(port=port))
        print(f"[replica] stopped, its data deleted (port {port})")
        return 0
    try:
        replica = replica_start(port=port)
    except (ReplicaError, OSError, psycopg.Error) as error:
        print(f"[replica] {error}", file=sys.stderr)
        return 1
    print(f"[replica] streaming on port {replica.port}, data in {replica.folder}")
    print(f"DATABASE_REPLICA_URL={replica.url()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
