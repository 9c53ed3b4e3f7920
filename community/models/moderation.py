"""What every text members write shares (README "Community > Moderation"): the moderation state of
a review, a question, an answer, a discussion's thread or reply, a live conversation's message.

ISO 20488 (NF Z74-501) asks that every review be published, positive or negative, unless it is
rejected for one of the reasons the site publishes (`RejectionReason`), and that its author be told
the reason. So a text is `published` at once, unfiltered, unless the automatic moderation
(`community.moderation`) holds it for staff (`held`); staff then publish it or reject it with a
reason. The brand states on its site how long a held text waits at most
(`CommunitySettings.moderation_delay_days`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

LANGUAGE_MAX_LENGTH = 8
TERM_MAX_LENGTH = 80


class ModerationState(models.TextChoices):
    PUBLISHED = "published", _("Published")
    HELD = "held", _("Held for moderation")
    REJECTED = "rejected", _("Rejected")


class RejectionReason(models.TextChoices):
    """The published reasons a text may be rejected for (shown on the site's moderation rules)."""

    INSULT = "insult", _("Insulting or abusive language")
    HATE = "hate", _("Racist, discriminating or hateful content")
    PERSONAL_DATA = "personal_data", _("It names a person or gives personal data")
    NO_EXPERIENCE = "no_experience", _("It is not about an experience of the product, service or place")
    ADVERTISING = "advertising", _("Advertising, spam or a link to another site")
    CONFLICT_OF_INTEREST = "conflict_of_interest", _("Written by someone with a conflict of interest")
    ILLEGAL = "illegal", _("Unlawful content")
    DUPLICATE = "duplicate", _("A duplicate of another text")


class Moderated(models.Model):
    """The moderation fields of a text members write. `held_because` lists what the automatic
    moderation found (`[{"category": "insult", "term": "..."}]`), for staff only; the author is told
    `rejection_reason` (and `rejection_note`, staff's own words) when it is rejected."""

    language = models.CharField(_("language"), max_length=LANGUAGE_MAX_LENGTH, blank=True)
    state = models.CharField(
        _("moderation"), max_length=16, choices=ModerationState.choices, default=ModerationState.PUBLISHED
    )
    held_because = models.JSONField(default=list, blank=True)
    rejection_reason = models.CharField(
        _("rejection reason"), max_length=32, choices=RejectionReason.choices, blank=True
    )
    rejection_note = models.TextField(_("note to the author"), max_length=1000, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @classmethod
    def moderation_constraints(cls, prefix: str) -> list[models.BaseConstraint]:
        """The database's rules of the moderation fields, for a concrete model's Meta."""
        return [
            models.CheckConstraint(condition=Q(state__in=ModerationState.values), name=f"{prefix}_state"),
            models.CheckConstraint(
                condition=~Q(state="rejected") | ~Q(rejection_reason=""),
                name=f"{prefix}_rejected_with_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="published") | Q(published_at__isnull=False), name=f"{prefix}_published_at"
            ),
        ]


class TermCategory(models.TextChoices):
    INSULT = "insult", _("Insult")
    HATE = "hate", _("Racist or hateful word")
    NAME = "name", _("A person's name")
    ALLOWED = "allowed", _("Allowed (never holds a text)")


class ModerationTerm(models.Model):
    """A word or expression the brand adds to the lists that ship (community/wordlists/), per
    language ("" for every language); `allowed` ones are taken out of them (a brand called
    "Grosbois" does not hold its own name)."""

    language = models.CharField(_("language"), max_length=LANGUAGE_MAX_LENGTH, blank=True)
    category = models.CharField(_("category"), max_length=16, choices=TermCategory.choices)
    term = models.CharField(_("word or expression"), max_length=TERM_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["language", "category", "term"]
        verbose_name = _("moderation word")
        verbose_name_plural = _("moderation words")
        constraints = [
            models.UniqueConstraint(fields=["language", "category", "term"], name="moderation_term_unique"),
            models.CheckConstraint(
                condition=Q(category__in=TermCategory.values), name="moderation_term_category"
            ),
            models.CheckConstraint(condition=~Q(term=""), name="moderation_term_not_blank"),
        ]

    def __str__(self) -> str:
        return self.term


class CommunitySettings(models.Model):
    """The brand's community settings: one row (pk 1), or the defaults while none is saved
    (`community.selectors.settings_get`)."""

    moderation_delay_days = models.PositiveSmallIntegerField(
        _("moderation delay (days)"),
        default=7,
        help_text=_("a held text is published or rejected within this many days (shown on the site)"),
    )
    moderation_rules = models.TextField(
        _("moderation rules"),
        blank=True,
        help_text=_("Markdown, shown on the site's moderation rules page above the published reasons"),
    )
    review_invitation_days = models.PositiveSmallIntegerField(
        _("review invitation delay (days)"),
        default=3,
        help_text=_("days after a purchase the member is invited to review it (0: no invitation)"),
    )
    purchase_event_types = models.JSONField(
        default=list,
        blank=True,
        help_text=_(
            "the event types that are purchases (certify reviews, invite to review); empty: purchase"
        ),
    )
    best_answer_event_type = models.SlugField(max_length=64, default="best_answer")
    live_help_enabled = models.BooleanField(_("live help"), default=True)
    live_helpful_event_type = models.SlugField(max_length=64, default="helpful_conversation")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("community settings")
        verbose_name_plural = _("community settings")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="community_settings_single_row")]

    def __str__(self) -> str:
        return str(_("Community settings"))
