"""The moderation of every text members write (README "Community > Moderation"): applied when a
text is written or edited (`moderation_apply`), decided by staff for held texts and reported reviews
(`moderation_decide`, the queue `community-bo:moderation`).

Every text is published at once, unfiltered (harsh opinions included: the brand's promise is not to
censor), unless the automatic moderation (`community.moderation.text_check`) finds an insult, a
hateful word or the surname of one of the brand's members or staff: then it is held for staff, who
publish it or reject it for one of the published reasons (`RejectionReason`); the author is told
the reason (`community_rejected`) after commit.

Lock order: `moderation_decide` locks the text's row only (then, for a review, its open reports)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from community.models import (
    ConversationMessage,
    Moderated,
    ModerationState,
    RejectionReason,
    Review,
    ReviewReport,
)
from community.moderation.language import language_guess
from community.selectors.moderation import moderation_verdict
from core.errors import InvalidInput
from loyalty.models import Member
from messaging.selectors.variables import site_url
from messaging.triggers import trigger_fire

NOTE_MAX_LENGTH = 1000

# Sent after commit when staff publish a held text (sender: its model; obj: the row), so a part can
# do what a text published at once does (tell the asker of an answer, count a reply).
text_published = Signal()


def text_language(text: str, *, default: str) -> str:
    """The text's language guessed from its stopwords ("fr" or "en"), else `default` (the member's
    language, say)."""
    return language_guess(text) or default


def moderation_apply(
    *, obj: Moderated, texts: Sequence[str], language: str, now: datetime | None = None
) -> Moderated:
    """Moderate `obj` before its caller saves it (in the caller's transaction): its `language`, and
    `published` at once (`published_at` now, kept when an edit stays published) unless the automatic
    moderation holds it (`held`, what it found in `held_because`, `moderated_at` the time it was
    held: the stated delay runs from there). A text edited is moderated again."""
    now = now or timezone.now()
    verdict = moderation_verdict(text="\n".join(text for text in texts if text), language=language)
    obj.language = language
    obj.held_because = [{"category": hit.category, "term": hit.term} for hit in verdict.hits]
    obj.rejection_reason, obj.rejection_note = "", ""
    if verdict.held:
        obj.state, obj.published_at = ModerationState.HELD, None
        obj.moderated_by, obj.moderated_at = None, now
    else:
        obj.state = ModerationState.PUBLISHED
        obj.published_at = obj.published_at or now
    return obj


def moderation_author(obj: Moderated) -> Member | None:
    """The member who wrote `obj` (None for a visitor's text)."""
    if isinstance(obj, ConversationMessage):
        conversation = obj.conversation
        if obj.author == ConversationMessage.Author.HELPER:
            return conversation.helper.member if conversation.helper else None
        return conversation.member
    return getattr(obj, "member", None)


def _link(obj: Moderated) -> str:
    """Where the author reads their text (its page when the model has one), else the rules."""
    path = ""
    if hasattr(obj, "get_absolute_url"):
        try:
            path = obj.get_absolute_url()
        except NoReverseMatch:
            path = ""
    path = path or reverse("community-rules")
    return site_url().rstrip("/") + path if site_url() else path


def rejection_tell(*, member: Member, reason: str, note: str, link: str, dedupe_key: str) -> None:
    """Tell `member` their text (or contribution) was rejected: the `community_rejected` trigger
    with the template variables `rejection_reason` (the label of `reason` in the member's
    language), `rejection_note` (staff's `note`) and `rejection_url` (`link`). Call it after
    commit."""
    with translation.override(member.language or None):
        label = str(RejectionReason(reason).label)
    trigger_fire(
        kind="community_rejected",
        member=member,
        variables={"rejection_reason": label, "rejection_note": note, "rejection_url": link},
        dedupe_key=dedupe_key,
    )


def _reports_close(review: Review, now: datetime) -> None:
    ReviewReport.objects.select_for_update().filter(review=review, handled_at__isnull=True).update(
        handled_at=now
    )


def moderation_decide(
    *,
    obj: Moderated,
    publish: bool,
    user: Any,
    reason: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Moderated:
    """Staff's decision on a text: publish it, or reject it for one of the published reasons
    (`RejectionReason`, required) with an optional note to the author; the author is told the
    reason after commit, and `text_published` is sent when a held text is published. A review's
    open reports are closed by either decision. Locks the row; deciding the same again changes
    nothing (and tells nobody twice)."""
    now = now or timezone.now()
    note = (note or "").strip()
    if not publish and reason not in RejectionReason.values:
        raise InvalidInput(f"must be one of {', '.join(RejectionReason.values)}", field="reason")
    if len(note) > NOTE_MAX_LENGTH:
        raise InvalidInput(f"at most {NOTE_MAX_LENGTH} characters", field="note")
    model = type(obj)
    with transaction.atomic():
        locked = model._default_manager.select_for_update().get(pk=obj.pk)
        if isinstance(locked, Review):
            _reports_close(locked, now)
        target = ModerationState.PUBLISHED if publish else ModerationState.REJECTED
        if locked.state == target:
            return locked
        was_held = locked.state == ModerationState.HELD
        locked.state, locked.moderated_by, locked.moderated_at = target, user, now
        if publish:
            locked.published_at = locked.published_at or now
            locked.rejection_reason, locked.rejection_note = "", ""
        else:
            locked.published_at, locked.rejection_reason, locked.rejection_note = None, reason, note
        locked.save()
        if publish and was_held:
            transaction.on_commit(lambda: text_published.send(sender=model, obj=locked))
        author = moderation_author(locked) if not publish else None
        if author is not None:
            key = f"community:rejected:{model._meta.model_name}:{locked.pk}:{now.isoformat()}"
            link = _link(locked)
            transaction.on_commit(
                lambda: rejection_tell(member=author, reason=reason, note=note, link=link, dedupe_key=key)
            )
    return locked
