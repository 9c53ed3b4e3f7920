"""Stripe's webhook events: stored once by their id in the public schema, routed to their brand by
connected account, handled in a task in the brand's schema (README.md, "VIP and billing").

`stripe_event_store` is what the webhook view (`billing.hooks`, after checking the signature) and
the local sandbox (`billing.sandbox`, events shaped like Stripe's) call. It stores the event and
queues `billing.tasks.stripe_event_handle_task` after commit; a replay (Stripe sends an event again
until it gets a 2xx, and may send it twice anyway) finds the stored row and changes nothing.

`stripe_event_handle` runs in the brand's schema, under the event's row lock: an event is handled
once, a failure rolls its writes back and leaves it `received` for the beat's retry
(`stripe_events_retry`), `failed` after `ATTEMPTS_MAX` attempts with the error in its note. The
handlers (`billing.services.subscriptions`) are idempotent and order-proof.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.gateway import stripe_live
from core.errors import InvalidInput
from core.outbox import task_send
from tenants.models import StripeAccount, StripeEvent
from tenants.selectors import schema_current

from . import subscriptions

logger = logging.getLogger(__name__)

# A handling that failed this many times is given up (`failed`, the error in its note).
ATTEMPTS_MAX = 8
# An event still `received` is handled again by the beat this long after it was received, doubled
# with each attempt made (1, 2, 4... minutes: the last of `ATTEMPTS_MAX` about two hours after).
RETRY_FIRST_WAIT = timedelta(minutes=1)
NOTE_MAX = StripeEvent._meta.get_field("note").max_length or 300

# The types handled; any other is stored and marked processed with nothing done.
HANDLERS: dict[str, Callable[[StripeEvent], None]] = {
    "checkout.session.completed": subscriptions.checkout_session_apply,
    "customer.subscription.created": subscriptions.subscription_event_apply,
    "customer.subscription.updated": subscriptions.subscription_event_apply,
    "customer.subscription.deleted": subscriptions.subscription_event_apply,
    "customer.subscription.trial_will_end": subscriptions.subscription_event_apply,
    "invoice.paid": subscriptions.invoice_apply,
    "invoice.payment_failed": subscriptions.invoice_apply,
    "account.updated": subscriptions.account_event_apply,
}


def _payload_check(payload: object) -> dict:
    """The fields of an event that storing it needs, or InvalidInput naming the wrong one."""
    if not isinstance(payload, dict):
        raise InvalidInput("an event is a JSON object", field="payload")
    event_id = payload.get("id")
    if not isinstance(event_id, str) or not event_id.startswith("evt_") or len(event_id) > 64:
        raise InvalidInput("is not a Stripe event id (evt_...)", field="id")
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > 80:
        raise InvalidInput("is not an event type", field="type")
    created = payload.get("created")
    if not isinstance(created, int) or isinstance(created, bool) or created <= 0:
        raise InvalidInput("is not a Unix time in seconds", field="created")
    account = payload.get("account")
    if account is not None and (not isinstance(account, str) or len(account) > 64):
        raise InvalidInput("is not a connected account id", field="account")
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise InvalidInput("must hold the event's object", field="data")
    return payload


def stripe_event_store(*, payload: dict) -> tuple[StripeEvent, bool]:
    """Store the Stripe event `payload` (already verified or built by the sandbox) once by its id:
    (the event, True) when it is new, (the stored one, False) for a replay, which changes nothing.
    A new event of a known connected account is given its brand and its handling is queued after
    commit in the brand's schema; one of no or an unknown account, or of the other mode than the
    platform's key (a test mode event on the live platform), is stored `ignored`, logged."""
    payload = _payload_check(payload)
    existing = StripeEvent.objects.filter(event_id=payload["id"]).first()
    if existing is not None:
        return existing, False
    account_id = payload.get("account") or ""
    account = (
        StripeAccount.objects.select_related("brand").filter(account_id=account_id).first()
        if account_id
        else None
    )
    event = StripeEvent(
        event_id=payload["id"],
        type=payload["type"],
        account_id=account_id,
        brand=account.brand if account else None,
        livemode=bool(payload.get("livemode")),
        created=datetime.fromtimestamp(payload["created"], tz=UTC),
        payload=payload,
    )
    if account is None:
        event.note = (
            f"no brand has the connected account {account_id}" if account_id else "not a connected account's"
        )
    elif event.livemode != stripe_live():
        # Stripe sends a live endpoint its connected accounts' test mode events too: a test
        # subscription (made by the account's owner, no money) must give nothing here.
        event.note = "a test mode event on the live platform" if stripe_live() else "a live event off live"
    if event.note:
        event.state = StripeEvent.State.IGNORED
        event.handled_at = timezone.now()
    try:
        with transaction.atomic():
            event.save()
            if event.state == StripeEvent.State.RECEIVED and account is not None:
                _handle_queue(event_id=event.pk, schema_name=account.brand.schema_name)
    except IntegrityError:
        # The same event stored meanwhile by a request running at the same time.
        return StripeEvent.objects.get(event_id=payload["id"]), False
    if event.state == StripeEvent.State.IGNORED:
        logger.warning("stripe event %s (%s) ignored: %s", event.event_id, event.type, event.note)
    return event, True


