"""Stripe's webhook: `POST /hooks/stripe/` on the platform's domain, the one endpoint of every
brand's connected account (README.md, "VIP and billing").

The signature (`Stripe-Signature`, made with the endpoint's secret `STRIPE_WEBHOOK_SECRET`) is
checked on the raw body by the stripe library, timestamp tolerance included; a bad or missing one,
a body that is not an event, or a body over `BODY_MAX_BYTES` is a 400 (413) and nothing is stored.
A verified event is stored once by `stripe_event_store` and answered 200 at once, a replay too:
the handling runs in a task, and Stripe sends again whatever did not get a 2xx.
"""

from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.services.events import stripe_event_store
from core.errors import InvalidInput

logger = logging.getLogger(__name__)

# Stripe's events are a few kilobytes, tens for the largest objects.
BODY_MAX_BYTES = 256 * 1024
# A signature older than this is refused, a replay by someone who saw a request (Stripe's own
# library's default: five minutes).
SIGNATURE_TOLERANCE = stripe.Webhook.DEFAULT_TOLERANCE


def _refused(message: str, *, status: int = 400, field: str | None = None) -> JsonResponse:
    return JsonResponse({"error": message, "field": field}, status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > BODY_MAX_BYTES:
        return _refused(f"the body is over {BODY_MAX_BYTES} bytes", status=413)
    body = request.read(BODY_MAX_BYTES + 1)
    if len(body) > BODY_MAX_BYTES:
        return _refused(f"the body is over {BODY_MAX_BYTES} bytes", status=413)
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.warning("stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
        return _refused("webhooks are not set up")
    try:
        text = body.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            text, request.headers.get("Stripe-Signature", ""), secret, tolerance=SIGNATURE_TOLERANCE
        )
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return _refused("the body is not a JSON event")
    except stripe.SignatureVerificationError:
        return _refused("the signature does not match")
    try:
        event, created = stripe_event_store(payload=payload)
    except InvalidInput as error:
        return _refused(f"not a Stripe event: {error.message}", field=error.field)
    return JsonResponse({"id": event.event_id, "state": event.state, "replay": not created})
