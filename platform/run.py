#!/usr/bin/env python3
"""`make run`: migrate, seed the demo once, start web + Celery worker + beat, print URLs and logins.

PostgreSQL and Redis are already up (platform/embedded.py starts them around this script). Ctrl-C
stops every process started here; embedded.py then stops the services it started.
"""

from __future__ import annotations

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
VAR = Path(os.environ.get("LOYALTY_VAR_DIR", ROOT / "var"))


def port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True)


def web_command(*, host: str, port: int, workers: str, threads: str, access_log: bool = True) -> list[str]:
    """The web server: granian (HTTP in Rust) serving the WSGI app, `workers` processes of `threads`
    threads each. It replaced gunicorn's gthread workers: in alternating runs of 8 clients sending
    single events, 2 x 4 each, its processes spent 3.7-4.3 ms of CPU per request against gunicorn's
    4.6-4.8 ms on this 2-core machine."""
    command = [
        PY, "-m", "granian", "--interface", "wsgi", "config.wsgi:application",
        "--host", host, "--port", str(port), "--workers", workers, "--blocking-threads", threads,
        "--no-ws", "--respawn-failed-workers", "--workers-kill-timeout", "5",
        # An idle thread is ended after this long, and its database connection with it: kept past
        # the connections' own age (CONN_MAX_AGE, 60 s) so a quiet minute does not drop them.
        "--blocking-threads-idle-timeout", "300",
    ]  # fmt: skip
    return [*command, "--access-log"] if access_log else [*command, "--log-level", "warning"]


def processes() -> dict[str, list[str]]:
    """The process list; platform/Procfile says the same for process managers in production."""
    return {
        "web": web_command(
            host="0.0.0.0",
            port=PORT,
            workers=os.environ.get("WEB_CONCURRENCY", "2"),
            threads=os.environ.get("WEB_THREADS", "4"),
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
    return "\n".join(lines)


def main() -> int:
    if port_taken(PORT):
        print(f"Port {PORT} is already in use: stop what uses it, or run with PORT=<other port> make run.")
        return 1
    VAR.mkdir(parents=True, exist_ok=True)
    try:
        manage("migrate_all", "-v", "0")
        manage("seed_demo")
    except subprocess.CalledProcessError as error:
        print(f"Start-up step failed: {' '.join(error.cmd[1:])}")
        return 1

    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, command in processes().items():
        # Own session: Ctrl-C reaches this supervisor only, which stops the children in order.
        children[name] = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    print(banner(), flush=True)

    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with code {child.returncode}; stopping the rest.")
                exit_code = 1
                stopping = True
        time.sleep(0.3)

    print("Stopping web, worker and beat...", flush=True)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
