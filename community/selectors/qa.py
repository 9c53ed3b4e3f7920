"""Reads of questions and answers (README "Community > Q&A"): what the public sees is published
only; the author also sees their own held or rejected text, with its state and reason."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet

from community.models import Answer, ModerationState, Question, Subject
from community.selectors.contributions import LEADERBOARD_SIZE, Ranked, counts_ranked
from loyalty.models import Member
from loyalty.selectors.leaderboard import leaderboard_name, leaderboard_period_start

PUBLISHED = ModerationState.PUBLISHED


def questions_published(*, subject_id: int | None = None) -> QuerySet[Question]:
    """The published questions, latest activity first, each with its published answers counted
    (`published_answers`)."""
    rows = Question.objects.filter(state=PUBLISHED)
    if subject_id is not None:
        rows = rows.filter(subject_id=subject_id)
    return (
        rows.select_related("subject", "member")
        .annotate(published_answers=Count("answers", filter=Q(answers__state=PUBLISHED)))
        .order_by("-last_activity_at", "-id")
    )


def member_questions_unpublished(*, member: Member) -> QuerySet[Question]:
    """The member's own questions that are held or rejected (they see them with their state)."""
    return Question.objects.filter(member=member).exclude(state=PUBLISHED).order_by("-created_at")


def question_subjects() -> QuerySet[Subject]:
    """The subjects a question may be about, or filtered by."""
    return Subject.objects.filter(is_active=True).order_by("kind", "name")


def question_for(*, question_id: int, member: Member | None) -> Question | None:
    """A published question, or the member's own whatever its state."""
    visible = Q(state=PUBLISHED) | Q(member=member) if member is not None else Q(state=PUBLISHED)
    return (
        Question.objects.filter(visible, pk=question_id)
        .select_related("subject", "member", "best_answer")
        .first()
    )


def question_answers(*, question: Question, member: Member | None) -> list[Answer]:
    """The question's published answers (the best first, then in order) and the member's own."""
    visible = Q(state=PUBLISHED) | Q(member=member) if member is not None else Q(state=PUBLISHED)
    answers = list(question.answers.filter(visible).select_related("member"))
    answers.sort(key=lambda answer: answer.pk != question.best_answer_id)
    for answer in answers:
        answer.author_name = leaderboard_name(member=answer.member)  # type: ignore[attr-defined]
    return answers


def question_author_name(*, question: Question) -> str | None:
    return leaderboard_name(member=question.member) if question.member else question.visitor_name


def helpers_leaderboard(*, since: datetime | None = None, limit: int = LEADERBOARD_SIZE) -> list[Ranked]:
    """The helpers with the most best answers since `since` (this month in the brand's timezone by
    default): answers that are their question's best and earned when marked in the period."""
    since = since or leaderboard_period_start(period="month")
    counts = (
        Answer.objects.filter(best_of__isnull=False, event__occurred_at__gte=since, state=PUBLISHED)
        .exclude(member__status=Member.Status.ANONYMISED)
        .values("member")
        .annotate(count=Count("id"), last=Max("event__occurred_at"))
        .order_by("-count", "last", "member")[: limit * 2]
    )
    return counts_ranked(counts=list(counts), limit=limit)
