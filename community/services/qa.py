"""Writes of questions and answers (README "Community > Q&A"): members and visitors ask, members
answer, the asker or staff marks the best answer.

Every question and answer is moderated when written (`moderation_apply`): published at once unless
the automatic moderation holds it for staff. Visitors (not logged in) give a name and may give an
e-mail; they are limited per address (`VISITOR_QUESTIONS_PER_HOUR`, a counter in the brand's cache).

The best answer: only the asker (a member) or staff with `community.change_question` marks it, only
a published answer of the question, never the asker's own. Marking records one activity event of
`CommunitySettings.best_answer_event_type` for the answer's author, key
`community:best_answer:<answer id>`: **an answer earns once, when it is first marked best**. Moving
the best answer to another one keeps the first one's event (it was earned) and pays the new one
(once as well); marking the same answer again changes nothing.

**Lock order**: the question's row, then the answer's row, then the author's member row (taken by
the events pipeline). Messages (`question_answered`) go after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from community.models import Answer, ModerationState, Question, Subject
from community.models.qa import QUESTION_TITLE_MAX_LENGTH, TEXT_MAX_LENGTH
from community.selectors.moderation import settings_get
from community.services.moderation import moderation_apply, text_language, text_published
from core.errors import InvalidInput, NotFound, Refused
from core.limits import field_max_length
from loyalty.models import ActivityEvent, EventType, Member
from loyalty.services.events.checks import EventInput
from loyalty.services.events.pipeline import event_record
from messaging.models import TriggerKind
from messaging.triggers import trigger_fire

VISITOR_QUESTIONS_PER_HOUR = 5


def best_answer_event_key(answer_id: int) -> str:
    return f"community:best_answer:{answer_id}"


def _visitor_allowed(ip: str | None) -> bool:
    """One more question from this address this hour, counted in the brand's cache keys."""
    key = f"community:qa:visitor:{ip or 'unknown'}"
    cache.add(key, 0, timeout=3600)
    try:
        return cache.incr(key) <= VISITOR_QUESTIONS_PER_HOUR
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        return True


def question_ask(
    *,
    member: Member | None = None,
    visitor_name: str = "",
    visitor_email: str = "",
    title: str,
    text: str = "",
    subject_id: int | None = None,
    language: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> Question:
    """A question from a member, or from a visitor (a name, an optional e-mail, limited per `ip`);
    moderated; `language` is the visitor's (the request's) when the text does not say."""
    now = now or timezone.now()
    title, text = (title or "").strip(), (text or "").strip()
    visitor_name, visitor_email = (visitor_name or "").strip(), (visitor_email or "").strip()
    errors: dict[str, list[str]] = {}
    if not title or len(title) > QUESTION_TITLE_MAX_LENGTH:
        errors["title"] = [f"is required, at most {QUESTION_TITLE_MAX_LENGTH} characters"]
    if len(text) > TEXT_MAX_LENGTH:
        errors["text"] = [f"at most {TEXT_MAX_LENGTH} characters"]
    if member is None:
        limit = field_max_length(model=Question, field="visitor_name")
        if not visitor_name or len(visitor_name) > limit:
            errors["visitor_name"] = [f"is required, at most {limit} characters"]
        if visitor_email:
            try:
                validate_email(visitor_email)
            except ValidationError:
                errors["visitor_email"] = ["is not an e-mail address"]
    elif member.status != Member.Status.ACTIVE:
        raise Refused("this account cannot ask questions", code="member_not_active")
    subject = None
    if subject_id is not None:
        subject = Subject.objects.filter(pk=subject_id, is_active=True).first()
        if subject is None:
            errors["subject"] = ["no such product, service or place"]
    if errors:
        raise InvalidInput(errors)
    if member is None and not _visitor_allowed(ip):
        raise Refused(
            f"at most {VISITOR_QUESTIONS_PER_HOUR} questions an hour: try again later",
            code="too_many_questions",
        )
    question = Question(
        member=member,
        visitor_name="" if member else visitor_name,
        visitor_email="" if member else visitor_email,
        title=title,
        text=text,
        subject=subject,
        last_activity_at=now,
    )
    default = member.language if member else (language or settings.LANGUAGE_CODE)
    with transaction.atomic():
        moderation_apply(
            obj=question,
            texts=[title, text],
            language=text_language("\n".join([title, text]), default=default),
            now=now,
        )
        question.save()
    return question


def answer_post(*, question_id: int, member: Member, text: str, now: datetime | None = None) -> Answer:
    """A member's answer to a published question, moderated; the asker (a member other than the
    author) is told after commit once the answer is published."""
    now = now or timezone.now()
    text = (text or "").strip()
    if not text or len(text) > TEXT_MAX_LENGTH:
        raise InvalidInput(f"is required, at most {TEXT_MAX_LENGTH} characters", field="text")
    if member.status != Member.Status.ACTIVE:
        raise Refused("this account cannot answer", code="member_not_active")
    with transaction.atomic():
        question = (
            Question.objects.select_for_update()
            .filter(pk=question_id, state=ModerationState.PUBLISHED)
            .first()
        )
        if question is None:
            raise NotFound("no published question with this id", field="question")
        answer = Answer(question=question, member=member, text=text)
        moderation_apply(
            obj=answer, texts=[text], language=text_language(text, default=member.language), now=now
        )
        answer.save()
        if answer.state == ModerationState.PUBLISHED:
            _answer_published(question=question, answer=answer, now=now)
    return answer


def _answer_published(*, question: Question, answer: Answer, now: datetime) -> None:
    """What a published answer changes, under the question's lock: its count of published
    answers and last activity; the asker (a member other than its author) told after commit."""
    question.answer_count = question.answers.filter(state=ModerationState.PUBLISHED).count()
    question.last_activity_at = now
    question.save(update_fields=["answer_count", "last_activity_at", "updated_at"])
    asker = question.member
    if asker is not None and asker.pk != answer.member_id:
        transaction.on_commit(
            lambda: trigger_fire(
                kind=TriggerKind.QUESTION_ANSWERED,
                member=asker,
                variables={},
                dedupe_key=f"answer:{answer.pk}",
            )
        )


@receiver(text_published, sender=Answer)
def _held_answer_published(sender: type[Answer], obj: Answer, **kwargs: Any) -> None:
    """A held answer that staff published counts and tells the asker as one published at once."""
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=obj.question_id)
        _answer_published(question=question, answer=obj, now=timezone.now())


