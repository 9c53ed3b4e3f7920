"""Reads of the outgoing webhooks: the endpoints, their deliveries, and what the brand subscribes
to, cached so that an event nobody listens to costs no query (README, "Messaging > Webhooks")."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db.models import Prefetch, QuerySet

from loyalty.models import Member
from messaging.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# The cache key of the event types the brand's active endpoints subscribe to (the cache's key
# function adds the brand's schema); forgotten when an endpoint changes (`messaging.services.webhooks`).
SUBSCRIPTIONS_KEY = "messaging:webhook-subscriptions"
SUBSCRIPTIONS_TTL = 3600


def webhook_subscriptions() -> frozenset[str]:
    """The event types some active endpoint of the brand subscribes to: from the cache (no query),
    read from the database when it has none (or is down)."""
    try:
        cached = cache.get(SUBSCRIPTIONS_KEY)
    except Exception:
        logger.warning("webhook subscriptions not read from the cache", exc_info=True)
        cached = None
    if cached is not None:
        return frozenset(cached)
    types = frozenset(
        event_type
        for events in WebhookEndpoint.objects.filter(is_active=True).values_list("events", flat=True)
        for event_type in events
    )
    try:
        cache.set(SUBSCRIPTIONS_KEY, sorted(types), SUBSCRIPTIONS_TTL)
    except Exception:
        logger.warning("webhook subscriptions not cached", exc_info=True)
    return types


def webhook_endpoints_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def webhook_endpoint_get(*, endpoint_id: int) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(pk=endpoint_id).first()


def webhook_deliveries_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, latest first, each with its attempts (one query for them all)."""
    attempts = Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("at", "id"))
    return endpoint.deliveries.order_by("-created_at", "-id").prefetch_related(attempts)


def webhook_delivery_get(*, delivery_id: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()


def webhook_members_data(*, member_ids: set[int]) -> dict[int, dict[str, Any]]:
    """What an event says of each member (one query): external id, kind, status, tier, balance."""
    rows = Member.objects.filter(pk__in=member_ids).values(
        "pk", "external_id", "kind", "status", "tier__code", "balance", "is_vip"
    )
    return {
        row["pk"]: {
            "external_id": row["external_id"],
            "kind": row["kind"],
            "status": row["status"],
            "tier": row["tier__code"],
            "balance": row["balance"],
            "is_vip": row["is_vip"],
        }
        for row in rows
    }
