#!/usr/bin/env python3
"""A RabbitMQ server of its own (Debian's rabbitmq-server, as a plain process: no systemd), for the
tests that run Celery on AMQP and for a developer who wants to.

Usage:
    python platform/rabbitmq.py start     start one under var/rabbitmq (if not up), print its URL
    python platform/rabbitmq.py stop      stop it
    python platform/rabbitmq.py status    say whether it runs, and its URL

Then `CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:56729// make run` (Redis stays the cache and
the result backend). Ports: AMQP RABBITMQ_PORT (56729), the Erlang distribution +10, its own epmd
+20; all on 127.0.0.1.

Everything the node writes stays in its folder: its database (RABBITMQ_MNESIA_BASE), its logs, the
Erlang cookie (HOME), its configuration. It has an epmd of its own on a port of its own (started
here, in the foreground, so it is stopped with the node and never outlives it as a daemon), and a
node name of its own, so two nodes (two test runs, a developer's) never meet. RabbitMQ runs as
root (it does not refuse it), so no system user is needed: /usr/sbin/rabbitmq-server would switch
to the `rabbitmq` user and read /etc/rabbitmq; the script under /usr/lib/rabbitmq/bin does not.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("LOYALTY_VAR_DIR", ROOT / "var"))
SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
CTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
EPMD = Path("/usr/lib/erlang/bin/epmd")
DEV_PORT = int(os.environ.get("RABBITMQ_PORT", "56729"))
START_SECONDS = 60.0


class RabbitError(Exception):
    """The server could not be started; the message is one line for the user."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by a parent that is not us) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


