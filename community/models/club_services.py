"""Club services (README "Community > Club services"): a service a club space offers (a free cellar
valuation by the brand's sommelier); a member asks for it (`ServiceRequest`) and staff handle the
request in a queue, with states and an answer the member is told."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clubs.models import Space
from loyalty.models import Member

TEXT_MAX_LENGTH = 5000


class ClubService(models.Model):
    space = models.ForeignKey(
        Space,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="services",
        help_text=_("only who may enter this club space may ask (empty: every member)"),
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown"))
    request_help = models.CharField(
        _("what to write"), max_length=300, blank=True, help_text=_("shown above the request's text box")
    )
    is_active = models.BooleanField(_("offered"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("club service")
        verbose_name_plural = _("club services")

    def __str__(self) -> str:
        return self.name


class ServiceRequestState(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    ANSWERED = "answered", _("Answered")
    DECLINED = "declined", _("Declined")
    CLOSED = "closed", _("Closed")


class ServiceRequest(models.Model):
    State = ServiceRequestState

    service = models.ForeignKey(ClubService, on_delete=models.PROTECT, related_name="requests")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("request"), max_length=TEXT_MAX_LENGTH)
    state = models.CharField(
        _("state"), max_length=16, choices=ServiceRequestState.choices, default=ServiceRequestState.NEW
    )
    answer = models.TextField(_("answer"), max_length=TEXT_MAX_LENGTH, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["state", "created_at"]
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=ServiceRequestState.values), name="service_request_state"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} · {self.service}"
