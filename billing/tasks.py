"""Billing tasks: the handling of a Stripe event in its brand's schema, and the beats that retry
events left waiting and end VIP when a cancelled subscription's period is over."""

from __future__ import annotations

from celery import shared_task
from django_tenants.utils import schema_context

from tenants.models import Brand

from .services.events import stripe_event_handle, stripe_events_due
from .services.subscriptions import subscriptions_period_end_refresh


@shared_task(name="billing.stripe_event_handle")
def stripe_event_handle_task(event_id: int) -> str | None:
    """Handle one stored Stripe event (queued in its brand's schema by `stripe_event_store`)."""
    event = stripe_event_handle(event_id=event_id)
    return event.state if event is not None else None


@shared_task(name="billing.stripe_events_retry")
def stripe_events_retry_task() -> int:
    """Handle again the events still `received` whose next try is due, each in its brand's
    schema (beat, every minute): a broker that was down, a member not linked yet, a failure."""
    handled = 0
    for event_id, schema_name in stripe_events_due():
        with schema_context(schema_name):
            stripe_event_handle(event_id=event_id)
        handled += 1
    return handled


@shared_task(name="billing.period_end_all")
def subscriptions_period_end_all_task() -> int:
    """In every brand with a Stripe account, recompute the VIP of members whose cancelled
    subscription's period has ended (beat, every 5 minutes)."""
    ended = 0
    schema_names = Brand.objects.filter(stripe_account__isnull=False).values_list("schema_name", flat=True)
    for schema_name in list(schema_names):
        with schema_context(schema_name):
            ended += subscriptions_period_end_refresh()
    return ended