class RabbitServer:
    """One node in `folder`: `start()`, `stop()` (clean: SIGTERM), `kill()` (SIGKILL: a crash),
    `freeze()`/`thaw()` (SIGSTOP/SIGCONT: the kernel still accepts connections, nothing answers),
    and `start()` again on the same ports and data (durable queues and persistent messages kept).
    `close()` stops everything and, for a folder it was not given, deletes it."""

    def __init__(self, folder: Path, *, port: int | None = None, name: str | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        # Free ports each for a node of the tests; a developer's fixed ones next to its AMQP port.
        self.dist_port = self.port + 10 if port else free_port()
        self.epmd_port = self.port + 20 if port else free_port()
        self.nodename = f"{name or f'rabbit-test-{os.getpid()}-{self.port}'}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        self.server: subprocess.Popen | None = None
        self.epmd: subprocess.Popen | None = None

    # --- the processes ----------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        folder = str(self.folder)
        return os.environ | {
            "HOME": folder,  # the Erlang cookie
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_MNESIA_BASE": f"{folder}/mnesia",
            "RABBITMQ_LOG_BASE": f"{folder}/log",
            "RABBITMQ_CONFIG_FILE": f"{folder}/rabbitmq.conf",
            "RABBITMQ_ADVANCED_CONFIG_FILE": f"{folder}/advanced.config",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{folder}/enabled_plugins",
            "RABBITMQ_CONF_ENV_FILE": f"{folder}/rabbitmq-env.conf",  # not /etc/rabbitmq's
            "RABBITMQ_PID_FILE": f"{folder}/rabbitmq.pid",
        }

    def start(self, *, seconds: float = START_SECONDS) -> None:
        """Start the node (and its epmd) and return once it takes AMQP connections."""
        if not SERVER.exists():
            raise RabbitError(f"{SERVER} is missing: apt-get install rabbitmq-server")
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            # The Debian default (50 MB free) but written down: a full /tmp blocks publishers.
            "disk_free_limit.absolute = 50MB\n"
        )
        for erlang_terms in ("enabled_plugins", "advanced.config"):
            (self.folder / erlang_terms).write_text("[].\n")
        (self.folder / "rabbitmq-env.conf").touch()
        if self.epmd is None or self.epmd.poll() is not None:
            self.epmd = subprocess.Popen(
                [str(EPMD), "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        with (self.folder / "server.out").open("ab") as out:
            # A session of its own: stop/kill/freeze signal the whole group (the script and beam).
            self.server = subprocess.Popen(
                [str(SERVER)],
                cwd=self.folder,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._state_write()
        try:
            self._wait_ready(seconds=seconds)
        except BaseException:
            self.close(delete=False)
            raise

    def _wait_ready(self, *, seconds: float) -> None:
        from kombu import Connection

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.server is not None and self.server.poll() is not None:
                raise RabbitError(
                    f"rabbitmq-server exited with code {self.server.returncode}: {self.log_tail()}"
                )
            if _port_open(self.port):
                with Connection(self.url, connect_timeout=2) as probe:
                    try:
                        probe.ensure_connection(max_retries=0)
                        return
                    except Exception:
                        pass
            time.sleep(0.1)
        raise RabbitError(f"RabbitMQ did not take connections on port {self.port} within {seconds:.0f} s")

    def ctl(self, *args: str, seconds: float = 60.0) -> str:
        """`rabbitmqctl` on this node (its cookie, epmd and name): its output; raises if it fails."""
        done = subprocess.run(
            [str(CTL), "-n", self.nodename, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=seconds,
            check=False,
        )
        if done.returncode != 0:
            raise RabbitError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout.strip()

    def log_tail(self, lines: int = 20) -> str:
        logs = [self.folder / "server.out", self.folder / "log" / f"{self.nodename}.log"]
        text = "".join(path.read_text(errors="replace") for path in logs if path.exists())
        return "\n".join(text.splitlines()[-lines:])

    def _signal(self, sig: int) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, sig)

    def stop(self, *, seconds: float = 30.0) -> None:
        """A clean stop (SIGTERM: connections closed, queues and persistent messages on disk)."""
        if self.server is None:
            return
        self._signal(signal.SIGCONT)  # a frozen node cannot stop
        self._signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.server.wait()
        self._group_wait()
        self.server = None

    def kill(self) -> None:
        """A crash (SIGKILL of the script and beam): what was not on disk is lost."""
        if self.server is None:
            return
        self._signal(signal.SIGKILL)
        self.server.wait()
        self._group_wait()
        self.server = None

    def _group_wait(self, seconds: float = 10.0) -> None:
        """beam runs in the script's group and may outlive the script by a moment; a start on the
        same ports must not find it still there."""
        assert self.server is not None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                os.killpg(self.server.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.killpg(self.server.pid, signal.SIGKILL)

    def freeze(self) -> None:
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def close(self, *, delete: bool = True) -> None:
        """Stop the node and its epmd; delete the folder (`delete`)."""
        try:
            self.stop()
        finally:
            if self.epmd is not None and self.epmd.poll() is None:
                self.epmd.kill()
                self.epmd.wait()
            self.epmd = None
            if delete:
                shutil.rmtree(self.folder, ignore_errors=True)

    # --- a developer's node, found again by a later command ------------------------------------------

    def _state_write(self) -> None:
        state = {
            "port": self.port,
            "nodename": self.nodename,
            "server": self.server.pid if self.server else None,
            "epmd": self.epmd.pid if self.epmd else None,
        }
        (self.folder / "state.json").write_text(json.dumps(state))


def _state(folder: Path) -> dict:
    try:
        return json.loads((folder / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def main(argv: list[str]) -> int:
    folder = VAR / "rabbitmq"
    command = argv[1] if len(argv) > 1 else ""
    state = _state(folder)
    running = _alive(state.get("server")) and _port_open(state.get("port", DEV_PORT))
    url = f"amqp://guest:guest@127.0.0.1:{state.get('port', DEV_PORT)}//"
    if command == "start":
        if running:
            print(f"[rabbitmq] already running: CELERY_BROKER_URL={url}")
            return 0
        server = RabbitServer(folder, port=DEV_PORT, name="rabbit-loyalty")
        try:
            server.start()
        except RabbitError as error:
            print(f"[rabbitmq] {error}", file=sys.stderr)
            return 1
        print(f"[rabbitmq] running (data in {folder}): CELERY_BROKER_URL={server.url}")
        return 0
    if command == "stop":
        for key, sig in (("server", signal.SIGTERM), ("epmd", signal.SIGKILL)):
            pid = state.get(key)
            if _alive(pid):
                os.killpg(pid, sig)
                deadline = time.monotonic() + 30
                while _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
        print("[rabbitmq] stopped")
        return 0
    if command == "status":
        print(f"[rabbitmq] running: CELERY_BROKER_URL={url}" if running else "[rabbitmq] not running")
        return 0 if running else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
