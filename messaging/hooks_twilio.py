"""Twilio's callbacks on the brand's host (README, "Messaging > SMS and calls"): the status of our
messages and calls (`/hooks/twilio/status/?m=<our message id>`) and the SMS members send back
(`/hooks/twilio/inbound/`).

Each is verified with Twilio's request signature over the full URL this host received and the
brand's auth token: a request not signed by the brand's own Twilio account (or to a brand without
one) is answered 403 and changes nothing. A message is looked for in this brand's schema only, and
must carry the Twilio id we stored when we know one: another brand's message, or another Twilio
id, is 404 and changes nothing.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from core.api.errors import error_response
from core.errors import InvalidInput
from messaging.selectors.templates import channel_settings_get
from messaging.services.twilio import sms_reply_apply, twilio_status_apply


def _signed_by_the_brands_account(request: HttpRequest) -> bool:
    channel_settings = channel_settings_get()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not (channel_settings.twilio_account_sid and channel_settings.twilio_auth_token and signature):
        return False
    validator = RequestValidator(channel_settings.twilio_auth_token)
    return validator.validate(request.build_absolute_uri(), request.POST, signature)


def _refused() -> HttpResponse:
    return error_response(
        status=403, message="not signed by this brand's Twilio account", code="bad_signature"
    )


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    """A message's or a call's status (MessageStatus / CallStatus), moving it forward only."""
    if not _signed_by_the_brands_account(request):
        return _refused()
    message_id = request.GET.get("m", "")
    value = request.POST.get("CallStatus") or request.POST.get("MessageStatus") or ""
    if not re.fullmatch(r"[0-9]{1,18}", message_id) or not value:
        return error_response(
            status=400,
            message="m: our message id and Twilio's status are required",
            code="invalid",
            field="m",
        )
    try:
        message = twilio_status_apply(
            message_id=int(message_id),
            status=value,
            provider_id=request.POST.get("CallSid") or request.POST.get("MessageSid") or "",
            error_code=request.POST.get("ErrorCode", ""),
        )
    except InvalidInput as invalid:
        return error_response(
            status=400, message=f"status: {invalid.errors['status'][0]}", code="invalid", field="status"
        )
    if message is None:
        return error_response(status=404, message="no such message of this brand", code="not_found")
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    """An SMS a member sent to the brand's number: a stop reply opts them out of SMS. Answered with
    empty TwiML (Twilio sends nothing back)."""
    if not _signed_by_the_brands_account(request):
        return _refused()
    sms_reply_apply(
        sender=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
        opt_out_type=request.POST.get("OptOutType", ""),
    )
    return HttpResponse(str(MessagingResponse()), content_type="text/xml; charset=utf-8")
