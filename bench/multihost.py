#!/usr/bin/env python3
"""Issue 18: the simulated multi-host run under a bigger load (platform/hosts.py says what it is).

PostgreSQL behind PgBouncer, Redis, two web hosts and a worker host in network namespaces of their
own, on a fresh database; BENCH_MULTIHOST_EVENTS events (5,000) and BENCH_MULTIHOST_REDEMPTIONS
redemptions (500) from BENCH_MULTIHOST_CLIENTS client threads (16) through both web hosts, while
web1 is stopped (SIGTERM) and started again and the worker host is killed (SIGKILL) and started
again. Prints the figures (requests, acknowledged, retried, answered by each host, time each host
was down, throughput, latency, tasks) and the no-loss check's result; exits 1 when the check found
a problem. Needs root (network namespaces): without it, says so and does nothing.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = int(os.environ.get("BENCH_MULTIHOST_EVENTS", "5000"))
REDEMPTIONS = int(os.environ.get("BENCH_MULTIHOST_REDEMPTIONS", "500"))
CLIENTS = int(os.environ.get("BENCH_MULTIHOST_CLIENTS", "16"))
WEB_WORKERS = int(os.environ.get("BENCH_MULTIHOST_WEB_WORKERS", "1"))
WORKER_CONCURRENCY = int(os.environ.get("BENCH_MULTIHOST_WORKER_CONCURRENCY", "2"))


def _hosts_module():
    """platform/hosts.py, loaded by path: `platform` is also a standard library module."""
    spec = importlib.util.spec_from_file_location("loyalty_hosts", ROOT / "platform" / "hosts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["loyalty_hosts"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> int:
    if os.geteuid() != 0:
        print("multihost: skipped, the multi-host run needs root (network namespaces)")
        return 0
    hosts = _hosts_module()
    started = time.monotonic()
    with hosts.Cluster(web_workers=WEB_WORKERS, worker_concurrency=WORKER_CONCURRENCY) as cluster:
        up = time.monotonic() - started
        load = hosts.load_run(cluster, events=EVENTS, redemptions=REDEMPTIONS, clients=CLIENTS)
        result = cluster.check(load, drain_seconds=300)
    print(
        f"multi-host run: {EVENTS} events and {REDEMPTIONS} redemptions, {CLIENTS} clients, "
        f"{WEB_WORKERS} granian worker(s) per web host, worker concurrency {WORKER_CONCURRENCY}; "
        f"hosts up in {up:.1f} s, {time.monotonic() - started:.1f} s in all"
    )
    print(hosts.figures(load, result))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
