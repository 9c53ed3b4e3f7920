"""The outbox with the broker really down: a committed write answers its result at once, the
row waits, and the sweeper (sent as beat sends it, run by a real worker) sends it exactly once when
the broker is back. The broker is a redis-server of the test's own, killed and started again; the
app's broker URL (`app.conf.broker_url`) points at it for the test. The result backend stays on the
shared Redis: the sends after commit never use it (they ignore results)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from catalog.models import CatalogSettings, Gift, Order, ServicePush
from catalog.services import RedeemItem, order_place
from catalog.tasks import service_push_send_task
from core.outbox import OutboxSweep, outbox_sweep, retry_delay, task_send
from tests.catalog.factories import gift_make
from tests.conftest import host_of
from tests.factories import key_make, member_make
from tests.support import ApiClient

from .support import FakeBrandSystem, ThrowawayRedis, beat_sends

pytestmark = pytest.mark.slow

REDEEM = "/api/v1/members/{}/redemptions"
# Seconds a queued send has before the sweeper queues it again (60 s by default): short, so the
# pushes left waiting are due a moment after the broker is back.
REQUEUE_AFTER = 2
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker(tmp_path):
    """The app's broker, for this test: a redis-server of its own (the shared one is never stopped).
    Celery keeps the producer pools of the first broker URL it used: the test starts with none and
    gives the others back after, as Celery itself drops them after a fork (`Celery._after_fork`).
    Tasks go to the queue the app's settings name (the session's worker has its own elsewhere)."""
    from celery.app.defaults import DEFAULTS

    from config.celery import app

    server = ThrowawayRedis(tmp_path)
    saved = app.conf.broker_url, app.conf.task_default_queue, app._pool, app.amqp._producer_pool
    app.conf.broker_url, app._pool, app.amqp._producer_pool = server.url, None, None
    app.conf.task_default_queue = DEFAULTS["task_default_queue"]
    try:
        yield server
    finally:
        for pool in (app.amqp._producer_pool, app._pool):
            if pool is not None:
                pool.force_close_all()
        app.conf.broker_url, app.conf.task_default_queue, app._pool, app.amqp._producer_pool = saved
        server.stop()


@pytest.fixture
def cache_on_broker(broker, settings, monkeypatch):
    """The cache on that Redis too, as in production (one Redis): stopped, the request has neither
    (routing then reads the database, the rate limit lets requests through). After the test, the
    process asks the cache's Redis again at once."""
    from config.redis import cache_redis

    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": broker.url},
    }
    cache_redis.cache_clear()
    monkeypatch.setattr("config.redis._down_until", 0.0)  # restored when the test ends
    yield
    cache_redis.cache_clear()


