"""The outbox: how a committed write hands work to Celery without depending on the broker.

A write that causes a side effect (a push to a brand's system; later a message, a webhook, a
payment event) stores it as a row in the write's own transaction and queues the task that sends
that row with `enqueue_on_commit`. The send after commit is one bounded attempt (short timeouts, no
retry but one fresh connection in place of a pooled one found dead, no result subscription): with
the broker down it logs and returns, and the committed answer stands.

Every outbox model has a `requeue_at` column: when a send of the row is queued again if the row is
still waiting (null: nothing left to send), and an `attempts` column: how many sends were tried. A
new row gets `requeue_after()` from now; the sweeper (`core.tasks.outbox_sweep_all_task`, run by
beat) claims the rows past it in every brand's schema, moves it on by `requeue_after()` and queues
their task. A send is queued as `task(id, attempts)`, with the row's attempts at that moment: the
task locks the row, checks its state and makes an attempt only if the row has had no other since.
So a row queued twice (two sweeps, a sweep while its first send or its retry waits behind busy
workers) is sent once, and a failed attempt is followed by one retry, not one per copy. An app
plugs an outbox in with `outbox_register(model=..., task=...)` next to its task.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Celery, Task
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from kombu.connection import ConnectionPool
from kombu.exceptions import KombuError

from tenants.selectors import schema_current

logger = logging.getLogger(__name__)

# Rows claimed per statement by the sweeper; a sweep goes on until fewer are due.
SWEEP_BATCH = 500
# Brands' schemas looked at per statement for rows due (`outbox_schemas_due`).
SCHEMAS_PER_LOOK = 200
# A failed send is tried again 1 s, 2 s, 4 s... 128 s later (about 4 minutes in all), then given up.
RETRY_MAX_ATTEMPTS = 9


@dataclass(frozen=True)
class OutboxKind:
    """One outbox: its model (with `requeue_at` and `attempts` columns) and the task that sends one
    row, called with the row's id and its attempts when it was queued."""

    model: type[models.Model]
    task: Task


_KINDS: dict[str, OutboxKind] = {}


def outbox_register(*, model: type[models.Model], task: Task) -> None:
    """Make the sweeper pick up `model`'s rows past their `requeue_at`, and send each with
    `task(id, attempts)`."""
    _KINDS[model._meta.label] = OutboxKind(model=model, task=task)


def outbox_kinds() -> list[OutboxKind]:
    return list(_KINDS.values())


def requeue_after() -> timedelta:
    """How long a queued send has to take its row out of waiting before the sweeper queues it again."""
    return timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER)


def requeue_at_for(*, at: datetime, now: datetime | None = None) -> datetime:
    """The `requeue_at` of a row whose send is due at `at`. Within `requeue_after()` of now its send
    is queued at once with a countdown (`task_send_at`), and that copy gets the window to run: `at`
    plus `requeue_after()`. Later, nothing is queued, and the sweeper must queue it when it is due
    (at its next pass, OUTBOX_SWEEP_INTERVAL at most), not a window after: `at` itself. At the edge
    both may queue it (the task decides a moment later): the second copy finds the attempt made and
    does nothing."""
    return at + requeue_after() if _queued_with_countdown(at=at, now=now or timezone.now()) else at


def _queued_with_countdown(*, at: datetime, now: datetime) -> bool:
    """Whether a send due at `at` is queued now with its countdown (`task_send_at`), or left to
    the sweeper: the one rule both follow."""
    return at - now <= requeue_after()


def retry_delay(*, attempts: int) -> timedelta | None:
    """How long after its `attempts`-th failure a row is sent again; None once it is given up."""
    if attempts >= RETRY_MAX_ATTEMPTS:
        return None
    return timedelta(seconds=2 ** (attempts - 1))


# --- the bounded send ----------------------------------------------------------------------------


@functools.cache
def _publish_pool(app: Celery, url: str) -> ConnectionPool:
    """Broker connections for sends that must not wait: one connect attempt, short socket timeouts,
    `broker_pool_limit` of them kept open. The worker's own connections keep the app's settings
    (blocking reads, reconnecting forever)."""
    timeout = settings.OUTBOX_PUBLISH_TIMEOUT
    broker = app.connection_for_write(
        url,
        connect_timeout=timeout,
        transport_options={"max_retries": 0, "socket_connect_timeout": timeout, "socket_timeout": timeout},
    )
    return broker.Pool(limit=app.conf.broker_pool_limit)


