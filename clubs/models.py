"""Club spaces (README.md, "Club spaces"): restricted sections of a brand's site, each entered by
one condition held as data (VIP, a tier at least, a segment, an attribute of the member's latest
event of a type, or a confidential code), with the pages the brand writes and negotiated offers.
Outsiders see the teaser and how to get in, never the content (`clubs.selectors`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import Member, Segment, Tier


class Space(models.Model):
    class Entry(models.TextChoices):
        VIP = "vip", _("VIP members")
        TIER = "tier", _("A tier at least")
        SEGMENT = "segment", _("Members of a segment")
        ATTRIBUTE = "attribute", _("An attribute of the member's latest event")
        CODE = "code", _("A confidential code")

    class Operator(models.TextChoices):
        GT = "gt", ">"
        GTE = "gte", "≥"
        LT = "lt", "<"
        LTE = "lte", "≤"
        EQ = "eq", "="

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    teaser = models.TextField(blank=True, help_text="shown to everyone, members or not (Markdown)")
    how_to_enter = models.TextField(blank=True, help_text="shown to those who may not enter yet (Markdown)")
    entry = models.CharField(max_length=16, choices=Entry.choices, default=Entry.VIP)
    tier = models.ForeignKey(
        Tier,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="this tier or a higher one",
    )
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The attribute condition: `attribute_name` of the member's latest event of `attribute_event_type`
    # compared with `attribute_value` (such as purchase_share > 0.5 of the monthly statement).
    attribute_event_type = models.CharField(max_length=64, blank=True)
    attribute_name = models.CharField(max_length=64, blank=True)
    attribute_operator = models.CharField(max_length=3, choices=Operator.choices, blank=True)
    attribute_value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    is_active = models.BooleanField(default=True, help_text="listed on /club/")
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(entry="tier") | Q(tier__isnull=False), name="space_tier_set"),
            models.CheckConstraint(
                condition=~Q(entry="segment") | Q(segment__isnull=False), name="space_segment_set"
            ),
            models.CheckConstraint(
                condition=~Q(entry="attribute")
                | (
                    ~Q(attribute_event_type="")
                    & ~Q(attribute_name="")
                    & ~Q(attribute_operator="")
                    & Q(attribute_value__isnull=False)
                ),
                name="space_attribute_set",
            ),
        ]

    def __str__(self) -> str:
        return self.name


RESERVED_PAGE_SLUGS = ("code", "offers")


class SpacePage(models.Model):
    """A page the brand writes for a space's members (Markdown, sanitised when shown)."""

    # No index of its own: space_page_slug_unique (space, slug) leads with it.
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="pages", db_index=False)
    slug = models.SlugField(max_length=60)
    title = models.CharField(max_length=160)
    body = models.TextField(blank=True, help_text="Markdown; raw HTML is not passed through")
    position = models.PositiveSmallIntegerField(default=0)
    is_published = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "title", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["space", "slug"], name="space_page_slug_unique"),
            # /club/<slug>/code/ and /club/<slug>/offers/ are the space's own addresses.
            models.CheckConstraint(condition=~Q(slug__in=RESERVED_PAGE_SLUGS), name="space_page_slug_free"),
        ]

    def __str__(self) -> str:
        return self.title


class Offer(models.Model):
    """A deal the brand negotiated for a space's members: a code to quote, or a link, with dates."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="offers")
    title = models.CharField(max_length=160)
    text = models.TextField(blank=True, help_text="Markdown")
    code = models.CharField(max_length=60, blank=True, help_text="the code members quote to the partner")
    link = models.URLField(blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "valid_until", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(code="") | ~Q(link=""), name="club_offer_code_or_link"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=models.F("valid_from")),
                name="club_offer_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SpaceCode(models.Model):
    """A confidential code of a space, handed out by the brand: stored as its HMAC only (the clear
    code is shown once, when made). The same code in two brands has two digests."""

    # No index of its own: space_code_digest_unique (space, digest) leads with it.
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="codes", db_index=False)
    label = models.CharField(max_length=120, blank=True, help_text="who it was handed to (for the brand)")
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["space", "digest"], name="space_code_digest_unique")]

    def __str__(self) -> str:
        return self.label or f"code {self.pk}"


class SpaceGrant(models.Model):  # noqa: DJ008 - a record, shown through its space and member
    """A member let into a code space by a right code (recorded: which code, when)."""

    # No index of its own: space_grant_unique (space, member) leads with it.
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="grants", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="space_grants")
    code = models.ForeignKey(
        SpaceCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="grants"
    )
    granted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["space", "member"], name="space_grant_unique")]


class SpaceCodeAttempt(models.Model):  # noqa: DJ008 - a record, listed by the space's admin
    """A code typed on `/club/<slug>/code/`: the wrong ones count towards the locks (per member and
    space, per address), as activation codes' attempts do."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        WRONG = "wrong", _("Wrong code")
        MEMBER_LOCKED = "member_locked", _("Refused: too many wrong codes")
        IP_LOCKED = "ip_locked", _("Refused: too many failures from this address")

    # No index of its own: space_attempt_member (space, member, at) leads with it.
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="attempts", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)

    class Meta:
        indexes = [
            models.Index(fields=["space", "member", "at"], name="space_attempt_member"),
            models.Index(fields=["ip", "at"], name="space_attempt_ip"),
        ]


class ClubSettings(models.Model):
    """The brand's club settings (one row): the private phone line shown to VIP members only."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    vip_phone = models.CharField(
        max_length=32, blank=True, help_text="the brand's private line, shown to VIP members only"
    )
    vip_phone_hours = models.CharField(
        max_length=120, blank=True, help_text="when it answers, such as Mon-Fri 9-18"
    )

    class Meta:
        verbose_name = "club settings"
        verbose_name_plural = "club settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="club_settings_singleton")]

    def __str__(self) -> str:
        return str(_("Club settings"))
