"""Prize draws (README "Community > Draws"). The brand defines a prize, who takes part (a segment's
members, one ticket each, or tickets: one per `points_per_ticket` points spent in the period, or
bought at `ticket_price` points each) and the date. A secret seed is drawn when the draw is
scheduled and its SHA-256 published (`seed_hash`); at the draw the winners follow from the seed
alone (`community.drawing`, a pure function of the seed and the ordered entries) and the seed is
published, so anyone can check the hash and recompute the winners."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Gift
from loyalty.models import LedgerEntry, Member, Segment


class DrawState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DRAWN = "drawn", _("Drawn")
    CANCELLED = "cancelled", _("Cancelled")


class Draw(models.Model):
    class Eligibility(models.TextChoices):
        SEGMENT = "segment", _("The members of a segment, one ticket each")
        POINTS_SPENT = "points_spent", _("One ticket per N points spent")
        TICKETS_BOUGHT = "tickets_bought", _("Tickets bought with points")

    State = DrawState

    name = models.CharField(_("name"), max_length=120)
    prize = models.CharField(_("prize"), max_length=200)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown"))
    gift = models.ForeignKey(Gift, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    winners_count = models.PositiveSmallIntegerField(_("winners"), default=1)
    eligibility = models.CharField(_("who takes part"), max_length=16, choices=Eligibility.choices)
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    points_per_ticket = models.PositiveIntegerField(_("points spent per ticket"), null=True, blank=True)
    ticket_price = models.PositiveIntegerField(_("ticket price (points)"), null=True, blank=True)
    opens_at = models.DateTimeField(_("entries from"))
    closes_at = models.DateTimeField(_("entries until"))
    draw_at = models.DateTimeField(_("draw at"))
    seed_hash = models.CharField(_("seed's SHA-256"), max_length=64, blank=True)
    seed = models.CharField(_("seed"), max_length=64, blank=True, help_text=_("published after the draw"))
    state = models.CharField(
        _("state"), max_length=16, choices=DrawState.choices, default=DrawState.SCHEDULED
    )
    drawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-draw_at", "id"]
        verbose_name = _("prize draw")
        verbose_name_plural = _("prize draws")
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="draw_closes_after_open"),
            models.CheckConstraint(condition=Q(draw_at__gte=F("closes_at")), name="draw_after_close"),
            models.CheckConstraint(condition=Q(winners_count__gte=1), name="draw_winners_positive"),
            models.CheckConstraint(condition=Q(state__in=DrawState.values), name="draw_state"),
            models.CheckConstraint(
                condition=Q(eligibility="segment", segment__isnull=False)
                | Q(eligibility="points_spent", points_per_ticket__gte=1)
                | Q(eligibility="tickets_bought", ticket_price__gte=1),
                name="draw_eligibility",
            ),
            models.CheckConstraint(condition=~Q(state="drawn") | ~Q(seed=""), name="draw_seed_published"),
        ]

    def __str__(self) -> str:
        return self.name


class DrawEntry(models.Model):
    """A member's tickets in a draw (bought ones each debit `entry`; counted ones are written at the
    draw)."""

    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, related_name="entries")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    tickets = models.PositiveIntegerField()
    entry = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(tickets__gte=1), name="draw_entry_tickets_positive")
        ]

    def __str__(self) -> str:
        return f"{self.tickets} tickets, member {self.member_id}"


class DrawWinner(models.Model):
    # No index of its own: draw_winner_once (draw, member) leads with it.
    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, related_name="winners", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveSmallIntegerField()
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "rank"], name="draw_winner_rank_unique"),
            models.UniqueConstraint(fields=["draw", "member"], name="draw_winner_once"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.member_id}"
