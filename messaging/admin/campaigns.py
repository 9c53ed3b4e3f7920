"""Backoffice: campaigns. Created and changed (before they start) with the API's validation
(`messaging.services.campaigns.campaign_validate`: a template code of the chosen channel, a
segment of this brand), scheduled, paused, resumed and cancelled by POST buttons on the progress
page, which reloads itself (a meta refresh, no script) while the campaign runs."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, re_path, reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin_base import ModelAdmin
from core.errors import DomainError
from loyalty.admin.programme import ServiceForm
from messaging.checks import SKIP_REASONS
from messaging.models import Campaign, Message, MessageTemplate
from messaging.selectors.campaigns import campaign_progress, campaign_runs, run_progress
from messaging.services.campaigns import (
    CAMPAIGN_FIELDS,
    EDITABLE_STATES,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_save,
    campaign_schedule,
    campaign_validate,
)

# Seconds between two reloads of the progress page while the campaign runs.
REFRESH_SECONDS = 5
RUNS_SHOWN = 20
WEEKDAY_NAMES = (
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
)
# What each button does, the service it calls, and the states it is offered in.
ACTIONS = {
    "schedule": (campaign_schedule, _("Schedule"), (Campaign.State.DRAFT,)),
    "pause": (campaign_pause, _("Pause"), (Campaign.State.SCHEDULED, Campaign.State.RUNNING)),
    "resume": (campaign_resume, _("Resume"), (Campaign.State.PAUSED,)),
    "cancel": (
        campaign_cancel,
        _("Cancel"),
        tuple(state for state in Campaign.State.values if state != Campaign.State.CANCELLED),
    ),
}


class CampaignForm(ServiceForm):
    service_validate = staticmethod(campaign_validate)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=list(enumerate(WEEKDAY_NAMES)),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("“every week” only"),
    )

    template_code = forms.ChoiceField(
        label=_("Template"), help_text=_("a template of the campaign's channel, in each member's language")
    )

    class Meta:
        model = Campaign
        fields = list(CAMPAIGN_FIELDS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "template_code" in self.fields:  # not when the campaign is read only
            self.fields["template_code"].choices = [("", "---------"), *template_codes()]

    def _instance_kwarg(self) -> dict:
        return {"campaign": self.instance if self.instance.pk else None}


@admin.register(Campaign)
class CampaignAdmin(ModelAdmin):
    form = CampaignForm
    list_display = ["name", "channel", "template_code", "segment", "schedule_text", "state", "next_run"]
    list_filter = ["state", "channel", "schedule"]
    list_select_related = ["segment"]
    search_fields = ["name", "template_code"]
    change_form_template = "messaging/admin/campaigns/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "segment", "channel", "template_code"]}),
        (_("When"), {"fields": ["schedule", "send_at", "weekdays", "local_time"]}),
    ]

    @admin.display(description=_("schedule"))
    def schedule_text(self, campaign: Campaign) -> str:
        return schedule_in_words(campaign)

    @admin.display(description=_("next send"), ordering="next_run_at")
    def next_run(self, campaign: Campaign) -> str:
        return (
            date_format(localtime(campaign.next_run_at), "DATETIME_FORMAT") if campaign.next_run_at else "-"
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None):
        """A campaign that has started is read only (its messages say what it was)."""
        if obj is not None and obj.state not in EDITABLE_STATES:
            return list(CAMPAIGN_FIELDS)
        return []

    def has_delete_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        return super().has_delete_permission(request, obj) and (
            obj is None or obj.state == Campaign.State.DRAFT
        )

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        obj.pk = campaign_save(data=form._form_data(), campaign=obj if change else None).pk

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:campaign_id>/progress/", wrap(self.progress_view), name="messaging_campaign_progress"),
            re_path(
                rf"^(?P<campaign_id>[0-9]+)/(?P<action>{'|'.join(ACTIONS)})/$",
                wrap(require_POST(self.action_view)),
                name="messaging_campaign_action",
            ),
            *super().get_urls(),
        ]

    def response_add(self, request: HttpRequest, obj: Campaign, post_url_continue=None):
        if "_continue" in request.POST or "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        return HttpResponseRedirect(reverse("admin:messaging_campaign_progress", args=[obj.pk]))

    def progress_view(self, request: HttpRequest, campaign_id: int):
        """Where the campaign stands, every run together and run by run, with its buttons."""
        campaign = get_object_or_404(Campaign.objects.select_related("segment"), pk=campaign_id)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        progress = campaign_progress(campaign=campaign)
        runs = [(run, run_progress(run=run)) for run in campaign_runs(campaign=campaign)[:RUNS_SHOWN]]
        can_change = self.has_change_permission(request, campaign)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": campaign,
            "title": _("Campaign “%(name)s”") % {"name": campaign.name},
            "campaign": campaign,
            "schedule": schedule_in_words(campaign),
            "progress": progress,
            "states": _state_rows(progress),
            "reasons": [
                (reason, SKIP_REASONS.get(reason, reason), count)
                for reason, count in progress.skipped_by_reason.items()
            ],
            "runs": runs,
            "actions": [
                (action, label)
                for action, (_service, label, states) in ACTIONS.items()
                if can_change and campaign.state in states
            ],
            "refresh": REFRESH_SECONDS if _live(campaign, progress) else None,
        }
        return TemplateResponse(request, "messaging/admin/campaigns/progress.html", context)

    def action_view(self, request: HttpRequest, campaign_id: str, action: str):
        campaign = get_object_or_404(Campaign, pk=int(campaign_id))
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        service, label, _states = ACTIONS[action]
        try:
            service(campaign_id=campaign.pk)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, _("%(action)s: done.") % {"action": label}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:messaging_campaign_progress", args=[campaign.pk]))


def _live(campaign: Campaign, progress) -> bool:
    """Whether the page should reload itself: members are being queued or messages are on their way."""
    return campaign.state == Campaign.State.RUNNING or progress.queued + progress.sending > 0


def _state_rows(progress) -> list[tuple[str, int]]:
    return [(label, getattr(progress, state)) for state, label in Message.State.choices]


def template_codes() -> list[tuple[str, str]]:
    """The brand's template codes, each with the channels it exists on: "weekly-offer (email, sms)"."""
    channels: dict[str, list[str]] = {}
    for code, channel in MessageTemplate.objects.order_by("code", "channel").values_list("code", "channel"):
        if channel not in channels.setdefault(code, []):
            channels[code].append(channel)
    return [(code, f"{code} ({', '.join(found)})") for code, found in channels.items()]


def schedule_in_words(campaign: Campaign) -> str:
    """ "Now", "On 7 Dec 2026 08:00" or "Every Monday, Thursday at 08:00" (the brand's time)."""
    if campaign.schedule == Campaign.Schedule.AT and campaign.send_at:
        return _("On %(when)s") % {"when": date_format(localtime(campaign.send_at), "DATETIME_FORMAT")}
    if campaign.schedule == Campaign.Schedule.WEEKLY and campaign.local_time:
        days = ", ".join(str(WEEKDAY_NAMES[day]) for day in campaign.weekdays)
        return _("Every %(days)s at %(time)s") % {"days": days, "time": campaign.local_time.strftime("%H:%M")}
    return str(_("Now"))
