"""Outgoing webhooks (README, "Messaging > Webhooks"; docs/webhooks.md): the brand's endpoints,
the deliveries an event makes (outbox rows of core.outbox, in the transaction that emits it), and
each delivery's send: signed, retried with exponential backoff for a day, then given up; an endpoint
failing for a day is switched off and the brand's admins are told by e-mail.

A delivery's send holds its row's lock while it POSTs (at most `WEBHOOKS_TIMEOUT_SECONDS` per
read), so two copies of its task never send it at once; a worker killed meanwhile leaves it waiting,
and the sweeper sends it again with the same event id (the receiver drops the duplicate).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.errors import InvalidInput, NotFound, Refused
from core.outbox import enqueue_on_commit, requeue_after, requeue_at_for
from loyalty.selectors.programme import programme_settings
from messaging.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from messaging.models.webhooks import URL_MAX_LENGTH
from messaging.selectors.variables import site_url
from messaging.selectors.webhooks import SUBSCRIPTIONS_KEY, webhook_subscriptions
from messaging.webhooks.addresses import AddressRefused, target_resolve
from messaging.webhooks.events import EVENT_TYPES, event_envelope, event_types_check
from messaging.webhooks.http import webhook_post
from messaging.webhooks.signing import secret_new
from tenants.selectors import brand_timezone

logger = logging.getLogger(__name__)

# Retries: 1 min after the first failure, then 2, 4, 8... at most an hour apart, the last one a day
# after the first attempt; then the delivery is given up.
RETRY_FIRST = timedelta(minutes=1)
RETRY_LONGEST = timedelta(hours=1)
RETRY_WINDOW = timedelta(hours=24)
# An endpoint with no success for this long since a failure is switched off.
SWITCH_OFF_AFTER = timedelta(hours=24)
ENDPOINTS_MAX = 20
ENDPOINT_FIELDS = ("url", "description", "events", "is_active")
WAITING = (WebhookDelivery.State.PENDING, WebhookDelivery.State.FAILED)


# --- endpoints -------------------------------------------------------------------------------------


def webhook_subscriptions_forget() -> None:
    """After a change of endpoints: the cached subscriptions are read again, now (this transaction
    sees its change) and after commit (another process may have cached the old ones meanwhile)."""

    def forget() -> None:
        try:
            cache.delete(SUBSCRIPTIONS_KEY)
        except Exception:
            logger.warning("webhook subscriptions not forgotten in the cache", exc_info=True)

    forget()
    transaction.on_commit(forget, robust=True)


def webhook_endpoint_validate(*, data: Mapping[str, Any]) -> dict[str, Any]:
    """The endpoint fields of `data`, checked: the URL (https://, resolving to public addresses
    only, outside development), the event types of the catalogue. InvalidInput names each field."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - set(ENDPOINT_FIELDS))
    for name in unknown:
        errors[name] = [_("is not an endpoint field")]
    clean: dict[str, Any] = {}
    if "url" in data:
        url = data["url"]
        if not isinstance(url, str) or not url.strip():
            errors["url"] = [_("an https:// URL is required")]
        elif len(url.strip()) > URL_MAX_LENGTH:
            errors["url"] = [_("at most %(count)d characters") % {"count": URL_MAX_LENGTH}]
        else:
            try:
                target_resolve(url.strip())
                clean["url"] = url.strip()
            except AddressRefused as refused:
                errors["url"] = [str(refused)]
    if "events" in data:
        problems = event_types_check(data["events"])
        if problems:
            errors["events"] = problems
        else:
            clean["events"] = list(dict.fromkeys(data["events"]))
    if "description" in data:
        description = data["description"]
        if not isinstance(description, str) or len(description) > 200:
            errors["description"] = [_("a text of at most 200 characters")]
        else:
            clean["description"] = description.strip()
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors["is_active"] = [_("true or false")]
        else:
            clean["is_active"] = data["is_active"]
    if errors:
        raise InvalidInput(errors)
    return clean


