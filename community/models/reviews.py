"""Reviews of what the brand lists (README "Community > Reviews"): products, services and points of
sale (`Subject`), rated 1 to 5 with a text, one review per member and subject (editing it is the way
to change one's mind). "Certified" only when the member had a matching purchase event
(`certified_event`). A rating of 1 or 2 opens a follow-up for support (`FollowUp`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import ActivityEvent, Member

from .moderation import Moderated

REFERENCE_MAX_LENGTH = 64
NAME_MAX_LENGTH = 160
REVIEW_TEXT_MAX_LENGTH = 5000
REVIEW_TITLE_MAX_LENGTH = 120
REPLY_MAX_LENGTH = 3000


class SubjectKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    SERVICE = "service", _("Service")
    PLACE = "place", _("Point of sale")


class Subject(models.Model):
    """What members review or ask about: `reference` is the brand's own id (a SKU, a service code, a
    shop's code), as purchase events carry it (`attributes.sku`, `.service`, `.place`, or the
    `sku` of one of `attributes.items`)."""

    kind = models.CharField(
        _("kind"), max_length=16, choices=SubjectKind.choices, default=SubjectKind.PRODUCT
    )
    reference = models.CharField(_("reference"), max_length=REFERENCE_MAX_LENGTH)
    name = models.CharField(_("name"), max_length=NAME_MAX_LENGTH)
    description = models.TextField(_("description"), blank=True)
    image_url = models.URLField(_("image"), blank=True)
    is_active = models.BooleanField(_("listed"), default=True, help_text=_("shown and open to reviews"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("reviewed item")
        verbose_name_plural = _("reviewed items")
        constraints = [
            models.UniqueConstraint(fields=["kind", "reference"], name="subject_kind_reference_unique"),
            models.CheckConstraint(condition=Q(kind__in=SubjectKind.values), name="subject_kind"),
            models.CheckConstraint(condition=~Q(reference=""), name="subject_reference_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


class Review(Moderated):
    # No index of their own: review_subject_published (subject, ...) and review_once_per_member
    # (member, subject) lead with them.
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="reviews", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="reviews", db_index=False)
    rating = models.PositiveSmallIntegerField(_("rating"))
    title = models.CharField(_("title"), max_length=REVIEW_TITLE_MAX_LENGTH, blank=True)
    text = models.TextField(_("review"), max_length=REVIEW_TEXT_MAX_LENGTH)
    experienced_on = models.DateField(_("date of the experience"), null=True, blank=True)
    certified_event = models.ForeignKey(
        ActivityEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("the purchase that certifies the review"),
    )
    reply = models.TextField(_("the brand's reply"), max_length=REPLY_MAX_LENGTH, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(null=True, blank=True)
    report_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        indexes = [
            models.Index(fields=["subject", "state", "-published_at"], name="review_subject_published"),
            # The review pages' (community.selectors.reviews): a subject's figures, the stamp of its
            # reviews and the order of a page of them, read from the index alone.
            models.Index(
                fields=["subject", "state"],
                include=["id", "rating", "language", "published_at", "updated_at", "certified_event"],
                name="review_subject_figures",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["member", "subject"], name="review_once_per_member"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_5"),
            *Moderated.moderation_constraints("review"),
        ]

    @property
    def certified(self) -> bool:
        return self.certified_event_id is not None

    def __str__(self) -> str:
        return f"{self.rating}/5 · {self.subject_id}"


class ReviewReport(models.Model):
    """A member's report of a published review; staff see it in the queue and keep or reject it."""

    # No index of its own: review_report_once (review, member) leads with it.
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reports", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=32, blank=True)
    note = models.TextField(_("note"), max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("review report")
        constraints = [models.UniqueConstraint(fields=["review", "member"], name="review_report_once")]

    def __str__(self) -> str:
        return f"{self.review_id} by {self.member_id}"


class FollowUpState(models.TextChoices):
    OPEN = "open", _("To do")
    CONTACTED = "contacted", _("Member contacted")
    CLOSED = "closed", _("Closed")


class FollowUp(models.Model):
    """Support's task opened by a rating of 1 or 2: contact the member, note the outcome, close."""

    State = FollowUpState

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="follow_up")
    state = models.CharField(
        _("state"), max_length=16, choices=FollowUpState.choices, default=FollowUpState.OPEN
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.TextField(_("outcome"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["state", "created_at"]
        verbose_name = _("review follow-up")
        verbose_name_plural = _("review follow-ups")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=FollowUpState.values), name="follow_up_state"),
            models.CheckConstraint(
                condition=~Q(state="closed") | Q(closed_at__isnull=False), name="follow_up_closed_at"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.review_id} ({self.state})"


class ReviewInvitation(models.Model):
    """One invitation to review per purchase event and subject: the beat's sweep writes it before
    firing the `review_invitation` trigger, so a second sweep invites nobody twice."""

    # No index of its own: review_invitation_once (event, subject) leads with it.
    event = models.ForeignKey(ActivityEvent, on_delete=models.CASCADE, related_name="+", db_index=False)
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "subject"], name="review_invitation_once")]

    def __str__(self) -> str:
        return f"{self.event_id} · {self.subject_id}"
