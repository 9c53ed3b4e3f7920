"""Brand staff: each staff user's role in the backoffice (core.roles) and second factor, and the
brand's rules for staff (the support's adjustment limit, mandatory two-factor, idle sessions)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffProfile(models.Model):
    """One per staff user (`is_staff`). A user without one has no role and sees nothing."""

    class Role(models.TextChoices):
        OWNER = "owner", _("owner")
        MANAGER = "manager", _("manager")
        SUPPORT = "support", _("support")
        SALES_REP = "sales_rep", _("sales rep")
        ANALYST = "analyst", _("analyst")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    # TOTP (RFC 6238): the base32 secret, confirmed once the staff user typed a first code.
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The time step of the last code accepted (core.totp): a code, or an older one, is not taken again.
    totp_last_step = models.BigIntegerField(null=True, blank=True)
    # The unused recovery codes, each as its HMAC-SHA256 (core.totp.recovery_code_digest), never in clear.
    recovery_codes = models.JSONField(default=list, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("staff profile")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "manager", "support", "sales_rep", "analyst"]),
                name="staffprofile_role_known",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class StaffSettings(models.Model):
    """The brand's one row of staff rules, set by an owner."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    support_adjust_limit = models.PositiveIntegerField(
        default=1000, help_text=_("the most points a support user may add or remove in one adjustment")
    )
    two_factor_required = models.BooleanField(
        default=False, help_text=_("every staff user must use a one-time code from an app at login")
    )
    idle_minutes = models.PositiveIntegerField(
        default=30, help_text=_("a backoffice session ends after this many minutes without a request")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("staff settings")
        verbose_name_plural = _("staff settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="staffsettings_single_row"),
            models.CheckConstraint(condition=models.Q(idle_minutes__gte=5), name="staffsettings_idle_min"),
        ]

    def __str__(self) -> str:
        return str(_("staff settings"))
