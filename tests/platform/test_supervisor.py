"""make run's supervisor (platform/run.py) on real child processes: what keeps dying is given up on
with one line, the run then stops, and so is what cannot be started again; a child that dies once is
started again. And a HOST it cannot listen on is one line."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_module():
    spec = importlib.util.spec_from_file_location("loyalty_run", ROOT / "platform" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_child_that_keeps_dying_is_given_up_on_with_one_line(capsys):
    run = _run_module()
    child = run.Child("worker", [sys.executable, "-c", "raise SystemExit(3)"])
    started = time.monotonic()
    assert run.supervise([child], lambda: False) == 1
    assert time.monotonic() - started < run.RESTART_WINDOW
    lines = capsys.readouterr().out.splitlines()
    assert lines.count("[run] worker exited with code 3; restarting it (1 of 5 in 60 s).") == 1
    assert sum("restarting it" in line for line in lines) == run.RESTART_LIMIT
    assert lines[-1] == (
        "[run] worker exited with code 3 after 5 restarts within 60 s: giving up, stopping everything."
    )


def test_a_child_that_died_once_runs_again(tmp_path, capsys):
    run = _run_module()
    marker = tmp_path / "first-run-done"
    # Dies on its first run only, then runs until stopped.
    script = f"import pathlib, sys, time\nm = pathlib.Path({str(marker)!r})\nif not m.exists():\n"
    script += "    m.touch(); sys.exit(1)\ntime.sleep(60)\n"
    child = run.Child("beat", [sys.executable, "-c", script])
    first = child.process.pid
    restarted_at = []

    def should_stop() -> bool:
        # Once the second run has lasted 2 s (60 s at most: a busy machine starts Python slowly).
        if child.process.pid != first and not restarted_at:
            restarted_at.append(time.monotonic())
        return (bool(restarted_at) and time.monotonic() - restarted_at[0] > 2) or time.monotonic() > deadline

    deadline = time.monotonic() + 60
    try:
        assert run.supervise([child], should_stop) == 0
        assert restarted_at, "not restarted within 60 s"
        assert child.down() is None
    finally:
        child.terminate()
        child.wait(time.monotonic() + 5)
    out = capsys.readouterr().out
    assert "[run] beat exited with code 1; restarting it (1 of 5 in 60 s)." in out
    assert f"[run] beat restarted (pid {child.process.pid})." in out
    assert "giving up" not in out


def test_make_run_with_a_host_that_is_not_an_address_says_so_in_one_line():
    for host, message in (
        ("nonsense", "HOST=nonsense is not an IP address"),
        ("localhost", "HOST=localhost is not an IP address"),  # granian takes addresses only
        ("192.0.2.1", "Cannot listen on 192.0.2.1:"),  # TEST-NET-1: not an address of this machine
    ):
        result = subprocess.run(
            [sys.executable, "platform/run.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "HOST": host, "PORT": "8000"},
            timeout=60,
            check=False,
        )
        assert result.returncode == 1
        assert result.stdout.startswith(message) and result.stdout.count("\n") == 1, result.stdout
        assert result.stderr == ""


def test_what_cannot_be_started_again_is_given_up_on_with_one_line(tmp_path, capsys):
    run = _run_module()
    run.RESTART_LIMIT = 2  # failed starts are retried after 1, 2, ... s: keep the test short
    child = run.Child("beat", [sys.executable, "-c", "raise SystemExit(1)"])
    child.command = [str(tmp_path / "no-such-program")]  # from now on, it cannot be started
    assert run.supervise([child], lambda: False) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[run] beat exited with code 1; restarting it (1 of 2 in 60 s)."
    assert lines[1].startswith("[run] beat could not be restarted (")
    assert lines[1].endswith("trying again in 1 s.")
    assert lines[2].startswith("[run] beat could not be started again (")
    assert lines[2].endswith("2 times in a row: giving up, stopping everything.")
    assert len(lines) == 3
