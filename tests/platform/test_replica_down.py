"""A streaming replica that cannot be reached (core.replica.replica_reachable): the pages that read
the replica are served from the primary, a warning logged once per REPLICA_RETRY_AFTER, and the
replica tried again after it. No replica runs: the `replica` database names a port nobody listens
on (platform/replica.py's `replica_attached`), in a module of its own so that no real replica's
connection of this thread is open."""

from __future__ import annotations

import logging
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import member_make
from tests.support import dashboard_figures, platform_module

replicas = platform_module("replica")
OUTSTANDING = "Outstanding points (sum of the balances)"


def test_a_replica_that_cannot_be_reached_leaves_the_reads_on_the_primary(
    fresh_brand, staff_for, caplog, settings
):
    """Nobody listens on the replica's port: the dashboard is served from the primary, a warning
    logged once; the replica is not tried again before REPLICA_RETRY_AFTER, then is."""
    settings.REPLICA_RETRY_AFTER = 3
    connection.set_tenant(fresh_brand)
    member_make(points=120)
    staff = staff_for(fresh_brand)
    down = replicas.replica_of(port=replicas.free_port())

    def warnings() -> list[str]:
        return [record.getMessage() for record in caplog.records if record.name == "core.replica"]

    with replicas.replica_attached(down), caplog.at_level(logging.WARNING, logger="core.replica"):
        started = time.monotonic()
        with CaptureQueriesContext(connection) as on_primary:
            # No catch-up to wait for: the primary's own figure.
            assert dashboard_figures(staff, "liability")[OUTSTANDING] == "120"
        assert any("loyalty_member" in query["sql"] for query in on_primary.captured_queries)
        assert staff.get("/backoffice/dashboard/").status_code == 200
        assert len(warnings()) == 1 and f":{down.port} unreachable" in warnings()[0], warnings()
        assert time.monotonic() - started < settings.REPLICA_RETRY_AFTER  # else the count means little

        time.sleep(settings.REPLICA_RETRY_AFTER)
        assert dashboard_figures(staff, "liability")[OUTSTANDING] == "120"  # tried again, still down
        assert len(warnings()) == 2