def best_answer_mark(
    *,
    question_id: int,
    answer_id: int,
    by_member: Member | None = None,
    by_user: Any = None,
    now: datetime | None = None,
) -> Question:
    """Mark `answer_id` the best answer of `question_id`, by its asker (`by_member`) or by staff
    (`by_user`, with `community.change_question`); its author earns once (see the module's doc)."""
    now = now or timezone.now()
    if (by_member is None) == (by_user is None):
        raise InvalidInput("the asker or a staff user marks the best answer", field="by")
    if by_user is not None and not by_user.has_perm("community.change_question"):
        raise Refused("staff need the right to change questions", code="not_allowed")
    with transaction.atomic():
        question = Question.objects.select_for_update().filter(pk=question_id).first()
        if question is None or (by_member is not None and question.state != ModerationState.PUBLISHED):
            raise NotFound("no such question", field="question")
        if by_member is not None and question.member_id != by_member.pk:
            raise Refused("only the asker marks the best answer", code="not_the_asker")
        answer = (
            Answer.objects.select_for_update(of=("self",))
            .select_related("member")
            .filter(pk=answer_id, question=question, state=ModerationState.PUBLISHED)
            .first()
        )
        if answer is None:
            raise NotFound("no published answer of this question with this id", field="answer")
        if question.member_id is not None and answer.member_id == question.member_id:
            raise Refused("the asker's own answer cannot be the best", code="own_answer")
        if question.best_answer_id == answer.pk:
            return question
        if answer.event_id is None:
            answer.event = _event_record(answer=answer, now=now)
            answer.save(update_fields=["event", "updated_at"])
        question.best_answer = answer
        question.last_activity_at = now
        question.save(update_fields=["best_answer", "last_activity_at", "updated_at"])
    return question


def _event_record(*, answer: Answer, now: datetime) -> ActivityEvent:
    event_type = settings_get().best_answer_event_type
    EventType.objects.get_or_create(code=event_type, defaults={"name": "Best answer"})
    key = best_answer_event_key(answer.pk)
    event_record(
        data=EventInput(
            member=answer.member.external_id,
            type=event_type,
            occurred_at=now,
            attributes={"question": answer.question_id, "answer": answer.pk},
            idempotency_key=key,
        )
    )
    return ActivityEvent.objects.get(idempotency_key=key)
