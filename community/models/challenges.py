"""Challenges (README "Community > Challenges"): "do N of X between two dates", counted over the
member's activity events of `event_type` meeting `conditions` (the badges' format:
`loyalty.services.badges`), shown with their progress on the member's dashboard; completing one
credits `bonus_points` exactly once (`ChallengeCompletion`, unique per member)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import LedgerEntry, Member, Segment


class Challenge(models.Model):
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown"))
    event_type = models.SlugField(_("event type"), max_length=64)
    conditions = models.JSONField(
        default=list, blank=True, help_text=_("conditions an event must meet to count")
    )
    count_required = models.PositiveIntegerField(_("how many"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    bonus_points = models.PositiveIntegerField(_("bonus points"))
    segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("who may take part (empty: every member)"),
    )
    is_active = models.BooleanField(_("on"), default=True)
    # The sweep's mark (`challenges_complete`): the last activity event id it has read; events of
    # higher ids are the new ones. None: never swept (or its rules changed), read from the start.
    swept_event_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "id"]
        verbose_name = _("challenge")
        verbose_name_plural = _("challenges")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="challenge_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(count_required__gte=1), name="challenge_count_positive"),
            models.CheckConstraint(condition=Q(bonus_points__gte=1), name="challenge_bonus_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class ChallengeCompletion(models.Model):
    # No index of its own: challenge_completed_once (challenge, member) leads with it.
    challenge = models.ForeignKey(
        Challenge, on_delete=models.PROTECT, related_name="completions", db_index=False
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField()
    entry = models.OneToOneField(LedgerEntry, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["completed_at"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "member"], name="challenge_completed_once")
        ]

    def __str__(self) -> str:
        return f"{self.challenge_id} by {self.member_id}"
