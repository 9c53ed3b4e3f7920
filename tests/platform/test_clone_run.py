"""`make run` from a fresh clone inside a folder only its owner can enter (mode 700, like root's home):
it serves the demo; under root PostgreSQL runs as its own user and group with no supplementary group;
the web server listens on loopback only; a killed embedded Redis or Celery worker is started again
by the supervisor; Ctrl-C stops everything; no permission outside the clone changed.

The clone is of this checkout's HEAD plus its uncommitted changes and new files not ignored (what
a commit now would hold). Its .venv is a copy of this checkout's (an install takes minutes; the project's
own code is not installed into it, `[tool.setuptools] packages = []`, so the clone runs its own
files), stamped as installed so that make does not install again.
"""

from __future__ import annotations

import grp
import http.client
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, host: str, path: str = "/") -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        conn.request("GET", path, headers={"Host": f"{host}:{port}"})
        return conn.getresponse().status
    except OSError:
        return None


def _until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


def _postmaster_pid(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split()[0])


def _ids(pid: int) -> tuple[list[str], list[str], list[str]]:
    """A process's user ids, group ids and supplementary groups, as the kernel says."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = {line.split(":")[0]: line.split(":")[1].split() for line in lines if ":" in line}
    return fields["Uid"], fields["Gid"], fields["Groups"]


def _modes(paths: list[Path]) -> dict[str, tuple[int, int, int]]:
    return {str(path): (path.stat().st_mode, path.stat().st_uid, path.stat().st_gid) for path in paths}


class CloneRun:
    """A clone in a mode-700 folder and its `make run`, output in a file (a pipe would fill up)."""

    def __init__(self) -> None:
        self.top = Path(tempfile.mkdtemp(prefix="loyalty-clone-"))  # mode 700, owned by us
        self.checkout = self.top / "checkout"
        self.port = _free_port()
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in (
                "DATABASE_URL",
                "REDIS_URL",
                "TEST_DATABASE_NAME",
                "LOYALTY_VAR_DIR",
                "LOYALTY_EMBEDDED_STARTED",
                "HOST",
            )
        }
        self.env.update(
            PORT=str(self.port), EMBEDDED_PG_PORT=str(_free_port()), EMBEDDED_REDIS_PORT=str(_free_port())
        )
        self.log = self.top / "make-run.log"
        self.process: subprocess.Popen | None = None
        # Every folder outside the clone that a run could touch, as it was before.
        outside = [self.top, *self.top.parents, ROOT / ".venv", *(ROOT / ".venv").parents, Path("/var/lib")]
        if Path("/var/lib/loyalty-pg").exists():
            outside.append(Path("/var/lib/loyalty-pg"))
        self.outside_before = _modes(outside)

    def make(self) -> None:
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(self.checkout)], check=True)
        changes = subprocess.run(
            ["git", "diff", "HEAD", "--binary"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        if changes:
            apply = ["git", "apply", "--whitespace=nowarn"]
            subprocess.run(apply, cwd=self.checkout, input=changes, check=True)
        untracked = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for name in filter(None, untracked.split("\0")):
            (self.checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, self.checkout / name)
        subprocess.run(["cp", "-a", str(ROOT / ".venv"), str(self.checkout / ".venv")], check=True)
        (self.checkout / ".venv" / ".installed").touch()

    def embedded(self, *args: str) -> str:
        return subprocess.run(
            [str(self.checkout / ".venv/bin/python"), "platform/embedded.py", *args],
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def start(self) -> None:
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                ["make", "run"],
                cwd=self.checkout,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pg_data(self) -> Path:
        return Path(re.search(r"PostgreSQL: \w+, data in (.+)", self.embedded("status")).group(1))

    def supervisor(self) -> psutil.Process:
        for proc in psutil.Process(self.process.pid).children(recursive=True):
            if proc.cmdline()[1:2] == ["platform/run.py"]:  # not embedded.py's `exec -- ... run.py`
                return proc
        raise AssertionError("no platform/run.py under make run:\n" + self.output()[-3000:])

    def child(self, *words: str) -> psutil.Process | None:
        """The supervisor's child whose command line has all `words`."""
        for proc in self.supervisor().children():
            try:
                cmdline = proc.cmdline()
            except psutil.Error:  # gone, or dead and not reaped yet
                continue
            if all(word in cmdline for word in words):
                return proc
        return None

    def ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=90)

    def leftovers(self, pg_data: Path) -> list[str]:
        needles = [
            str(self.checkout),
            str(pg_data),
            f":{self.port}",
            f":{self.env['EMBEDDED_REDIS_PORT']}",
            f"-p {self.env['EMBEDDED_PG_PORT']}",
        ]
        found = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if any(needle in cmdline for needle in needles) and proc.info["pid"] != os.getpid():
                found.append(f"{proc.info['pid']} {cmdline[:120]}")
        return found

    def clean(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=60)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
        if (self.checkout / ".venv").exists():
            subprocess.run(
                [str(self.checkout / ".venv/bin/python"), "platform/embedded.py", "clean"],
                cwd=self.checkout,
                env=self.env,
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.top, ignore_errors=True)