class Workers:
    """Real Celery worker processes (`celery -A config worker`) on the test's broker and database,
    consuming the queue the test's tasks go to. A test that kills the broker under a worker starts
    the worker again once the broker is back, as the supervisor (platform/run.py) restarts a dead
    one: Celery 5.7's worker can exit when its broker dies, busy or idle (an AttributeError as its
    consumer reconnects). Processes, not threads: Celery's worker state is global to a process, and
    the session's worker of the other tests lives in this one."""

    def __init__(self, folder: Path, broker_url: str) -> None:
        from config.celery import app

        database = connection.settings_dict
        self.env = os.environ | {
            "CELERY_BROKER_URL": broker_url,
            "DATABASE_URL": f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@"
            f"{database['HOST']}:{database['PORT']}/{database['NAME']}",
        }
        self.queue = app.conf.task_default_queue
        self.log = folder / "worker.log"
        self.process: subprocess.Popen | None = None

    def start(self, *, concurrency: int = 2, requeue_after: float = REQUEUE_AFTER) -> None:
        """`requeue_after`: the workers' OUTBOX_REQUEUE_AFTER (the sweeps they run claim rows for it)."""
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "threads"),
                    *("--concurrency", str(concurrency), "--queues", self.queue, "--loglevel", "WARNING"),
                    *("--without-mingle", "--without-gossip", "--without-heartbeat"),
                ],
                cwd=ROOT,
                env=self.env | {"OUTBOX_REQUEUE_AFTER": str(requeue_after)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def workers(broker, live_db, tmp_path):
    running = Workers(tmp_path, broker.url)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def endpoint():
    fake = FakeBrandSystem()
    yield fake
    fake.close()


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def wait_until_due(push: ServicePush) -> None:
    push.refresh_from_db()
    assert push.requeue_at is not None
    time.sleep(max(0.0, (push.requeue_at - timezone.now()).total_seconds()) + 0.05)


def sent(push: ServicePush) -> ServicePush:
    return wait_for(lambda: ServicePush.objects.filter(pk=push.pk, status=ServicePush.Status.SENT).first())


def service_gift() -> Gift:
    return gift_make(
        kind=Gift.Kind.SERVICE_CREDIT, points_price=300, service_code="MINUTES", service_quantity=60
    )


def test_with_redis_down_a_redemption_answers_its_order_and_the_push_is_sent_once_later(
    fresh_brand, workers, broker, cache_on_broker, endpoint, settings
):
    settings.OUTBOX_REQUEUE_AFTER = REQUEUE_AFTER  # the push is due 2 s after the redemption
    connection.set_tenant(fresh_brand)
    CatalogSettings.objects.create(service_credit_endpoint=endpoint.url)
    gift = service_gift()
    member = member_make("CAR-9", points=1000)
    api = ApiClient(brand=fresh_brand, key=key_make(fresh_brand), raise_errors=False)

    broker.stop()
    started = time.monotonic()
    response = api.post(
        REDEEM.format("CAR-9"),
        {"items": [{"gift_id": gift.pk, "quantity": 2}]},
        headers={"Idempotency-Key": "broker-down"},
    )
    elapsed = time.monotonic() - started

    assert response.status_code == 201, response.content[:2000]
    # About 0.1 s (19 s and a 500 before the outbox); 2 s leaves room for a busy machine.
    assert elapsed < 2.0, f"the redemption took {elapsed:.2f} s with Redis down"
    answer = response.json()
    assert answer["status"] == "placed" and answer["member_balance"] == 400
    order = Order.objects.get(pk=answer["id"])
    member.refresh_from_db()
    assert member.balance == 400
    push = ServicePush.objects.get(order=order)
    assert (push.status, push.attempts) == (ServicePush.Status.PENDING, 0)

    broker.start()
    # The workers start with the broker back. Their sweeps claim for 60 s: the two sweeps below
    # queue the push once even if the second starts long after the first on a busy machine
    # (claimed for 2 s, it could be due again by then).
    workers.start(requeue_after=60)
    wait_until_due(push)
    # Two sweeps at once (a slow sweep overlapping the next one): the push is queued by one only.
    first, second = beat_sends("outbox-sweep"), beat_sends("outbox-sweep")
    assert first.get(timeout=60) + second.get(timeout=60) == 1

    push = sent(push)
    assert push.attempts == 1 and push.requeue_at is None and push.response_status == 200
    assert [request["json"]["order_id"] for request in endpoint.requests] == [order.pk]
    # Later sweeps find nothing waiting.
    assert beat_sends("outbox-sweep").get(timeout=60) == 0
    assert len(endpoint.requests) == 1


def test_a_failed_push_whose_retry_cannot_be_queued_is_sent_by_the_sweeper(
    fresh_brand, workers, broker, settings
):
    """The brand's system fails the first send, and the broker dies at that moment: the retry
    cannot be queued (Celery's own retry would have been lost with its message), the row says when
    it is due, and the sweeper sends it once the broker is back."""
    settings.OUTBOX_REQUEUE_AFTER = REQUEUE_AFTER
    flaky = FakeBrandSystem(statuses=[503], on_request=lambda: len(flaky.requests) == 1 and broker.stop())
    workers.start()
    try:
        connection.set_tenant(fresh_brand)
        CatalogSettings.objects.create(service_credit_endpoint=flaky.url)
        order, _ = order_place(
            member_id=member_make("CAR-11", points=1000).pk,
            items=[RedeemItem(gift_id=service_gift().pk)],
            idempotency_key="flaky",
            actor="api:x",
        )
        push = wait_for(
            lambda: ServicePush.objects.filter(order=order, status=ServicePush.Status.FAILED).first()
        )
        assert push.attempts == 1 and push.last_error == f"HTTP 503 from {flaky.url}"
        assert push.requeue_at is not None

        workers.stop()
        broker.start()
        workers.start()
        wait_until_due(push)
        assert beat_sends("outbox-sweep").get(timeout=60) == 1
        push = sent(push)
    finally:
        flaky.close()
    assert push.attempts == 2 and push.requeue_at is None
    assert len(flaky.requests) == 2
    assert flaky.requests[0]["headers"]["Idempotency-Key"] == flaky.requests[1]["headers"]["Idempotency-Key"]


def test_a_given_up_push_sent_again_by_staff_with_the_broker_down_is_sent_by_the_sweeper(
    fresh_brand, workers, broker, endpoint, settings
):
    settings.OUTBOX_REQUEUE_AFTER = REQUEUE_AFTER
    workers.start()
    connection.set_tenant(fresh_brand)
    CatalogSettings.objects.create(service_credit_endpoint=endpoint.url)
    order, _ = order_place(
        member_id=member_make("CAR-12", points=1000).pk,
        items=[RedeemItem(gift_id=service_gift().pk)],
        idempotency_key="given-up",
        actor="api:x",
    )
    push = sent(ServicePush.objects.get(order=order))
    # As nine failed attempts leave a push: failed, given up (nothing due).
    ServicePush.objects.filter(pk=push.pk).update(
        status=ServicePush.Status.FAILED, attempts=9, requeue_at=None, last_error="HTTP 503"
    )
    staff = Client(HTTP_HOST=host_of(fresh_brand))
    staff.force_login(get_user_model().objects.get(username=f"admin@{fresh_brand.slug}.example"))

    broker.stop()
    started = time.monotonic()
    response = staff.post(
        "/backoffice/catalog/servicepush/",
        {"action": "send_again", "_selected_action": [push.pk]},
        follow=True,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and "1 push queued." in response.content.decode()
    assert elapsed < 2.0, f"{elapsed:.2f} s"

    broker.start()
    workers.stop()
    workers.start()
    wait_until_due(push)
    assert beat_sends("outbox-sweep").get(timeout=60) == 1
    push = sent(push)
    assert push.attempts == 10 and len(endpoint.requests) == 2


def test_a_push_queued_again_behind_busy_workers_has_one_retry_series(fresh_brand, workers, broker, settings):
    """Workers lagging behind by more than OUTBOX_REQUEUE_AFTER: the sweeper queues the push again
    while its first send still waits in the queue. The first copy run fails and queues its retry;
    the second finds that attempt made and does nothing. One attempt per request, each retry after
    its delay (two copies each attempting would be two retry series)."""
    settings.OUTBOX_REQUEUE_AFTER = REQUEUE_AFTER
    flaky = FakeBrandSystem(statuses=[503, 503])
    try:
        connection.set_tenant(fresh_brand)
        CatalogSettings.objects.create(service_credit_endpoint=flaky.url)
        order, _ = order_place(
            member_id=member_make("CAR-13", points=1000).pk,
            items=[RedeemItem(gift_id=service_gift().pk)],
            idempotency_key="backlog",
            actor="api:x",
        )
        push = ServicePush.objects.get(order=order)
        wait_until_due(push)  # its send still queued: no worker yet
        assert outbox_sweep() == OutboxSweep(queued=1, broker_down=False)
        workers.start(concurrency=1)  # the two copies run one after the other
        push = sent(push)
    finally:
        flaky.close()
    assert push.attempts == 3 and len(flaky.requests) == 3
    first, second, third = (request["at"] for request in flaky.requests)
    assert second - first >= retry_delay(attempts=1).total_seconds() - 0.1, f"{second - first:.2f} s"
    assert third - second >= retry_delay(attempts=2).total_seconds() - 0.1, f"{third - second:.2f} s"


@pytest.mark.parametrize("outage", ["killed", "frozen"])
def test_a_send_to_a_dead_or_frozen_broker_gives_up_within_its_timeout(broker, outage, settings):
    """Killed: the connection is refused at once. Frozen (SIGSTOP: the kernel still accepts the
    connection, nothing answers): the send gives up after OUTBOX_PUBLISH_TIMEOUT."""
    # A connection in the pool.
    assert task_send(task=service_push_send_task, schema_name="nobody", args=(1, 0))
    if outage == "killed":
        broker.stop()
    else:
        broker.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        sent = task_send(task=service_push_send_task, schema_name="nobody", args=(1, 0))
        elapsed = time.monotonic() - started
    finally:
        if outage == "frozen":
            broker.process.send_signal(signal.SIGCONT)
    assert not sent
    # Well under a second (19 s with Celery's own retries): twice the timeout, and room for a busy
    # machine's scheduling.
    assert elapsed < 2 * settings.OUTBOX_PUBLISH_TIMEOUT + 0.25, f"{elapsed:.3f} s"
    if outage == "killed":
        broker.start()
    assert task_send(task=service_push_send_task, schema_name="nobody", args=(1, 0))  # back: sent again


def test_sends_reuse_the_connections_of_their_pool(broker):
    """A send costs a publish on an open connection, not a connection of its own (~3.4 ms each)."""
    watcher = redis.Redis(port=broker.port)
    assert task_send(task=service_push_send_task, schema_name="nobody", args=(1, 0))
    connected = watcher.info("stats")["total_connections_received"]
    for _ in range(20):
        assert task_send(task=service_push_send_task, schema_name="nobody", args=(1, 0))
    assert watcher.info("stats")["total_connections_received"] == connected


def test_a_sweep_that_finds_the_broker_down_leaves_the_rows_due(fresh_brand, broker, settings):
    settings.OUTBOX_REQUEUE_AFTER = REQUEUE_AFTER
    connection.set_tenant(fresh_brand)
    gift = service_gift()
    broker.stop()
    for key in ("a", "b"):
        order_place(
            member_id=member_make(points=1000).pk,
            items=[RedeemItem(gift_id=gift.pk)],
            idempotency_key=key,
            actor="api:x",
        )
    wait_until_due(ServicePush.objects.latest("pk"))

    assert outbox_sweep() == OutboxSweep(queued=0, broker_down=True)
    now = timezone.now()
    assert all(push.requeue_at <= now for push in ServicePush.objects.all())

    broker.start()
    assert outbox_sweep() == OutboxSweep(queued=2, broker_down=False)
    claimed_until = timezone.now() + timedelta(seconds=REQUEUE_AFTER)
    assert all(now < push.requeue_at <= claimed_until for push in ServicePush.objects.all())
    assert outbox_sweep() == OutboxSweep(queued=0, broker_down=False)