def _handle_queue(*, event_id: int, schema_name: str) -> None:
    """Queue the event's handling in the brand's schema once the current transaction commits."""
    # Imported here: the tasks module imports this one.
    from billing.tasks import stripe_event_handle_task

    send = functools.partial(
        task_send, task=stripe_event_handle_task, schema_name=schema_name, args=(event_id,)
    )
    transaction.on_commit(send, robust=True)


def _note(text: str) -> str:
    return text if len(text) <= NOTE_MAX else text[: NOTE_MAX - 1] + "…"


def stripe_event_handle(*, event_id: int) -> StripeEvent | None:
    """Handle the stored event `event_id` in its brand's schema (the current one), once: None when
    there is no such event. An event already handled, ignored or failed is returned unchanged; one
    of another brand is refused here (never handled in the wrong schema)."""
    with transaction.atomic():
        event = (
            StripeEvent.objects.select_for_update(of=("self",))
            .select_related("brand")
            .filter(pk=event_id)
            .first()
        )
        if event is None or event.state != StripeEvent.State.RECEIVED:
            return event
        if event.brand is None or event.brand.schema_name != schema_current():
            logger.error(
                "stripe event %s of %s not handled in schema %s",
                event.event_id,
                event.brand.schema_name if event.brand else "no brand",
                schema_current(),
            )
            return event
        handler = HANDLERS.get(event.type)
        event.attempts += 1
        try:
            if handler is None:
                event.note = "type not handled"
            else:
                # The brand itself, not only its schema: its site's address is in some messages.
                with transaction.atomic(), tenant_context(event.brand):
                    handler(event)
        except subscriptions.NotOurs as error:
            event.state = StripeEvent.State.IGNORED
            event.note = _note(str(error))
            event.handled_at = timezone.now()
            logger.info("stripe event %s (%s) ignored: %s", event.event_id, event.type, event.note)
        except Exception as error:  # any failure is the event's: retried, then given up
            given_up = event.attempts >= ATTEMPTS_MAX
            event.note = _note(f"{type(error).__name__}: {error}")
            if given_up:
                event.state = StripeEvent.State.FAILED
                event.handled_at = timezone.now()
            logger.warning(
                "stripe event %s (%s) failed, attempt %d%s: %s",
                event.event_id,
                event.type,
                event.attempts,
                ", given up" if given_up else "",
                event.note,
                exc_info=not isinstance(error, subscriptions.NotYetKnown),
            )
        else:
            event.state = StripeEvent.State.PROCESSED
            event.handled_at = timezone.now()
            if handler is not None:
                event.note = ""
        event.save(update_fields=["attempts", "state", "note", "handled_at"])
    return event


def stripe_events_due(*, now: datetime | None = None, limit: int = 1000) -> list[tuple[int, str]]:
    """(id, brand schema) of the events still `received` whose next try is due (`RETRY_FIRST_WAIT`
    after they were received, doubled with each attempt made), oldest first, at most `limit`."""
    now = now or timezone.now()
    due = Q()
    for attempts in range(ATTEMPTS_MAX):
        due |= Q(attempts=attempts, received_at__lte=now - RETRY_FIRST_WAIT * 2**attempts)
    return list(
        StripeEvent.objects.filter(due, state=StripeEvent.State.RECEIVED, brand__isnull=False)
        .order_by("received_at", "pk")
        .values_list("pk", "brand__schema_name")[:limit]
    )


def stripe_events_requeue(*, event: StripeEvent, customer_id: str) -> int:
    """Queue again, after commit, the other events of `event`'s brand still `received` about the
    customer `customer_id` (waiting for the checkout session or subscription `event` brings):
    how many. Those being tried at this moment are included: a try that has just missed what
    `event` commits is tried again (a copy of a queued one finds it handled and does nothing)."""
    waiting = list(
        StripeEvent.objects.filter(
            brand=event.brand,
            state=StripeEvent.State.RECEIVED,
            payload__data__object__customer=customer_id,
        )
        .exclude(pk=event.pk)
        .values_list("pk", flat=True)
    )
    schema_name = schema_current()
    for pk in waiting:
        _handle_queue(event_id=pk, schema_name=schema_name)
    return len(waiting)