@pytest.fixture(scope="module")
def run():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    clone = CloneRun()
    try:
        clone.make()
        clone.start()
        served = _until(
            lambda: clone.process.poll() is not None or _get(clone.port, "citycar.localhost") == 200, 150
        )
        output = clone.output()[-3000:]
        assert served and clone.process.poll() is None, f"no demo brand within 150 s:\n{output}"
        yield clone
    finally:
        clone.clean()


@pytest.mark.slow
def test_clone_in_a_mode_700_folder_serves_the_demo(run):
    assert run.top.stat().st_mode & 0o777 == 0o700
    assert _get(run.port, "grand-cru.localhost") == 200
    assert _get(run.port, "localhost", "/health") == 200


@pytest.mark.slow
@pytest.mark.skipif(not IS_ROOT, reason="as another user PostgreSQL runs as that user")
def test_postgres_runs_as_its_own_user_and_group_without_supplementary_groups(run):
    uid, gid = pwd.getpwnam("loyalty_pg").pw_uid, grp.getgrnam("loyalty_pg").gr_gid
    assert uid != 0 and gid != 0
    data = run.pg_data()
    assert not data.is_relative_to(run.top), "the server user cannot reach the mode-700 folder"
    postmaster = psutil.Process(_postmaster_pid(data))
    processes = [postmaster, *postmaster.children()]
    assert len(processes) > 3
    for proc in processes:
        assert _ids(proc.pid) == ([str(uid)] * 4, [str(gid)] * 4, []), proc.cmdline()


@pytest.mark.slow
def test_web_listens_on_loopback_only(run):
    listening = {
        conn.laddr.ip
        for conn in psutil.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == run.port
    }
    assert listening == {"127.0.0.1"}
    assert "Listening on 127.0.0.1 only" in run.output()


@pytest.mark.slow
def test_killed_redis_comes_back_by_itself(run):
    pidfile = run.checkout / "var" / "redis.pid"
    killed = int(pidfile.read_text())
    os.kill(killed, signal.SIGKILL)
    client = redis.Redis(port=int(run.env["EMBEDDED_REDIS_PORT"]), socket_timeout=1)

    def back() -> bool:
        try:
            return int(pidfile.read_text()) != killed and client.ping()
        except (OSError, ValueError, redis.RedisError):
            return False

    assert _until(back, 15), run.output()[-3000:]
    assert "[run] Redis is down; restarting it" in run.output()
    assert _until(lambda: _get(run.port, "citycar.localhost") == 200, 15)


@pytest.mark.slow
def test_killed_postgres_comes_back_by_itself(run):
    data = run.pg_data()
    killed = _postmaster_pid(data)
    os.kill(killed, signal.SIGKILL)

    def back() -> bool:
        try:
            pid = _postmaster_pid(data)
        except (OSError, ValueError):
            return False
        return pid != killed and _get(run.port, "citycar.localhost") == 200

    assert _until(back, 30), run.output()[-3000:]
    assert "[run] PostgreSQL is down; restarting it" in run.output()
    if IS_ROOT:  # restarted the same way: its own user and group, no other
        assert _ids(_postmaster_pid(data))[1:] == ([str(grp.getgrnam("loyalty_pg").gr_gid)] * 4, [])


@pytest.mark.slow
def test_killed_worker_is_started_again(run):
    worker = run.child("worker")
    assert worker is not None
    pool = worker.children()
    os.kill(worker.pid, signal.SIGKILL)

    def replaced() -> bool:
        new = run.child("worker")
        return new is not None and new.pid != worker.pid

    assert _until(replaced, 15), run.output()[-3000:]
    assert f"[run] worker exited with code {-signal.SIGKILL}; restarting it" in run.output()
    assert _until(lambda: not any(proc.is_running() for proc in pool), 10), "the old worker's pool lingers"


@pytest.mark.slow
def test_ctrl_c_stops_everything_and_no_permission_outside_changed(run):
    data = run.pg_data()
    run.ctrl_c()
    time.sleep(1)
    assert run.leftovers(data) == [], run.output()[-3000:]
    assert _modes([Path(path) for path in run.outside_before]) == run.outside_before
