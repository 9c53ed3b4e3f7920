"""Discussions (README "Community > Discussions"): a testimonials and discussion space of threads
and replies, moderated like every text, optionally restricted to a club space (a VIP forum: only
who may enter `space` reads and writes there, `clubs.selectors.space_may_enter`)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from clubs.models import Space
from loyalty.models import Member

from .moderation import Moderated

THREAD_TITLE_MAX_LENGTH = 160
TEXT_MAX_LENGTH = 10000


class Thread(Moderated):
    class Kind(models.TextChoices):
        DISCUSSION = "discussion", _("Discussion")
        TESTIMONIAL = "testimonial", _("Testimonial")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.DISCUSSION)
    # No index of its own: thread_space_activity (space, state, last_activity_at) leads with it.
    space = models.ForeignKey(
        Space,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="threads",
        db_index=False,
        help_text=_("only who may enter this club space sees the thread (empty: every member)"),
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="threads")
    title = models.CharField(_("title"), max_length=THREAD_TITLE_MAX_LENGTH)
    text = models.TextField(_("text"), max_length=TEXT_MAX_LENGTH)
    is_pinned = models.BooleanField(_("pinned"), default=False)
    is_locked = models.BooleanField(_("closed to replies"), default=False)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_pinned", "-last_activity_at", "-id"]
        verbose_name = _("discussion")
        verbose_name_plural = _("discussions")
        indexes = [models.Index(fields=["space", "state", "-last_activity_at"], name="thread_space_activity")]
        constraints = [*Moderated.moderation_constraints("thread")]

    def __str__(self) -> str:
        return self.title


class Reply(Moderated):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="replies")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("reply"), max_length=TEXT_MAX_LENGTH)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("reply")
        verbose_name_plural = _("replies")
        constraints = [*Moderated.moderation_constraints("reply")]