def webhook_endpoint_create(*, data: Mapping[str, Any]) -> WebhookEndpoint:
    """A new endpoint (`url` and `events` required), with a new signing secret: the caller shows
    `endpoint.secret` once, now; nothing answers it again."""
    missing = {name: [_("required")] for name in ("url", "events") if name not in data}
    if missing:
        raise InvalidInput(missing)
    clean = webhook_endpoint_validate(data=data)
    with transaction.atomic():
        if WebhookEndpoint.objects.count() >= ENDPOINTS_MAX:
            raise Refused(
                _("at most %(count)d endpoints per brand") % {"count": ENDPOINTS_MAX},
                code="too_many_endpoints",
            )
        endpoint = WebhookEndpoint(secret=secret_new(), **clean)
        _active_set(endpoint, active=clean.get("is_active", True), now=timezone.now())
        endpoint.save()
        webhook_subscriptions_forget()
    return endpoint


def _active_set(endpoint: WebhookEndpoint, *, active: bool, now: datetime) -> None:
    """Switched on: no longer counted as failing; switched off by staff: said so."""
    new = endpoint.pk is None
    if active and (new or not endpoint.is_active):
        endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = None, "", None
    elif not active and (new or endpoint.is_active):
        endpoint.disabled_at, endpoint.disabled_reason = now, _("switched off by staff")
    endpoint.is_active = active


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, data: Mapping[str, Any]) -> WebhookEndpoint:
    """Set the fields given (the others keep their value). Switching an endpoint back on clears
    its failure; its deliveries given up stay so (staff send them again)."""
    clean = webhook_endpoint_validate(data=data)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if "is_active" in clean:
            _active_set(endpoint, active=clean.pop("is_active"), now=timezone.now())
        for name, value in clean.items():
            setattr(endpoint, name, value)
        endpoint.save()
        webhook_subscriptions_forget()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its deliveries and their attempts."""
    with transaction.atomic():
        endpoint.delete()
        webhook_subscriptions_forget()


# --- events: one delivery per event and endpoint ---------------------------------------------------


def webhook_events_emit(*, events: Iterable[tuple[str, dict[str, Any]]], at: datetime | None = None) -> int:
    """Store a delivery of each `(type, data)` event for every active endpoint subscribed to its
    type, in the current transaction, and queue their sends after commit. Without an endpoint
    subscribed to any of the types this costs no query (the subscriptions are cached); with some,
    one read of the endpoints, one insert of every delivery and one message to the broker after
    commit. How many deliveries were stored."""
    subscribed = webhook_subscriptions()
    wanted = [(event_type, data) for event_type, data in events if event_type in subscribed]
    if not wanted:
        return 0
    from messaging.webhooks.tasks import (  # the task module imports this one
        webhook_deliveries_queue_task,
        webhook_delivery_send_task,
    )

    at = at or timezone.now()
    with transaction.atomic():
        types = sorted({event_type for event_type, _data in wanted})
        endpoints = list(
            WebhookEndpoint.objects.filter(is_active=True, events__overlap=types).values_list("pk", "events")
        )
        rows = []
        for event_type, data in wanted:
            event_id = uuid.uuid4()
            payload = event_envelope(event_id=event_id, type=event_type, data=data, at=at)
            rows += [
                WebhookDelivery(
                    endpoint_id=endpoint_id,
                    event_id=event_id,
                    event_type=event_type,
                    payload=payload,
                    next_attempt_at=at,
                    requeue_at=at + requeue_after(),
                )
                for endpoint_id, subscribed_types in endpoints
                if event_type in subscribed_types
            ]
        stored = WebhookDelivery.objects.bulk_create(rows)
        # One message to the broker for the whole batch, whatever its size: the send itself, or the
        # task that queues each send from the worker (the sweeper sends what that one loses).
        if len(stored) == 1:
            enqueue_on_commit(webhook_delivery_send_task, stored[0].pk, 0)
        elif stored:
            enqueue_on_commit(webhook_deliveries_queue_task, [row.pk for row in stored])
    return len(stored)


def webhook_event_emit(*, type: str, data: dict[str, Any]) -> int:
    """One event of `type` (of `messaging.webhooks.events.EVENT_TYPES`) with its `data` (JSON),
    delivered to the endpoints subscribed to it (`webhook_events_emit`): for the apps that send
    events of their own (the VIP subscriptions' `subscription.changed`)."""
    if type not in EVENT_TYPES:
        raise InvalidInput(f"unknown webhook event type '{type}'", field="type")
    return webhook_events_emit(events=[(type, data)])


# --- sending ------------------------------------------------------------------------------------------


def webhook_retry_at(*, first_attempt_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """When a delivery that has failed `attempts` times is tried again: 1 min after the first
    failure, twice as long each time, at most `RETRY_LONGEST` apart, the last try `RETRY_WINDOW`
    after the first attempt; None once that is past (given up)."""
    deadline = first_attempt_at + RETRY_WINDOW
    if now >= deadline:
        return None
    delay = min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_LONGEST)
    return min(now + delay, deadline)


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The bytes sent (and signed) for a delivery: its payload as compact JSON, the same each time."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def webhook_delivery_send(*, delivery_id: int, attempts: int) -> WebhookDelivery | None:
    """Make attempt `attempts` + 1 of a waiting delivery, once: None (nothing done) when a send of it
    is under way, it is settled, or it has had another attempt since (another copy of the task).
    The attempt is recorded with the receiver's answer; a failure sets the next retry
    (`webhook_retry_at`, queued by the task; the sweeper's `requeue_at` if that is lost) or gives
    the delivery up, and counts against the endpoint (`SWITCH_OFF_AFTER`)."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.state not in WAITING or delivery.attempts != attempts:
            return None
        endpoint = delivery.endpoint
        if not endpoint.is_active:
            _given_up(delivery, error=_("the endpoint is switched off"))
            delivery.save()
            return delivery
        started = timezone.now()
        answer = webhook_post(
            url=endpoint.url,
            secret=endpoint.secret,
            body=webhook_body(delivery),
            event_id=str(delivery.event_id),
            event_type=delivery.event_type,
        )
        now = timezone.now()
        WebhookAttempt.objects.create(
            delivery=delivery,
            at=started,
            status_code=answer.status_code,
            duration_ms=answer.duration_ms,
            response_body=answer.body,
            error=answer.error,
        )
        delivery.attempts += 1
        delivery.first_attempt_at = delivery.first_attempt_at or started
        delivery.last_attempt_at = started
        delivery.last_response_status, delivery.last_response_body = answer.status_code, answer.body
        delivery.last_error = answer.error
        if answer.ok:
            delivery.state, delivery.succeeded_at = WebhookDelivery.State.SUCCEEDED, now
            delivery.next_attempt_at = delivery.requeue_at = None
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None, updated_at=now
            )
        else:
            retry_at = webhook_retry_at(
                first_attempt_at=delivery.first_attempt_at, attempts=delivery.attempts, now=now
            )
            if _endpoint_failed(endpoint=endpoint, failed_at=started, delivery=delivery):
                retry_at = None
            if retry_at is None:
                _given_up(delivery, error=answer.error)
            else:
                delivery.state, delivery.next_attempt_at = WebhookDelivery.State.FAILED, retry_at
                delivery.requeue_at = requeue_at_for(at=retry_at, now=now)
            logger.info(
                "webhook delivery %s failed (attempt %s): %s", delivery.pk, delivery.attempts, answer.error
            )
        delivery.save()
    return delivery


def _given_up(delivery: WebhookDelivery, *, error: str) -> None:
    delivery.state, delivery.last_error = WebhookDelivery.State.GIVEN_UP, error
    delivery.next_attempt_at = delivery.requeue_at = None


def _endpoint_failed(*, endpoint: WebhookEndpoint, failed_at: datetime, delivery: WebhookDelivery) -> bool:
    """Count a failure against the endpoint; True when that switched it off (failing since
    `SWITCH_OFF_AFTER` or longer): its waiting deliveries are given up and the brand told, once."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
        failing_since=failed_at, updated_at=failed_at
    )
    with translation.override(programme_settings().default_language):  # staff read it there
        reason = _("no successful delivery for %(hours)d hours: switched off on %(date)s") % {
            "hours": int(SWITCH_OFF_AFTER.total_seconds() // 3600),
            "date": timezone.localtime(failed_at, brand_timezone()).strftime("%Y-%m-%d %H:%M %Z"),
        }
    switched = WebhookEndpoint.objects.filter(
        pk=endpoint.pk, is_active=True, failing_since__lte=failed_at - SWITCH_OFF_AFTER
    ).update(is_active=False, disabled_at=failed_at, disabled_reason=reason, updated_at=failed_at)
    if not switched:
        return False
    WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, state__in=WAITING).exclude(pk=delivery.pk).update(
        state=WebhookDelivery.State.GIVEN_UP, next_attempt_at=None, requeue_at=None, last_error=reason
    )
    webhook_subscriptions_forget()
    endpoint_id, url = endpoint.pk, endpoint.url
    transaction.on_commit(lambda: _brand_told(endpoint_id=endpoint_id, url=url, reason=reason), robust=True)
    logger.warning("webhook endpoint %s (%s) switched off: %s", endpoint_id, url, reason)
    return True


