"""The member site's live help (README "Community > Live help"): the status every page's window asks
(`community/static/community/live.js`), the visitor's conversation (start, send, close, rate, its
event stream) and the helpers' page (go online, take and answer conversations, their stream).

A visitor is their session: a random token kept in it, stored hashed on the conversation; a
conversation of another session, or another brand's (another schema: a missing id), is a 404."""

from __future__ import annotations

import hashlib
import secrets

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from catalog.views import member_required, site_member
from community.live import (
    HEARTBEAT_SECONDS,
    conversation_channel,
    presence_beat,
    presence_leave,
    queue_channel,
)
from community.live.stream import event, in_schema, sse
from community.models import Helper
from community.selectors.live import (
    HELPER_MIN_BEST_ANSWERS,
    Feed,
    best_answers_count,
    conversation_json,
    conversation_of_helper,
    conversation_of_visitor,
    feed_read,
    feed_start,
    helper_for,
    helper_may_join,
    live_online,
    message_json,
    queue_read,
    visitor_conversation_current,
)
from community.services.live import (
    conversation_close,
    conversation_rate,
    conversation_start,
    conversation_take,
    helper_join,
    message_send,
)
from core.errors import DomainError
from core.lockout import client_ip
from loyalty.models import Member
from loyalty.selectors.leaderboard import leaderboard_name

SESSION_TOKEN = "community_live_visitor"
STARTS_PER_HOUR = 10  # conversations a visitor's address may start in an hour

REFUSALS = {
    "no_helper_online": gettext_lazy("No helper is online right now: ask your question in the Q&A."),
    "conversation_closed": gettext_lazy("This conversation is closed."),
    "conversation_unanswered": gettext_lazy("No helper answered this conversation."),
    "helper_not_eligible": gettext_lazy("You need more best answers in the Q&A to help live."),
    "too_many": gettext_lazy("Too many conversations from your address: try again later."),
}

# The window's words (live.js), in the visitor's language.
WINDOW_TEXTS = {
    "title": gettext_lazy("Ask a member"),
    "intro": gettext_lazy("Members of the community answer live. Ask your question:"),
    "name": gettext_lazy("Your first name (optional)"),
    "placeholder": gettext_lazy("Your message"),
    "send": gettext_lazy("Send"),
    "end": gettext_lazy("End"),
    "you": gettext_lazy("You"),
    "helper": gettext_lazy("Helper"),
    "held": gettext_lazy("Waiting for moderation: not shown yet."),
    "waiting": gettext_lazy("Waiting for a helper to answer…"),
    # Translators: %s is the helper's name.
    "talking": gettext_lazy("You are talking with %s."),
    "closed": gettext_lazy("This conversation is closed."),
    "ask_qa": gettext_lazy("Ask your question in the Q&A instead"),
    "rate": gettext_lazy("How was this conversation?"),
    "rating": gettext_lazy("Your rating (1 to 5)"),
    "helpful": gettext_lazy("Did it help you?"),
    "yes": gettext_lazy("Yes"),
    "no": gettext_lazy("No"),
    "send_rating": gettext_lazy("Send my rating"),
    "thanks": gettext_lazy("Thank you for your rating."),
}


def _questions_url() -> str:
    try:
        return reverse("community-questions")
    except NoReverseMatch:
        return ""


def _visitor_key(request: HttpRequest, *, create: bool = False) -> str:
    """The hash of the visitor's token (their session's), made on the first conversation."""
    token = request.session.get(SESSION_TOKEN, "")
    if not token and create:
        token = request.session[SESSION_TOKEN] = secrets.token_urlsafe(32)
    return hashlib.sha256(token.encode()).hexdigest() if token else ""


def _error(error: DomainError, status: int = 400) -> JsonResponse:
    text = str(REFUSALS.get(error.code, error.message))
    return JsonResponse({"error": text, "field": error.field or "", "code": error.code}, status=status)


def _starts_allowed(request: HttpRequest) -> bool:
    key = f"community:live:starts:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=3600)
    try:
        return cache.incr(key) <= STARTS_PER_HOUR
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        return True


@require_GET
@never_cache
def live_status(request: HttpRequest) -> JsonResponse:
    """Is anyone online, and the visitor's own conversation (the window shows it even when not)."""
    current = visitor_conversation_current(visitor_key=_visitor_key(request))
    online = live_online()
    body: dict = {
        "online": online,
        "conversation": conversation_json(current) if current else None,
        "questions_url": _questions_url(),
    }
    if online or current:
        body["csrf"] = get_token(request)
        body["texts"] = {name: str(text) for name, text in WINDOW_TEXTS.items()}
    return JsonResponse(body)


