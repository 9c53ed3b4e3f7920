#!/usr/bin/env python3
"""Issue 2: seconds from `make run` (already installed) to the first 200 on a demo brand's home page.

Starts `make run` on a spare port with its own data folder (so it starts PostgreSQL and Redis
itself, like a fresh checkout that was installed once), polls http://citycar.localhost:PORT/, then
stops it with Ctrl-C (SIGINT) and checks every process went away.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def home_status(port: int) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/", headers={"Host": f"citycar.localhost:{port}"})
        return conn.getresponse().status
    except OSError:
        return None


def time_to_first_200(env: dict, port: int) -> float | None:
    started = time.perf_counter()
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    first_200 = None
    try:
        while time.perf_counter() - started < 180:
            if home_status(port) == 200:
                first_200 = time.perf_counter() - started
                break
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    return first_200


def main() -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="loyalty-bench-run-"))
    os.chmod(var_dir, 0o755)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "HOST")}
    env.update(
        PORT=str(port),
        LOYALTY_VAR_DIR=str(var_dir),
        EMBEDDED_PG_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
    )
    for label in (
        "first start, empty data folder (initdb, migrations, demo seed)",
        "second start, data kept",
    ):
        seconds = time_to_first_200(env, port)
        figure = f"{seconds:.1f} s" if seconds is not None else "NOT reached within 180 s"
        print(f"make run -> first 200 on citycar.localhost, {label}: {figure}")
    # Under root PostgreSQL's files are outside the data folder (platform/embedded.py): clean removes both.
    subprocess.run(
        [sys.executable, "platform/embedded.py", "clean"], cwd=ROOT, env=env, capture_output=True, check=False
    )
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
