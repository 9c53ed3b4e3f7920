"""The reviews part of a member's GDPR export and erasure (`community.privacy`).

Erasing keeps the member's ratings (the averages shown stay true, the reviews stay dated) and
replaces their words: each review's title and text, and the notes of their reports, become
`[erased]`; the brand's replies to them and support's follow-up outcomes lose the person's texts
(`text_redact`)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from community.models import FollowUp, Review, ReviewReport
from core.privacy import ERASED, Person, text_redact
from loyalty.models import Member


def export(member: Member) -> dict:
    reviews = (
        Review.objects.filter(member=member)
        .order_by("created_at", "pk")
        .values(
            "subject__kind",
            "subject__reference",
            "subject__name",
            "rating",
            "title",
            "text",
            "language",
            "experienced_on",
            "state",
            "rejection_reason",
            "rejection_note",
            "published_at",
            "created_at",
            "edited_at",
            "reply",
            "replied_at",
        )
    )
    reports = (
        ReviewReport.objects.filter(member=member)
        .order_by("created_at", "pk")
        .values("review_id", "reason", "note", "created_at")
    )
    return {"reviews": list(reviews), "review_reports": list(reports)}


def erase(member: Member, person: Person) -> None:
    reviews = Review.objects.filter(member=member)
    for review in reviews.exclude(reply=""):
        Review.objects.filter(pk=review.pk).update(reply=text_redact(review.reply, texts=person.texts))
    reviews.update(title="", text=ERASED, held_because=[], rejection_note="", updated_at=timezone.now())
    ReviewReport.objects.filter(member=member).exclude(note="").update(note=ERASED)
    for follow_up in FollowUp.objects.filter(Q(review__member=member) & ~Q(outcome="")):
        FollowUp.objects.filter(pk=follow_up.pk).update(
            outcome=text_redact(follow_up.outcome, texts=person.texts)
        )
