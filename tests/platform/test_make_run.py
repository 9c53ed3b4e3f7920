"""`make run` end to end: starts everything on its own data folder, serves the demo brands, stops
every process on Ctrl-C, and keeps the data for the next run."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from tests.support import free_port, http_status

ROOT = Path(__file__).resolve().parents[2]


def _embedded(env: dict, *args: str) -> str:
    return subprocess.run(
        [str(ROOT / ".venv/bin/python"), "platform/embedded.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _processes_using(var_dir: Path, pg_data: str, env: dict) -> list[str]:
    """Every process still running that belongs to this run: its data folders (PostgreSQL's is
    outside var/ under root) or its ports."""
    needles = [str(var_dir), pg_data, f":{env['PORT']}", f":{env['EMBEDDED_REDIS_PORT']}"]
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if any(needle in cmdline for needle in needles):
            found.append(f"{proc.info['pid']} {cmdline[:120]}")
    return found


def _nothing_left(var_dir: Path, pg_data: str, env: dict) -> bool:
    """Nothing of the run within 20 s of make run's exit (an exiting process may take a moment on a
    busy machine); what is left is printed."""
    deadline = time.monotonic() + 20
    while _processes_using(var_dir, pg_data, env):
        if time.monotonic() > deadline:
            print("\n".join(_processes_using(var_dir, pg_data, env)))
            return False
        time.sleep(0.25)
    return True


def _start(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_for(port: int, host: str, seconds: float = 180, path: str = "/") -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if http_status(port, host, path) == 200:
            return True
        time.sleep(0.25)
    return False


def _ctrl_c(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError(f"make run still ran 90 s after Ctrl-C:\n{output[-3000:]}") from None
    return output


def _kill_what_is_left(var_dir: Path, pg_data: str, env: dict) -> None:
    """After a failure: the processes of this run still there (reported already), by their ids."""
    for line in _processes_using(var_dir, pg_data, env):
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
def test_make_run_serves_demo_brands_and_ctrl_c_stops_everything():
    var_dir = Path(tempfile.mkdtemp(prefix="loyalty-run-test-"))
    var_dir.chmod(0o755)
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME")
    }
    env.update(
        PORT=str(port),
        LOYALTY_VAR_DIR=str(var_dir),
        EMBEDDED_PG_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
    )

    pg_data = re.search(r"PostgreSQL: \w+, data in (.+)", _embedded(env, "status")).group(1)
    try:
        _run_twice(env, port, var_dir, pg_data)
    finally:
        _embedded(env, "clean")
        _kill_what_is_left(var_dir, pg_data, env)
        shutil.rmtree(var_dir, ignore_errors=True)


def _run_twice(env: dict, port: int, var_dir: Path, pg_data: str) -> None:
    process = _start(env)
    try:
        assert _wait_for(port, "citycar.localhost"), "no 200 from the demo brand within 180 s"
        assert http_status(port, "tabac-pro.localhost") == 200
        assert http_status(port, "grand-cru.localhost") == 200
        # /health gives its checks 0.5 s: on a busy machine one answer may be a 503.
        assert _wait_for(port, "localhost", 20, "/health")
        assert http_status(port, "localhost", "/console/") == 302
        # Another terminal: management commands reach the same embedded services with no setup
        # beyond the ports this test moved (a default run uses the default ports).
        created = subprocess.run(
            [
                str(ROOT / ".venv/bin/python"),
                "manage.py",
                "create_brand",
                "--slug",
                "second-term",
                "--name",
                "Second Terminal",
                "--admin-email",
                "a@b.example",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert created.returncode == 0, created.stderr[-1500:]
        assert http_status(port, "second-term.localhost") == 200
    finally:
        output = _ctrl_c(process)
    assert "Operator console" in output and "admin@citycar.example" in output
    assert _nothing_left(var_dir, pg_data, env), output[-3000:]

    # Second run: the data is kept (the brand made from "another terminal" is still served).
    process = _start(env)
    try:
        assert _wait_for(port, "second-term.localhost")
    finally:
        output = _ctrl_c(process)
    assert "CityCar Club: already there" in output
    assert _nothing_left(var_dir, pg_data, env), output[-3000:]
