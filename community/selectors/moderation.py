"""The community's settings and what the moderation reads (README "Community > Moderation"): the
lists that apply to a text, the surnames of the brand's people found in it, and the staff's queue
of held texts and reported reviews."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Min, Q
from django.db.models.functions import Collate, Lower
from django.utils import timezone

from community.models import (
    Answer,
    CommunitySettings,
    ConversationMessage,
    Moderated,
    ModerationState,
    ModerationTerm,
    Question,
    Reply,
    Review,
    TermCategory,
    Thread,
)
from community.moderation import Verdict, listed_terms, text_check
from loyalty.models import Member
from loyalty.search_keys import SEARCH_KEYS

# Every model whose rows members write, by model name, with the fields that hold its text.
MODERATED: dict[str, tuple[type[Moderated], tuple[str, ...]]] = {
    "review": (Review, ("title", "text")),
    "question": (Question, ("title", "text")),
    "answer": (Answer, ("text",)),
    "thread": (Thread, ("title", "text")),
    "reply": (Reply, ("text",)),
    "conversationmessage": (ConversationMessage, ("text",)),
}
OPEN_REPORTS = Q(reports__handled_at__isnull=True, reports__isnull=False)
# What each model's text is about (shown above it in the queue), read with it.
ABOUT = {"review": "subject", "answer": "question", "reply": "thread", "conversationmessage": "conversation"}
QUEUE_PER_MODEL = 200  # the oldest held rows of each model the page shows (counts are exact)


def settings_get() -> CommunitySettings:
    """The brand's community settings: its row, or the defaults (unsaved) while none is saved."""
    return CommunitySettings.objects.filter(pk=1).first() or CommunitySettings(pk=1)


def brand_terms(*, language: str) -> tuple[dict[str, list[str]], list[str]]:
    """The brand's own words for a text in `language` (theirs for every language and for that one):
    (category -> words that hold, the allowed words)."""
    terms: dict[str, list[str]] = {}
    allowed: list[str] = []
    rows = ModerationTerm.objects.filter(language__in=["", language]).values_list("category", "term")
    for category, term in rows:
        if category == TermCategory.ALLOWED:
            allowed.append(term)
        else:
            terms.setdefault(category, []).append(term)
    return terms, allowed


def people_surnames(candidates: set[str]) -> list[str]:
    """Which of `candidates` (lower-case words) are surnames of the brand's members or staff: one
    lookup through the members' index on the lower-cased last name (`loyalty.search_keys`,
    migration 0021), so it stays one index probe per word with a million members."""
    if not candidates:
        return []
    expression, condition = SEARCH_KEYS["last_name"]
    wanted = list(candidates)
    members = (
        Member.objects.filter(condition)
        .annotate(name_key=expression)
        .filter(name_key__in=wanted)
        .values_list("name_key", flat=True)
        .distinct()
    )
    staff = (
        get_user_model()
        .objects.exclude(last_name="")
        .annotate(name_key=Collate(Lower("last_name"), "C"))
        .filter(name_key__in=wanted)
        .values_list("name_key", flat=True)
        .distinct()
    )
    return sorted(set(members) | set(staff))


def moderation_verdict(*, text: str, language: str) -> Verdict:
    """What the automatic moderation finds in `text` written in `language`: the shipped lists, the
    brand's words (its allowed ones taken out) and its people's surnames."""
    terms = listed_terms(language)
    own, allowed = brand_terms(language=language)
    for category, words in own.items():
        terms.setdefault(category, []).extend(words)
    names = terms.pop(TermCategory.NAME, [])
    if names:
        # Names the brand lists itself are held like an insult: wherever they are written.
        terms["name"] = names
    return text_check(text, terms=terms, names=people_surnames, allowed=allowed, language=language)


@dataclass
class QueueItem:
    """A row of the moderation queue: a held text, or a published review that members reported."""

    model_name: str
    kind: str  # the model's verbose name
    obj: Moderated
    text: str
    author: str
    about: str = ""  # what the text is about: the reviewed item, the question, the discussion
    found: list[dict] = field(default_factory=list)
    reports: int = 0
    since: datetime | None = None
    due: datetime | None = None

    @property
    def overdue(self) -> bool:
        return self.due is not None and self.due < timezone.now()


def _author(obj: Moderated) -> str:
    if isinstance(obj, ConversationMessage):
        return str(obj.get_author_display())
    member = getattr(obj, "member", None)
    if member is not None:
        return str(member)
    return getattr(obj, "visitor_name", "") or ""


def _text(obj: Moderated, fields: Iterable[str]) -> str:
    return "\n".join(str(getattr(obj, name)) for name in fields if getattr(obj, name))


def queue_models(*, user: Any) -> list[str]:
    """The model names whose texts `user` may decide (`community.change_<model>`)."""
    return [name for name in MODERATED if user.has_perm(f"community.change_{name}")]


def moderation_queue(*, user: Any) -> list[QueueItem]:
    """Every held text of the models `user` may decide, and the published reviews with open
    reports, oldest first; `due` is the stated delay (`moderation_delay_days`) after the text was
    held (or first reported)."""
    delay = timedelta(days=settings_get().moderation_delay_days)
    items: list[QueueItem] = []
    for name in queue_models(user=user):
        model, fields = MODERATED[name]
        related = [
            *(["member"] if hasattr(model, "member") else []),
            *([ABOUT[name]] if name in ABOUT else []),
        ]
        held = model._default_manager.filter(state=ModerationState.HELD).select_related(*related)
        for obj in held.order_by("moderated_at", "id")[:QUEUE_PER_MODEL]:
            since = obj.moderated_at or obj.updated_at
            items.append(
                QueueItem(
                    name,
                    str(model._meta.verbose_name),
                    obj,
                    _text(obj, fields),
                    _author(obj),
                    about=str(getattr(obj, ABOUT[name])) if name in ABOUT else "",
                    found=list(obj.held_because),
                    since=since,
                    due=since + delay,
                )
            )
        if name == "review":
            items += _reported_reviews(delay)
    items.sort(key=lambda item: (item.since or timezone.now(), item.obj.pk))
    return items


def _reported_reviews(delay: timedelta) -> list[QueueItem]:
    reviews = (
        Review.objects.filter(state=ModerationState.PUBLISHED)
        .annotate(open_reports=Count("reports", filter=OPEN_REPORTS))
        .annotate(first_report_at=Min("reports__created_at", filter=OPEN_REPORTS))
        .filter(open_reports__gt=0)
        .select_related("member", "subject")
    )
    items = []
    for review in reviews.order_by("first_report_at", "id")[:QUEUE_PER_MODEL]:
        since = review.first_report_at
        items.append(
            QueueItem(
                "review",
                str(Review._meta.verbose_name),
                review,
                _text(review, ("title", "text")),
                _author(review),
                about=str(review.subject),
                reports=review.open_reports,
                since=since,
                due=since + delay,
            )
        )
    return items


def queue_object(*, user: Any, model_name: str, pk: int) -> Moderated | None:
    """The text `model_name` #`pk` if `user` may decide it, else None."""
    if model_name not in queue_models(user=user):
        return None
    model, _fields = MODERATED[model_name]
    return model._default_manager.filter(pk=pk).first()
