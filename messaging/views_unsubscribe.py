"""The unsubscribe link of e-mails on the brand's host (`messaging.services.unsubscribe`): GET asks,
POST unsubscribes. The POST is also what mail clients send in one click (RFC 8058:
`List-Unsubscribe=One-Click`, no cookie, no CSRF token), so this view alone is CSRF-exempt; it
changes one consent, once, and only for a token signed for this brand."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.errors import NotFound
from core.lockout import client_ip
from messaging.services.unsubscribe import UnsubscribeTarget, unsubscribe_apply, unsubscribe_target


def _masked(email: str) -> str:
    """c•••@example.com: whoever holds the link sees whose it is, not the whole address."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else ""


def _page(request: HttpRequest, target: UnsubscribeTarget, *, done: bool) -> HttpResponse:
    languages = {code for code, _ in settings.LANGUAGES}
    language = target.member.language if target.member.language in languages else translation.get_language()
    with translation.override(language):
        response = render(
            request,
            "messaging/unsubscribe.html",
            {
                "done": done,
                "opted_out": target.opted_out,
                "channel": target.channel,
                "email": _masked(target.member.email),
            },
        )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            return _page(request, unsubscribe_apply(token=token, ip=client_ip(request)), done=True)
        return _page(request, unsubscribe_target(token=token), done=False)
    except NotFound:
        raise Http404("unknown unsubscribe link") from None
