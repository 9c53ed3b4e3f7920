"""E-mail providers' tracking webhooks on the brand's host: `POST /hooks/email/<esp>/tracking/`
(README, "Messaging > E-mail").

Each request runs anymail's own webhook view for the ESP, configured for this brand alone: the
brand's `email_webhook_secret` as the basic auth anymail checks (the `user:password` put in the
webhook's URL at the provider), plus the ESP's signature where it has one (Mailgun's signing key,
SendGrid's verification key, from the brand's credentials). Missing auth is a 401 with a Basic
challenge (Amazon SNS sends credentials only after one), wrong auth or a bad signature a 403,
and nothing changes. The events anymail parses are applied by `email_event_apply`, in this
brand's schema only.
"""

from __future__ import annotations

import logging
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from messaging.models import ChannelSettings
from messaging.selectors.templates import channel_settings_get
from messaging.services.email_tracking import EmailEvent, email_event_apply

logger = logging.getLogger(__name__)

Providers = ChannelSettings.EmailProvider

TRACKING_VIEWS: dict[str, str] = {
    Providers.MAILGUN: "anymail.webhooks.mailgun.MailgunTrackingWebhookView",
    Providers.SENDGRID: "anymail.webhooks.sendgrid.SendGridTrackingWebhookView",
    Providers.AMAZON_SES: "anymail.webhooks.amazon_ses.AmazonSESTrackingWebhookView",
    Providers.BREVO: "anymail.webhooks.brevo.BrevoTrackingWebhookView",
}


class _Collected:
    """Stands in for anymail's `tracking` signal on one view instance: the events it parsed are
    kept for this request instead of going to every receiver of the process."""

    def __init__(self) -> None:
        self.events: list[AnymailTrackingEvent] = []

    def send(self, *, sender: Any, event: AnymailTrackingEvent, esp_name: str) -> None:
        self.events.append(event)


def _view_options(provider: str, credentials: dict[str, Any]) -> dict[str, Any]:
    if provider == Providers.MAILGUN:
        key = credentials.get("webhook_signing_key") or credentials.get("api_key")
        return {"webhook_signing_key": key} if key else {}
    if provider == Providers.SENDGRID and credentials.get("webhook_verification_key"):
        return {"webhook_verification_key": credentials["webhook_verification_key"]}
    if provider == Providers.AMAZON_SES:
        return {key: credentials[key] for key in ("session_params", "client_params") if key in credentials}
    return {}


def _hard_bounce(provider: str, event: AnymailTrackingEvent) -> bool:
    """Whether a `bounced` event is permanent (anymail files some soft bounces under it; Mailgun's
    temporary failures it files under `deferred`)."""
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    if provider == Providers.BREVO:
        return raw.get("event") != "soft_bounce"
    if provider == Providers.AMAZON_SES:
        return (raw.get("bounce") or {}).get("bounceType") == "Permanent"
    if provider == Providers.SENDGRID:
        return raw.get("type") != "blocked"
    return True


def _unauthorised() -> HttpResponse:
    response = HttpResponse("authentication required", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Basic realm="e-mail tracking"'
    return response


@csrf_exempt
@require_http_methods(["POST", "HEAD"])
def email_tracking(request: HttpRequest, esp: str) -> HttpResponse:
    channel_settings = channel_settings_get()
    provider = channel_settings.email_provider
    if esp != provider or esp not in TRACKING_VIEWS:
        raise Http404("no such e-mail provider here")
    if request.method == "HEAD":  # some providers check the address with a HEAD first
        return HttpResponse()
    secret = channel_settings.email_webhook_secret
    if not secret:
        logger.warning("e-mail tracking webhook refused: the brand has no webhook secret")
        return HttpResponse("webhooks are not set up", status=403, content_type="text/plain")
    if not request.headers.get("Authorization"):
        return _unauthorised()
    collected = _Collected()
    try:
        view = import_string(TRACKING_VIEWS[provider])(
            webhook_secret=secret, **_view_options(provider, channel_settings.email_credentials or {})
        )
        view.signal = collected
        view.setup(request, esp=esp)
        answer = view.dispatch(request, esp=esp)
    except AnymailWebhookValidationFailure:
        return HttpResponse("refused", status=403, content_type="text/plain")
    except ImproperlyConfigured as error:
        logger.warning("e-mail tracking webhook refused: %s", error)
        return HttpResponse("webhooks are not set up", status=403, content_type="text/plain")
    except (ValueError, KeyError, TypeError, AttributeError):
        return HttpResponse("unreadable event", status=400, content_type="text/plain")
    for event in collected.events:
        email_event_apply(
            event=EmailEvent(
                event_type=event.event_type,
                metadata=event.metadata or {},
                provider_id=event.message_id or "",
                recipient=event.recipient or "",
                description=(event.description or event.mta_response or "")[:500],
                hard=event.event_type != EventType.BOUNCED or _hard_bounce(provider, event),
            )
        )
    return answer
