"""Questions and answers (README "Community > Q&A"): members and visitors ask, members answer; the
asker or staff marks the best answer, which becomes an activity event of
`CommunitySettings.best_answer_event_type` for its author (idempotency key
`community:best_answer:<answer id>`), so an answer earns once, when it is first marked best
(`community.services.qa`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import ActivityEvent, Member

from .moderation import Moderated
from .reviews import Subject

QUESTION_TITLE_MAX_LENGTH = 160
TEXT_MAX_LENGTH = 5000


class Question(Moderated):
    subject = models.ForeignKey(
        Subject, null=True, blank=True, on_delete=models.PROTECT, related_name="questions"
    )
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.PROTECT, related_name="questions"
    )
    # A visitor who is not a member: a name to show and an address to tell them of answers.
    visitor_name = models.CharField(_("name"), max_length=80, blank=True)
    visitor_email = models.EmailField(_("e-mail"), blank=True)
    title = models.CharField(_("question"), max_length=QUESTION_TITLE_MAX_LENGTH)
    text = models.TextField(_("details"), max_length=TEXT_MAX_LENGTH, blank=True)
    best_answer = models.OneToOneField(
        "Answer", null=True, blank=True, on_delete=models.SET_NULL, related_name="best_of"
    )
    answer_count = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        indexes = [models.Index(fields=["state", "-last_activity_at"], name="question_state_activity")]
        constraints = [
            *Moderated.moderation_constraints("question"),
            models.CheckConstraint(
                condition=Q(member__isnull=False) | ~Q(visitor_name=""), name="question_has_author"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Answer(Moderated):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="answers")
    text = models.TextField(_("answer"), max_length=TEXT_MAX_LENGTH)
    event = models.OneToOneField(
        ActivityEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("the activity event the best answer recorded"),
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [*Moderated.moderation_constraints("answer")]

    def __str__(self) -> str:
        return f"#{self.pk} to {self.question_id}"
