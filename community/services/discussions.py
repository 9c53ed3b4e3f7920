"""Discussions (README "Community > Discussions"): members open threads and reply, moderated as
every text (`moderation_apply` on each write and edit: published at once unless held); a thread
in a club space is written in only by who may enter the space; a locked thread refuses replies;
authors edit their own text within `EDIT_WINDOW`; staff pin and lock (`thread_staff_set`).

Lock order: the thread's row, then the reply's (a reply written or edited locks its thread
first, so a lock by staff and a reply never cross)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from clubs.models import Space
from community.models import ModerationState, Reply, Thread
from community.models.discussions import TEXT_MAX_LENGTH, THREAD_TITLE_MAX_LENGTH
from community.selectors.discussions import thread_may_write
from community.services.moderation import moderation_apply, text_language
from core.errors import InvalidInput, NotFound, Refused
from loyalty.models import Member

# How long after writing it an author may still change their text.
EDIT_WINDOW = timedelta(hours=1)


def _text(value: Any, *, field: str, max_length: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput("is required", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"must be at most {max_length} characters", field=field)
    return text


def _writer(member: Member, *, space: Space | None) -> None:
    if member.status != Member.Status.ACTIVE:
        raise Refused("this member account cannot write", code="member_not_active", field="member")
    if not thread_may_write(space=space, member=member):
        raise Refused("only who may enter this club space writes there", code="space_closed", field="space")


def thread_create(
    *,
    member: Member,
    title: str,
    text: str,
    kind: str = Thread.Kind.DISCUSSION,
    space_id: int | None = None,
    now: datetime | None = None,
) -> Thread:
    """A new thread by the member, in the club space `space_id` (None: the open space)."""
    now = now or timezone.now()
    title = _text(title, field="title", max_length=THREAD_TITLE_MAX_LENGTH)
    text = _text(text, field="text", max_length=TEXT_MAX_LENGTH)
    if kind not in Thread.Kind.values:
        raise InvalidInput(f"must be one of {', '.join(Thread.Kind.values)}", field="kind")
    space = None
    if space_id is not None:
        space = Space.objects.filter(pk=space_id).first()
        if space is None:
            raise InvalidInput("no such club space", field="space")
    _writer(member, space=space)
    with transaction.atomic():
        thread = Thread(member=member, kind=kind, space=space, title=title, text=text, last_activity_at=now)
        moderation_apply(
            obj=thread,
            texts=[title, text],
            language=text_language(f"{title}\n{text}", default=member.language),
            now=now,
        )
        thread.save()
    return thread


def _editable(obj: Thread | Reply, member: Member, now: datetime) -> None:
    if obj.member_id != member.pk:
        raise NotFound("no such text of yours")
    if obj.state == ModerationState.REJECTED:
        raise Refused("a rejected text cannot be edited", code="rejected", field="text")
    if now - obj.created_at > EDIT_WINDOW:
        raise Refused("the time to edit this text is over", code="edit_window_over", field="text")


def thread_edit(
    *, thread_id: int, member: Member, title: str, text: str, now: datetime | None = None
) -> Thread:
    """The author changes their thread's title and text, within `EDIT_WINDOW`: moderated again."""
    now = now or timezone.now()
    title = _text(title, field="title", max_length=THREAD_TITLE_MAX_LENGTH)
    text = _text(text, field="text", max_length=TEXT_MAX_LENGTH)
    with transaction.atomic():
        thread = Thread.objects.select_for_update().filter(pk=thread_id).first()
        if thread is None:
            raise NotFound("no such thread")
        _editable(thread, member, now)
        _writer(member, space=thread.space)
        thread.title, thread.text = title, text
        moderation_apply(
            obj=thread,
            texts=[title, text],
            language=text_language(f"{title}\n{text}", default=member.language),
            now=now,
        )
        thread.save()
    return thread


def reply_post(*, thread_id: int, member: Member, text: str, now: datetime | None = None) -> Reply:
    """The member's reply to a published thread they may see; a locked thread refuses it."""
    now = now or timezone.now()
    text = _text(text, field="text", max_length=TEXT_MAX_LENGTH)
    with transaction.atomic():
        thread = (
            Thread.objects.select_for_update(of=("self",))
            .filter(pk=thread_id)
            .select_related("space")
            .first()
        )
        if thread is None or thread.state != ModerationState.PUBLISHED:
            raise NotFound("no such thread")
        _writer(member, space=thread.space)
        if thread.is_locked:
            raise Refused("this discussion is closed to replies", code="thread_locked", field="thread")
        reply = Reply(thread=thread, member=member, text=text)
        moderation_apply(
            obj=reply, texts=[text], language=text_language(text, default=member.language), now=now
        )
        reply.save()
        if reply.state == ModerationState.PUBLISHED:
            Thread.objects.filter(pk=thread.pk).update(last_activity_at=now)
    return reply


def reply_edit(*, reply_id: int, member: Member, text: str, now: datetime | None = None) -> Reply:
    """The author changes their reply, within `EDIT_WINDOW` and while the thread is open."""
    now = now or timezone.now()
    text = _text(text, field="text", max_length=TEXT_MAX_LENGTH)
    with transaction.atomic():
        thread_id = Reply.objects.filter(pk=reply_id).values_list("thread_id", flat=True).first()
        if thread_id is None:
            raise NotFound("no such reply")
        thread = (
            Thread.objects.select_for_update(of=("self",))
            .filter(pk=thread_id)
            .select_related("space")
            .first()
        )
        reply = Reply.objects.select_for_update().filter(pk=reply_id).first()
        if thread is None or reply is None:
            raise NotFound("no such reply")
        _editable(reply, member, now)
        _writer(member, space=thread.space)
        if thread.is_locked:
            raise Refused("this discussion is closed to replies", code="thread_locked", field="thread")
        reply.text = text
        moderation_apply(
            obj=reply, texts=[text], language=text_language(text, default=member.language), now=now
        )
        reply.save()
    return reply


def thread_staff_set(*, thread_id: int, pinned: bool | None = None, locked: bool | None = None) -> Thread:
    """Staff pin or unpin a thread, lock or unlock it to replies (None: left as it is)."""
    with transaction.atomic():
        thread = Thread.objects.select_for_update().filter(pk=thread_id).first()
        if thread is None:
            raise NotFound("no such thread")
        if pinned is not None:
            thread.is_pinned = pinned
        if locked is not None:
            thread.is_locked = locked
        thread.save(update_fields=["is_pinned", "is_locked", "updated_at"])
    return thread