def _brand_told(*, endpoint_id: int, url: str, reason: str) -> None:
    """An e-mail to the brand's admins (its active superusers with an address), in the programme's
    language (as `reason` is): which endpoint was switched off, why, and where to switch it on."""
    admins = list(
        get_user_model()
        .objects.filter(is_active=True, is_superuser=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not admins:
        logger.warning("webhook endpoint %s switched off: the brand has no admin to tell", endpoint_id)
        return
    brand = getattr(connection, "tenant", None)
    page = f"{site_url().rstrip('/')}/backoffice/messaging/webhookendpoint/{endpoint_id}/change/"
    with translation.override(programme_settings().default_language):
        subject = _("%(brand)s: a webhook endpoint was switched off") % {"brand": getattr(brand, "name", "")}
        body = _(
            "The webhook endpoint %(url)s was switched off: %(reason)s.\n\n"
            "Its deliveries were given up. Once your system answers again, switch the endpoint on and "
            "send the deliveries you need again in the backoffice:\n%(page)s\n"
        ) % {"url": url, "reason": reason, "page": page}
    send_mail(subject, body, None, admins)


def webhook_delivery_send_again(*, delivery_id: int) -> WebhookDelivery:
    """Staff's or the API's "send again": a new attempt of the delivery, with the same event id,
    queued after commit (the sweeper sends it if the broker is down). A failure of it is retried
    only while the day after the delivery's first attempt lasts. Refused while the endpoint is
    switched off."""
    from messaging.webhooks.tasks import webhook_delivery_send_task  # the task module imports this one

    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            raise NotFound(f"no webhook delivery with id {delivery_id}", field="delivery_id")
        if not delivery.endpoint.is_active:
            raise Refused(_("the endpoint is switched off: switch it on first"), code="endpoint_switched_off")
        now = timezone.now()
        delivery.state, delivery.next_attempt_at = WebhookDelivery.State.PENDING, now
        delivery.requeue_at = now + requeue_after()
        delivery.save(update_fields=["state", "next_attempt_at", "requeue_at"])
        enqueue_on_commit(webhook_delivery_send_task, delivery.pk, delivery.attempts)
    return delivery
