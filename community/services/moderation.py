"""The moderation of every text members write (README "Community > Moderation"): applied when a
text is written or edited (`moderation_apply`), decided by staff for held texts
(`moderation_decide`). Owned by the moderation part.

INTERIM version written with the models: the interfaces other parts call are final; the moderation
part fills in the word lists, the names and the author's message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.models import Moderated, ModerationState, ModerationTerm, RejectionReason
from community.moderation import text_check
from core.errors import InvalidInput


def _terms(language: str) -> dict[str, list[str]]:
    terms: dict[str, list[str]] = {}
    rows = ModerationTerm.objects.filter(language__in=["", language]).exclude(category="allowed")
    for category, term in rows.values_list("category", "term"):
        terms.setdefault(category, []).append(term.lower())
    return terms


def moderation_apply(
    *, obj: Moderated, texts: Sequence[str], language: str, now: datetime | None = None
) -> Moderated:
    """Moderate `obj` before its caller saves it (in the caller's transaction): its `language`, and
    `published` at once (`published_at` now) unless the automatic moderation holds it (`held`, with
    what it found in `held_because`). A text edited is moderated again."""
    now = now or timezone.now()
    verdict = text_check("\n".join(texts), terms=_terms(language))
    obj.language = language
    obj.held_because = [{"category": hit.category, "term": hit.term} for hit in verdict.hits]
    obj.rejection_reason, obj.rejection_note = "", ""
    if verdict.held:
        obj.state, obj.published_at = ModerationState.HELD, None
    else:
        obj.state = ModerationState.PUBLISHED
        obj.published_at = obj.published_at or now
    return obj


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
    (`RejectionReason`, required) with an optional note; the author is told the reason after
    commit. Locks the row; deciding the same again changes nothing."""
    now = now or timezone.now()
    if not publish and reason not in RejectionReason.values:
        raise InvalidInput(f"must be one of {', '.join(RejectionReason.values)}", field="reason")
    with transaction.atomic():
        locked = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
        target = ModerationState.PUBLISHED if publish else ModerationState.REJECTED
        if locked.state == target:
            return locked
        locked.state, locked.moderated_by, locked.moderated_at = target, user, now
        if publish:
            locked.published_at = locked.published_at or now
            locked.rejection_reason, locked.rejection_note = "", ""
        else:
            locked.published_at, locked.rejection_reason, locked.rejection_note = None, reason, note
        locked.save()
    return locked
