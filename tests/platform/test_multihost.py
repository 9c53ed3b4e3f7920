"""The simulated multi-host run (platform/hosts.py): PostgreSQL behind PgBouncer, Redis, two web
hosts and a worker host in network namespaces; a bounded load of events and redemptions through
both web hosts while web1 is stopped and the worker host killed, then the no-loss check. Needs root
(CI runs as root): without it the test fails and says so, as a skip would hide that it never ran."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support import platform_module

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 600
REDEMPTIONS = 60


@pytest.fixture(scope="module")
def hosts():
    if os.geteuid() != 0:
        pytest.fail("the multi-host run needs root (network namespaces, PostgreSQL's own user): run as root")
    return platform_module("hosts")


def _leftovers(run_id: str, folder: Path, seconds: float = 10) -> list[str]:
    """What a run left, `seconds` after it ended (a killed process may take a moment to go): its
    namespaces, its root link, its folder, processes with its folder in their command line."""
    deadline = time.monotonic() + seconds
    while (found := _found(run_id, folder)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _found(run_id: str, folder: Path) -> list[str]:
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    found = [name for name in namespaces if name.startswith(f"{run_id}-")]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    found += [f"link {run_id}r"] if f" {run_id}r@" in links or f" {run_id}r:" in links else []
    found += [str(folder)] if folder.exists() else []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(folder) in cmdline:
            found.append(f"{process.info['pid']} {cmdline[:100]}")
    return found


def test_nothing_acknowledged_is_lost_or_counted_twice_while_hosts_stop(hosts):
    with hosts.Cluster() as cluster:
        load = hosts.load_run(cluster, events=EVENTS, redemptions=REDEMPTIONS)
        result = cluster.check(load)
        print(hosts.figures(load, result))

        acknowledged = load.acknowledged()
        assert len(acknowledged) == EVENTS + REDEMPTIONS, "every request was acknowledged"
        assert result["problems"] == []
        assert result["events_stored"] == EVENTS
        assert result["orders"] == REDEMPTIONS
        assert result["deliveries"] == EVENTS + 2 * REDEMPTIONS
        assert result["deliveries_waiting"] == 0
        assert result["webhooks_received"] == result["deliveries"]
        # The outages happened, and the load went through them.
        assert load.stops == {"web1": 1, "web2": 0, "worker": 1}
        assert load.downtime["web1"] > 0 and load.downtime["worker"] > 0
        assert sum(r.attempts > 1 for r in load.requests) > 0
        lost = [r for r in load.requests if r.answer_lost]
        assert lost and all(r.replayed for r in lost), "an answer lost after the commit is replayed"
        assert {r.hosts[-1] for r in acknowledged} == {"web1", "web2"}
        # A web process's statement timeout reaches PostgreSQL through PgBouncer (a SET, since
        # PgBouncer refuses the startup parameter `options`).
        assert cluster._in_host("web1", [sys.executable, "-c", SHOW_TIMEOUT]).strip() == "30s"

        # The same check finds a loss and a write nobody was told of: an acknowledged event the
        # database does not have, and a stored one taken out of what was acknowledged.
        dropped = next(r for r in load.requests if r.kind == "event")
        kept = [r for r in load.requests if r is not dropped]
        invented = dataclasses.replace(dropped, key="ev-never-sent", points=dropped.points + 1)
        broken = cluster.check(dataclasses.replace(load, requests=[*kept, invented]), drain_seconds=0)
        problems = " ".join(broken["problems"])
        assert "1 acknowledged events not stored" in problems
        assert "1 events stored that no request was acknowledged for" in problems
        assert "balances wrong" in problems
        run_id, folder = cluster.run_id, cluster.folder
    assert _leftovers(run_id, folder) == []


SHOW_TIMEOUT = (
    "import os; os.environ['LOYALTY_PROCESS'] = 'web'; "
    "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
    "import django; django.setup(); from django.db import connection; cursor = connection.cursor(); "
    "cursor.execute('SHOW statement_timeout'); print(cursor.fetchone()[0])"
)

KILLED_RUN = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("loyalty_hosts", sys.argv[1])
hosts = importlib.util.module_from_spec(spec)
sys.modules["loyalty_hosts"] = hosts
spec.loader.exec_module(hosts)
cluster = hosts.Cluster()
cluster.start(servers_only=True)
print(cluster.run_id, cluster.folder, flush=True)
time.sleep(600)
"""


def test_what_a_killed_run_left_is_swept_by_the_next(hosts):
    """A run killed outright (SIGKILL: no teardown) leaves its namespaces, PostgreSQL, PgBouncer
    and Redis running and its folder; the next run's sweep removes them all, and keeps what
    belongs to a run still alive."""
    killed = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(ROOT / "platform" / "hosts.py")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    live = f"{hosts.PREFIX}{os.getpid()}-db"  # this process's: a live run's
    try:
        assert killed.stdout is not None
        run_id, folder = killed.stdout.readline().split()
        killed.kill()
        killed.wait()
        left = _found(run_id, Path(folder))
        assert f"{run_id}-db" in left and folder in left
        assert any("postgres" in item for item in left) and any("pgbouncer" in item for item in left)
        subprocess.run(["ip", "netns", "add", live], check=True)

        removed = hosts.sweep_stale()

        assert f"{run_id}-db" in removed and f"{run_id}-sw" in removed and folder in removed
        assert live not in removed and live in hosts.namespaces()
        assert _leftovers(run_id, Path(folder)) == []
    finally:
        killed.kill()
        killed.wait()
        subprocess.run(["ip", "netns", "del", live], check=False, capture_output=True)
        hosts.sweep_stale()
