"""The backoffice's stored figures: the dashboard's monthly aggregates (README "Dashboard").

`backoffice.dashboard_services.dashboard_rebuild` (nightly) recomputes them up to `DashboardState.through`
(the start of the brand's day it ran); the dashboard adds what is dated from then on, read live on
indexed columns, so no request scans the ledger."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DashboardState(models.Model):
    """One row (id 1): how far the monthly aggregates go."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    through = models.DateTimeField(help_text=_("the aggregates count everything dated before this moment"))
    last_member_id = models.BigIntegerField(default=0, help_text=_("members up to this id are counted"))
    rebuilt_at = models.DateTimeField()
    # Counted over the whole member table, so once a night, at `rebuilt_at`: the dashboard says "as of".
    members_active_30 = models.IntegerField(default=0, help_text=_("members active in the 30 days before"))
    members_active_90 = models.IntegerField(default=0, help_text=_("members active in the 90 days before"))
    tiers = models.JSONField(
        default=dict, help_text=_("members per tier id ('' for none), up to last_member_id")
    )

    class Meta:
        permissions = [("view_dashboard", "Can view the dashboard")]
        constraints = [models.CheckConstraint(condition=Q(id=1), name="dashboard_state_single_row")]

    def __str__(self) -> str:
        return f"through {self.through:%Y-%m-%d %H:%M}"


class LedgerMonth(models.Model):
    """The ledger entries of one kind dated in one month of the brand's timezone (before `through`)."""

    month = models.DateField(help_text=_("its first day"))
    kind = models.CharField(max_length=16)
    points = models.BigIntegerField()
    entries = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "kind"], name="ledger_month_kind_unique")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.kind} {self.points:+d}"


class MemberMonth(models.Model):
    """The members (up to `last_member_id`) who joined in one month."""

    month = models.DateField(unique=True)
    joined = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.joined}"


class MessageMonth(models.Model):
    """The messages created in one month (before `through`), by channel and state."""

    month = models.DateField()
    channel = models.CharField(max_length=8)
    state = models.CharField(max_length=16)
    messages = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "channel", "state"], name="message_month_unique")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.channel} {self.state} {self.messages}"


class GiftMonth(models.Model):
    """A gift's quantity and points in the orders placed in one month (before `through`), not
    cancelled."""

    month = models.DateField()
    gift = models.ForeignKey("catalog.Gift", on_delete=models.CASCADE, related_name="+")
    quantity = models.IntegerField()
    points = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "gift"], name="gift_month_unique")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} gift {self.gift_id} x{self.quantity}"