def _visitor_name(request: HttpRequest, member: Member | None) -> str:
    """The name the visitor gave, else a member's public name."""
    given = request.POST.get("name", "").strip()
    if given or member is None:
        return given
    return leaderboard_name(member=member) or ""


@require_POST
def live_start(request: HttpRequest) -> JsonResponse:
    if not _starts_allowed(request):
        return JsonResponse({"error": str(REFUSALS["too_many"]), "code": "too_many"}, status=429)
    member = site_member(request)
    try:
        conversation = conversation_start(
            visitor_key=_visitor_key(request, create=True),
            visitor_name=_visitor_name(request, member),
            member=member,
            text=request.POST.get("text", ""),
            language=get_language() or "",
        )
    except DomainError as error:
        return _error(error, status=409 if error.code == "no_helper_online" else 400)
    first = conversation.messages.get()
    return JsonResponse({"conversation": conversation_json(conversation), "message": message_json(first)})


def _helper(request: HttpRequest) -> Helper | None:
    return helper_for(member=site_member(request))


@require_POST
def live_send(request: HttpRequest, conversation_id: int) -> JsonResponse:
    """A message from the visitor or, on the helper's page (`as=helper`), from the helper."""
    helper = _helper(request) if request.POST.get("as") == "helper" else None
    try:
        message = message_send(
            conversation_id=conversation_id,
            text=request.POST.get("text", ""),
            language=get_language() or "",
            visitor_key=None if helper else _visitor_key(request),
            helper=helper,
        )
    except DomainError as error:
        return _error(error, status=404 if error.code == "not_found" else 400)
    return JsonResponse({"message": message_json(message)})


@require_POST
def live_close(request: HttpRequest, conversation_id: int) -> JsonResponse:
    helper = _helper(request) if request.POST.get("as") == "helper" else None
    try:
        conversation = conversation_close(
            conversation_id=conversation_id,
            visitor_key=None if helper else _visitor_key(request),
            helper=helper,
        )
    except DomainError as error:
        return _error(error, status=404)
    return JsonResponse({"conversation": conversation_json(conversation)})


@require_POST
def live_rate(request: HttpRequest, conversation_id: int) -> JsonResponse:
    raw = request.POST.get("rating", "")
    try:
        conversation = conversation_rate(
            conversation_id=conversation_id,
            visitor_key=_visitor_key(request),
            rating=int(raw) if raw.isdigit() else 0,
            helpful=request.POST.get("helpful") == "yes",
        )
    except DomainError as error:
        return _error(error, status=404 if error.code == "not_found" else 400)
    return JsonResponse({"conversation": conversation_json(conversation)})


def _last_event_id(request: HttpRequest) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last", "")
    return int(raw) if raw.isdigit() else 0


def _stream_response(stream) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not buffer it
    return response


def _conversation_stream_access(request: HttpRequest, conversation_id: int) -> tuple[int, str, str] | None:
    """The conversation's id, this brand's schema and the conversation's channel when the session
    may read it (the visitor's, or a helper's own or waiting one), else None."""
    helper = _helper(request) if request.GET.get("as") == "helper" else None
    if helper is not None:
        conversation = conversation_of_helper(conversation_id=conversation_id, helper=helper)
    else:
        conversation = conversation_of_visitor(
            conversation_id=conversation_id, visitor_key=_visitor_key(request)
        )
    if conversation is None:
        return None
    return conversation.pk, connection.schema_name, conversation_channel(conversation.pk)


def _conversation_read(conversation_id: int, feed: Feed, late: list[dict]) -> bytes | None:
    messages, state = feed_read(conversation_id=conversation_id, feed=feed)
    if feed.state is None:
        return None
    out = [event("message", item, event_id=item["id"]) for item in [*late, *messages]]
    late.clear()
    if state is not None:
        out.append(event("state", state))
    return b"".join(out)