def task_send(
    *,
    task: Task,
    schema_name: str,
    args: tuple = (),
    kwargs: dict[str, Any] | None = None,
    countdown: float | None = None,
) -> bool:
    """Queue `task` to run in the brand `schema_name`: each step (a free connection of the pool,
    connecting, publishing) bounded by `OUTBOX_PUBLISH_TIMEOUT`, and one attempt, or two when a
    pooled connection fails: the node closed it while it sat idle (a RabbitMQ restart; Redis'
    client reconnects by itself), so a fresh connection is tried once, if the first attempt took
    less than `OUTBOX_PUBLISH_TIMEOUT` (at most about twice that in all). False (logged) when the
    broker did not take it: the sender's outbox row is still waiting, and the sweeper queues it
    again once the broker is back."""
    app = task.app
    timeout = settings.OUTBOX_PUBLISH_TIMEOUT
    pool = _publish_pool(app, app.conf.broker_write_url or app.conf.broker_url)
    started = time.monotonic()
    try:
        with pool.acquire(block=True, timeout=timeout) as broker:
            # A connection never opened failed to connect: a second would fail as the first (a
            # stopped broker refuses at once, a frozen one waits a timeout again).
            was_open = broker.connected
            for last in (False, True):
                try:
                    task.apply_async(
                        args=args,
                        kwargs=kwargs,
                        countdown=countdown,
                        headers={"_schema_name": schema_name},
                        connection=broker,
                        retry=False,
                        ignore_result=True,
                    )
                    break
                except (KombuError, OSError):
                    broker.collect()  # its sockets are dead: its next send connects again
                    if last or not was_open or time.monotonic() - started >= timeout:
                        raise
    except (KombuError, OSError) as error:
        logger.warning(
            "broker unavailable after %.3f s: %s%r for %s left to the outbox sweeper (%s)",
            time.monotonic() - started,
            task.name,
            args,
            schema_name,
            error,
        )
        return False
    return True


def task_send_at(*, task: Task, schema_name: str, args: tuple = (), at: datetime) -> bool:
    """Queue `task` to run at `at` in the brand `schema_name` (`task_send` with its countdown), if
    that is at most `requeue_after()` from now; a later one is not queued: the caller's row has its
    `requeue_at` at `at` (`requeue_at_for`), and the sweeper queues it then. A countdown task waits
    unacknowledged in the worker that took it: RabbitMQ closes the channel of a consumer holding one
    past its consumer_timeout (30 minutes by default) and the worker exits; Redis gives one
    unacknowledged for its visibility timeout (an hour) to another worker, which would wait again.
    Whether it was queued."""
    now = timezone.now()
    if not _queued_with_countdown(at=at, now=now):  # the sweeper's (`requeue_at_for`)
        return False
    countdown = max(0.0, (at - now).total_seconds())
    return task_send(task=task, schema_name=schema_name, args=args, countdown=countdown)


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Queue `task` once the current transaction commits, in the schema that is active *now*.

    The schema is captured at call time: by the time the transaction commits, the connection may
    have moved to another schema, and the task must still run in the brand that asked for it. The
    send is `task_send`'s bounded attempt and never raises into the committed write (robust), so
    what it sends must be an outbox row that the sweeper sends again.
    """
    schema_name = schema_current()
    send = functools.partial(task_send, task=task, schema_name=schema_name, args=args, kwargs=kwargs)
    transaction.on_commit(send, robust=True)


# --- the sweeper ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxSweep:
    queued: int
    broker_down: bool


def outbox_schemas_due(schema_names: list[str]) -> list[str]:
    """The schemas among `schema_names` holding an outbox row past its `requeue_at`, in their order:
    one statement per `SCHEMAS_PER_LOOK` schemas, each look one probe of the partial index on
    `requeue_at`, so an idle sweep of many brands costs a few statements, not two per brand."""
    kinds = outbox_kinds()
    if not kinds:
        return []
    quote = connection.ops.quote_name
    now = timezone.now()
    due: set[str] = set()
    for start in range(0, len(schema_names), SCHEMAS_PER_LOOK):
        chunk = schema_names[start : start + SCHEMAS_PER_LOOK]
        # Quoted names of the registry's schemas and models only; the values are parameters.
        looks = [
            f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(schema)}.{quote(kind.model._meta.db_table)} "  # noqa: S608
            "WHERE requeue_at <= %s)"
            for schema in chunk
            for kind in kinds
        ]
        params = [value for schema in chunk for _ in kinds for value in (schema, now)]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(looks), params)
            due.update(schema for (schema,) in cursor.fetchall())
    return [schema for schema in schema_names if schema in due]


def _due_claim(*, kind: OutboxKind, now: datetime, until: datetime) -> list[tuple[int, int]]:
    """(id, attempts) of up to `SWEEP_BATCH` rows past their `requeue_at`, moved on to `until`
    (committed): a sweep running at the same time skips them (locked) or no longer finds them due."""
    rows = kind.model._default_manager
    with transaction.atomic():
        claimed = list(
            rows.select_for_update(skip_locked=True)
            .filter(requeue_at__lte=now)
            .order_by("requeue_at")
            .values_list("pk", "attempts")[:SWEEP_BATCH]
        )
        rows.filter(pk__in=[pk for pk, _ in claimed]).update(requeue_at=until)
    return claimed


def outbox_sweep() -> OutboxSweep:
    """In the current brand's schema, queue a send of every outbox row past its `requeue_at`, once.
    Stops at the first send the broker refuses; the rows not queued are due again at once."""
    schema_name = schema_current()
    queued = 0
    for kind in outbox_kinds():
        while True:
            now = timezone.now()
            until = now + requeue_after()
            claimed = _due_claim(kind=kind, now=now, until=until)
            for index, (pk, attempts) in enumerate(claimed):
                if not task_send(task=kind.task, schema_name=schema_name, args=(pk, attempts)):
                    not_queued = [pk for pk, _ in claimed[index:]]
                    kind.model._default_manager.filter(pk__in=not_queued, requeue_at=until).update(
                        requeue_at=now
                    )
                    return OutboxSweep(queued=queued, broker_down=True)
                queued += 1
            if len(claimed) < SWEEP_BATCH:
                break
    return OutboxSweep(queued=queued, broker_down=False)
