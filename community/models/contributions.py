"""Contributions of types the brand defines (README "Community > Contributions"): a damage report
with photos and a vehicle or place reference, a testimonial, a tip. Staff approve or reject them;
an approved one becomes an activity event of its type's `event_type` (idempotency key
`community:contribution:<id>`), so the rules award points and badges count them: approving twice
earns once, a rejected one earns nothing."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import ActivityEvent, Member

from .reviews import Subject

CONTRIBUTION_TEXT_MAX_LENGTH = 5000
PHOTOS_MAX = 6


class ContributionType(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True, help_text=_("shown on the form (Markdown)"))
    event_type = models.SlugField(
        _("event type"), max_length=64, help_text=_("the activity event an approved contribution becomes")
    )
    photos_required = models.PositiveSmallIntegerField(_("photos required"), default=0)
    reference_label = models.CharField(
        _("reference asked"),
        max_length=80,
        blank=True,
        help_text=_('for example "Vehicle plate"; empty: none'),
    )
    reference_required = models.BooleanField(default=False)
    subject_kind = models.CharField(
        _("about a"),
        max_length=16,
        blank=True,
        help_text=_("ask for a product, service or place (empty: none)"),
    )
    is_public = models.BooleanField(
        _("shown on the site"), default=False, help_text=_("approved ones are shown")
    )
    is_active = models.BooleanField(_("open"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("contribution type")
        constraints = [
            models.CheckConstraint(
                condition=Q(photos_required__lte=PHOTOS_MAX), name="contribution_type_photos"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ContributionState(models.TextChoices):
    SUBMITTED = "submitted", _("To review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Contribution(models.Model):
    State = ContributionState

    type = models.ForeignKey(ContributionType, on_delete=models.PROTECT, related_name="contributions")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="contributions")
    text = models.TextField(_("text"), max_length=CONTRIBUTION_TEXT_MAX_LENGTH)
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    subject = models.ForeignKey(Subject, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    language = models.CharField(max_length=8, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=ContributionState.choices, default=ContributionState.SUBMITTED
    )
    rejection_reason = models.CharField(_("rejection reason"), max_length=32, blank=True)
    rejection_note = models.TextField(_("note to the member"), max_length=1000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    event = models.OneToOneField(
        ActivityEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("the activity event the approval recorded"),
    )
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("contribution")
        verbose_name_plural = _("contributions")
        indexes = [models.Index(fields=["state", "created_at"], name="contribution_state_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=ContributionState.values), name="contribution_state"
            ),
            models.CheckConstraint(
                condition=~Q(state="approved") | Q(decided_at__isnull=False),
                name="contribution_approved_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type}"


class ContributionPhoto(models.Model):
    contribution = models.ForeignKey(Contribution, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="community/contributions/%Y/%m/")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.image.name