async def live_events(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The conversation's stream: its published messages (`message`, with their id) and its state
    (`state`: waiting, open with the helper's name, closed)."""
    if request.method != "GET":
        return HttpResponse(status=405)
    access = await sync_to_async(_conversation_stream_access)(request, conversation_id)
    if access is None:
        raise Http404("no such conversation")
    conversation_pk, schema_name, channel = access
    start = in_schema(schema_name, feed_start)
    feed, late = await start(conversation_id=conversation_pk, last_event_id=_last_event_id(request))
    read = in_schema(schema_name, _conversation_read)
    return _stream_response(sse(channels=[channel], read=lambda: read(conversation_pk, feed, late)))


# --- the helpers' page ----------------------------------------------------------------------------


@member_required
def helper_page(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    helper = helper_for(member=member)
    context = {
        "helper": helper,
        "may_join": helper is None and helper_may_join(member=member),
        "best_answers": best_answers_count(member=member) if helper is None else 0,
        "needed": HELPER_MIN_BEST_ANSWERS,
        "heartbeat_seconds": HEARTBEAT_SECONDS,
    }
    return render(request, "community/site/live/helper.html", context)


@require_POST
@member_required
def helper_join_view(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    try:
        helper_join(
            member=member, display_name=request.POST.get("display_name", ""), bio=request.POST.get("bio", "")
        )
    except DomainError as error:
        messages.error(request, str(REFUSALS.get(error.code, error.message)))
    else:
        messages.success(request, gettext("You are a helper now: go online to answer visitors."))
    return redirect("community-live-helper")


def _helper_or_404(request: HttpRequest) -> Helper:
    helper = _helper(request)
    if helper is None:
        raise Http404("not a helper")
    return helper


@require_POST
def helper_presence(request: HttpRequest) -> JsonResponse:
    """The helper goes online (`online=yes`: their stream keeps them so) or offline at once."""
    helper = _helper_or_404(request)
    if request.POST.get("online") == "yes":
        presence_beat(helper_id=helper.pk)
    else:
        presence_leave(helper_id=helper.pk)
    return JsonResponse({"online": request.POST.get("online") == "yes"})


@require_POST
def helper_take(request: HttpRequest, conversation_id: int) -> JsonResponse:
    helper = _helper_or_404(request)
    try:
        conversation = conversation_take(conversation_id=conversation_id, helper=helper)
    except DomainError as error:
        return _error(error, status=404 if error.code == "not_found" else 409)
    return JsonResponse({"conversation": conversation_json(conversation)})


def _queue_access(request: HttpRequest) -> tuple[int, str, str] | None:
    helper = _helper(request)
    return (helper.pk, connection.schema_name, queue_channel()) if helper else None


def _queue_read(helper_id: int, last: list) -> bytes:
    queue = queue_read(helper_id=helper_id)
    if last and last[0] == queue:
        return b""
    last[:] = [queue]
    return event("queue", queue)


async def helper_events(request: HttpRequest) -> HttpResponse:
    """The helper's stream: the waiting conversations and their own (`queue`, when it changes). While
    it is open (`online=yes`) the helper, put online by `helper_presence`, stays so: each ping is
    their heartbeat; once they go offline, it does not bring them back."""
    if request.method != "GET":
        return HttpResponse(status=405)
    access = await sync_to_async(_queue_access)(request)
    if access is None:
        raise Http404("not a helper")
    helper_id, schema_name, channel = access
    read = in_schema(schema_name, _queue_read)
    beat = in_schema(schema_name, presence_beat)
    last: list = []
    online = request.GET.get("online") == "yes"

    async def heartbeat() -> None:
        if online:
            await beat(helper_id=helper_id, refresh_only=True)

    return _stream_response(
        sse(
            channels=[channel],
            read=lambda: read(helper_id, last),
            beat=heartbeat,
            ping=HEARTBEAT_SECONDS,
        )
    )


urlpatterns = [
    path("community/live/status", live_status, name="community-live-status"),
    path("community/live/start", live_start, name="community-live-start"),
    path("community/live/c/<int:conversation_id>/send", live_send, name="community-live-send"),
    path("community/live/c/<int:conversation_id>/close", live_close, name="community-live-close"),
    path("community/live/c/<int:conversation_id>/rate", live_rate, name="community-live-rate"),
    path("community/live/c/<int:conversation_id>/events", live_events, name="community-live-events"),
    path("community/live/c/<int:conversation_id>/take", helper_take, name="community-live-take"),
    path("community/live/helper/", helper_page, name="community-live-helper"),
    path("community/live/helper/join", helper_join_view, name="community-live-join"),
    path("community/live/helper/presence", helper_presence, name="community-live-presence"),
    path("community/live/helper/events", helper_events, name="community-live-helper-events"),
]
