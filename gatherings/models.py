"""Events with limited seats (tastings, meetups, workshops): a shared model, the community issue
reuses it. Called "events" on the site and in the backoffice; the code says `Gathering` so they are
never confused with loyalty's activity events (`loyalty.ActivityEvent`).

Seats: the database refuses a second live RSVP of a member to one gathering and a waiting list
without its order; "confirmed RSVPs never above capacity" is kept by `gatherings.services`, which
counts and writes them under the gathering's row lock (the lock order is in its docstring).
Visible to everyone, to a segment's members, or to those who may enter a club space
(`clubs.selectors.space_may_enter`).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clubs.models import Space
from loyalty.models import Member, Segment

TITLE_MAX_LENGTH = 160
DESCRIPTION_MAX_LENGTH = 5000
PLACE_MAX_LENGTH = 200
CAPACITY_MAX = 100_000


class GatheringKind(models.TextChoices):
    TASTING = "tasting", _("Tasting")
    MEETUP = "meetup", _("Meetup")
    WORKSHOP = "workshop", _("Workshop")
    OTHER = "other", _("Other")


class GatheringVisibility(models.TextChoices):
    EVERYONE = "everyone", _("Everyone")
    SEGMENT = "segment", _("A segment of members")
    SPACE = "space", _("The members of a club space")


class GatheringState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Cancelled")


class RsvpState(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    WAITLISTED = "waitlisted", _("Waiting list")
    CANCELLED = "cancelled", _("Cancelled")


class Gathering(models.Model):
    Kind = GatheringKind
    Visibility = GatheringVisibility
    State = GatheringState

    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.MEETUP)
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    place = models.CharField(_("place"), max_length=PLACE_MAX_LENGTH)
    capacity = models.PositiveIntegerField(_("capacity"), help_text=_("the number of seats"))
    visibility = models.CharField(
        _("visible to"), max_length=16, choices=Visibility.choices, default=Visibility.EVERYONE
    )
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="gatherings",
        help_text=_("who sees the event when it is visible to a segment"),
    )
    space = models.ForeignKey(
        Space,
        verbose_name=_("club space"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="gatherings",
        help_text=_("whose members see the event when it is visible to a club space"),
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [models.Index(fields=["state", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="gathering_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1, capacity__lte=CAPACITY_MAX), name="gathering_capacity"
            ),
            models.CheckConstraint(condition=Q(kind__in=GatheringKind.values), name="gathering_kind"),
            models.CheckConstraint(condition=Q(state__in=GatheringState.values), name="gathering_state"),
            models.CheckConstraint(
                condition=Q(visibility="everyone", segment__isnull=True, space__isnull=True)
                | Q(visibility="segment", segment__isnull=False, space__isnull=True)
                | Q(visibility="space", space__isnull=False, segment__isnull=True),
                name="gathering_visibility",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Rsvp(models.Model):
    """A member's answer to a gathering: a seat (`confirmed`), a place in the waiting list
    (`waitlisted`, ordered by `position`), or `cancelled` (kept: a member may answer again, which is
    a new row)."""

    State = RsvpState

    # No index of its own: the index (gathering, state, position) leads with it.
    gathering = models.ForeignKey(
        Gathering, verbose_name=_("event"), on_delete=models.PROTECT, related_name="rsvps", db_index=False
    )
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="rsvps"
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    # The order of arrival in the gathering's waiting list (1, 2, 3 ... never reused); kept after a
    # promotion or a cancellation. A member's number in the list is how many waitlisted are before.
    position = models.PositiveIntegerField(_("waiting list order"), null=True, blank=True)
    created_at = models.DateTimeField(_("answered at"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)

    class Meta:
        ordering = ["gathering", "created_at", "id"]
        verbose_name = _("RSVP")
        verbose_name_plural = _("RSVPs")
        indexes = [models.Index(fields=["gathering", "state", "position"])]
        constraints = [
            models.UniqueConstraint(
                fields=["gathering", "member"],
                condition=~Q(state="cancelled"),
                name="rsvp_one_live_per_member",
            ),
            models.UniqueConstraint(
                fields=["gathering", "position"],
                condition=Q(position__isnull=False),
                name="rsvp_position_unique",
            ),
            models.CheckConstraint(condition=Q(state__in=RsvpState.values), name="rsvp_state"),
            models.CheckConstraint(
                condition=~Q(state="waitlisted") | Q(position__isnull=False),
                name="rsvp_waitlisted_has_position",
            ),
            models.CheckConstraint(
                condition=Q(state="confirmed") | Q(checked_in_at__isnull=True),
                name="rsvp_checked_in_is_confirmed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member}: {self.gathering}"
