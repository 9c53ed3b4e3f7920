#!/usr/bin/env python3
"""`make run`: migrate, seed the demo once, start web + Celery worker + beat, print URLs and logins,
and keep them running.

PostgreSQL and Redis are already up (platform/embedded.py starts them around this script). This
script is the supervisor: when web, worker or beat exits, or an embedded service that embedded.py
started for this run dies (the names in LOYALTY_EMBEDDED_STARTED; external servers and ones that
were already running are not ours), it says so and starts it again. It gives up, stopping
everything, when one had to be restarted RESTART_LIMIT times within RESTART_WINDOW seconds or could
not be started again RESTART_LIMIT times in a row. Ctrl-C stops every process started here;
embedded.py then stops the services it started.

The web server listens on 127.0.0.1 unless HOST says otherwise: the demo logins share one password.
"""

from __future__ import annotations

import errno
import importlib.util
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PORT = int(os.environ.get("PORT", "8000"))
HOST = os.environ.get("HOST", "127.0.0.1")
VAR = Path(os.environ.get("LOYALTY_VAR_DIR", ROOT / "var"))
RESTART_LIMIT = 5
RESTART_WINDOW = 60.0


def _say(message: str) -> None:
    print(f"[run] {message}", flush=True)


def port_problem(host: str, port: int) -> str | None:
    """Why the web server could not listen on host:port, or None."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"HOST={host} is not an IP address: give one of this machine's, e.g. HOST=127.0.0.1."
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"Port {port} is already in use: stop what uses it, or run with PORT=<other port>."
            return f"Cannot listen on {host}:{port}: {error.strerror}."
    return None


def embedded_module():
    """platform/embedded.py (`platform` is not a package: it would shadow the standard library's)."""
    spec = importlib.util.spec_from_file_location("loyalty_embedded", ROOT / "platform" / "embedded.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True)


def web_command(*, host: str, port: int, workers: str, access_log: bool = True) -> list[str]:
    """The web server: granian (HTTP in Rust) serving the ASGI app, `workers` processes. ASGI since
    live help (community/live/stream.py): a visitor's or helper's open event stream is a waiting
    coroutine, where WSGI would hold one of a few threads per stream. Django runs the (synchronous)
    views in a thread per request (config/asgi.py says why its connections are not kept)."""
    command = [
        PY, "-m", "granian", "--interface", "asginl", "config.asgi:application",
        "--host", host, "--port", str(port), "--workers", workers,
        "--no-ws", "--respawn-failed-workers", "--workers-kill-timeout", "5",
    ]  # fmt: skip
    return [*command, "--access-log"] if access_log else [*command, "--log-level", "warning"]


def processes() -> dict[str, list[str]]:
    """The process list; platform/Procfile says the same for process managers in production."""
    return {
        "web": web_command(
            host=HOST,
            port=PORT,
            workers=os.environ.get("WEB_CONCURRENCY", "2"),
        ),
        "worker": [PY, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(VAR / "celerybeat-schedule"),
        ],
    }


def banner() -> str:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from loyalty.demo import PROGRAMMES
    from tenants.demo import DEMO_BRANDS, OPERATOR_USERNAME

    password = settings.DEMO_PASSWORD
    lines = [
        "",
        "The loyalty platform is running. Ctrl-C stops everything.",
        "",
        f"  Operator console      http://{settings.PLATFORM_DOMAIN}:{PORT}/console/",
        f"                        login {OPERATOR_USERNAME} / {password}",
    ]
    for demo in DEMO_BRANDS:
        host = f"{demo.slug}.{settings.PLATFORM_DOMAIN}:{PORT}"
        lines += [
            f"  {demo.name:<22}http://{host}/   backoffice http://{host}/backoffice/",
            f"                        login {demo.admin_email} / {password} (staff), "
            f"{PROGRAMMES[demo.slug]['member'][1]} / {password} (member)",
        ]
    lines += [f"  Health                http://{settings.PLATFORM_DOMAIN}:{PORT}/health", ""]
    if ipaddress.ip_address(HOST).is_loopback:
        lines += [f"  Listening on {HOST} only; HOST=0.0.0.0 make run listens on every interface.", ""]
    else:
        lines += [f"  Listening on {HOST}: the demo logins above are reachable from the network.", ""]
    return "\n".join(lines)


def _kill_group(pgid: int) -> None:
    """What is left of a child's process group (a dead Celery worker's pool, granian's workers)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class RestartFailed(Exception):
    pass


class Child:
    """web, worker or beat: a child process in a session of its own."""

    def __init__(self, name: str, command: list[str]) -> None:
        self.name = name
        self.command = command
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen:
        # Own session: Ctrl-C reaches the supervisor only, which stops the children in order.
        return subprocess.Popen(self.command, cwd=ROOT, start_new_session=True)

    def down(self) -> str | None:
        code = self.process.poll()
        return None if code is None else f"exited with code {code}"

    def restart(self) -> str:
        _kill_group(self.process.pid)
        try:
            self.process = self._spawn()
        except OSError as error:
            raise RestartFailed(error) from error
        return f"pid {self.process.pid}"

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()

    def wait(self, deadline: float) -> None:
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        _kill_group(self.process.pid)


class Service:
    """An embedded PostgreSQL or Redis that embedded.py started for this run."""

    def __init__(self, service, errors: tuple[type[Exception], ...]) -> None:
        self.service = service
        self.name = service.name
        self.errors = errors

    def down(self) -> str | None:
        return None if self.service.alive() else "is down"

    def restart(self) -> str:
        try:
            self.service.start()
        except self.errors as error:
            raise RestartFailed(error) from error
        return f"data in {self.service.where()}"


def supervised_services() -> list[Service]:
    started = [key for key in os.environ.get("LOYALTY_EMBEDDED_STARTED", "").split(",") if key]
    if not started:
        return []
    embedded = embedded_module()
    errors = (embedded.ServiceError, subprocess.CalledProcessError, OSError)
    return [Service(service, errors) for service in embedded.services() if service.key in started]


def supervise(watched: list, should_stop) -> int:
    """Keep `watched` running until should_stop(); 1 when one kept failing, else 0. A death counts
    towards RESTART_LIMIT within RESTART_WINDOW; a start that fails is tried again after 1, 2, 3...
    seconds, RESTART_LIMIT times in a row at most (a killed PostgreSQL that its new parent has not
    reaped yet still holds its lock files for a moment)."""
    deaths: dict[str, list[float]] = {item.name: [] for item in watched}
    failures: dict[str, int] = {item.name: 0 for item in watched}
    retry_at: dict[str, float] = {item.name: 0.0 for item in watched}
    while not should_stop():
        for item in watched:
            why = item.down()
            if why is None:
                continue
            now = time.monotonic()
            if failures[item.name] == 0:  # it died (rather than failed to start again)
                recent = deaths[item.name] = [t for t in deaths[item.name] if now - t < RESTART_WINDOW]
                if len(recent) >= RESTART_LIMIT:
                    _say(
                        f"{item.name} {why} after {len(recent)} restarts within {RESTART_WINDOW:.0f} s: "
                        "giving up, stopping everything."
                    )
                    return 1
                recent.append(now)
                count = f"{len(recent)} of {RESTART_LIMIT} in {RESTART_WINDOW:.0f} s"
                _say(f"{item.name} {why}; restarting it ({count}).")
            elif now < retry_at[item.name]:
                continue
            try:
                how = item.restart()
            except RestartFailed as error:
                failed = failures[item.name] = failures[item.name] + 1
                if failed >= RESTART_LIMIT:
                    _say(
                        f"{item.name} could not be started again ({error}), {failed} times in a row: "
                        "giving up, stopping everything."
                    )
                    return 1
                _say(f"{item.name} could not be restarted ({error}); trying again in {failed} s.")
                retry_at[item.name] = time.monotonic() + failed
            else:
                failures[item.name] = 0
                _say(f"{item.name} restarted ({how}).")
        time.sleep(0.5)
    return 0


def main() -> int:
    problem = port_problem(HOST, PORT)
    if problem:
        print(problem)
        return 1
    VAR.mkdir(parents=True, exist_ok=True)
    try:
        manage("migrate_all", "-v", "0")
        manage("seed_demo")
    except subprocess.CalledProcessError as error:
        print(f"Start-up step failed: {' '.join(error.cmd[1:])}")
        return 1

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    services = supervised_services()
    children = [Child(name, command) for name, command in processes().items()]
    print(banner(), flush=True)

    exit_code = supervise([*services, *children], lambda: stopping)

    print("Stopping web, worker and beat...", flush=True)
    for child in children:
        child.terminate()
    deadline = time.monotonic() + 15
    for child in children:
        child.wait(deadline)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
