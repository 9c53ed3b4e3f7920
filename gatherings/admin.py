"""The backoffice's events (README "Events with limited seats"): the events with their RSVPs and
waiting list, saved through `gatherings.services` (a raised capacity promotes the waiting list),
the attendee list in CSV, the door check-in page (search a name, check in) and invitations to a
segment."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy, ngettext

from catalog.admin import csv_download
from core.admin_base import ModelAdmin, TabularInline
from core.errors import DomainError, NotFound
from gatherings.models import Gathering, Rsvp
from gatherings.selectors import gathering_attendees_csv, gathering_rsvps, gatherings_with_counts
from gatherings.services import (
    GATHERING_FIELDS,
    gathering_create,
    gathering_invitations_send,
    gathering_update,
    gathering_validate,
    rsvp_cancel,
    rsvp_check_in,
)
from loyalty.admin.programme import ServiceForm
from loyalty.models import Segment

DOOR_RESULTS = 50


class GatheringForm(ServiceForm):
    service_validate = staticmethod(gathering_validate)

    class Meta:
        model = Gathering
        fields = GATHERING_FIELDS

    def _instance_kwarg(self) -> dict:
        return {"gathering": self.instance}


class RsvpInline(TabularInline):
    """The event's answers, read-only: seats and the waiting list change through the services."""

    model = Rsvp
    fields = ["member", "state", "waiting_number", "created_at", "checked_in_at"]
    readonly_fields = fields
    ordering = ["state", "position", "created_at", "id"]
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = gettext_lazy("RSVPs and waiting list")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rsvp]:
        return super().get_queryset(request).exclude(state=Rsvp.State.CANCELLED).select_related("member")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("waiting list order"))
    def waiting_number(self, rsvp: Rsvp) -> str:
        return str(rsvp.position) if rsvp.state == Rsvp.State.WAITLISTED else ""


class InviteForm(forms.Form):
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.order_by("name"), label=gettext_lazy("Segment to invite")
    )


@admin.register(Gathering)
class GatheringAdmin(ModelAdmin):
    form = GatheringForm
    inlines = [RsvpInline]
    list_display = ["title", "kind", "starts_at", "place", "capacity", "confirmed", "waitlisted", "state"]
    list_filter = ["state", "kind", "visibility"]
    search_fields = ["title", "place"]
    date_hierarchy = "starts_at"
    change_form_template = "admin/gatherings/gathering/change_form.html"
    fieldsets = [
        (None, {"fields": ["title", "kind", "description", "state"]}),
        (gettext_lazy("When and where"), {"fields": ["starts_at", "ends_at", "place", "capacity"]}),
        (gettext_lazy("Who sees it"), {"fields": ["visibility", "segment", "space"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Gathering]:
        return gatherings_with_counts()

    @admin.display(description=gettext_lazy("confirmed"), ordering="confirmed_count")
    def confirmed(self, gathering: Gathering) -> int:
        return gathering.confirmed_count  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("waiting list"), ordering="waitlisted_count")
    def waitlisted(self, gathering: Gathering) -> int:
        return gathering.waitlisted_count  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Gathering, form: GatheringForm, change: bool) -> None:
        data = form._form_data()
        if change:
            saved = gathering_update(gathering_id=obj.pk, data=data)
        else:
            saved = gathering_create(data=data)
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Gathering | None = None) -> bool:
        """An event with answers is cancelled, not deleted (its RSVPs are the members' history)."""
        if obj is not None and obj.rsvps.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:gathering_id>/attendees.csv",
                wrap(self.attendees_csv_view),
                name="gatherings_attendees_csv",
            ),
            path("<int:gathering_id>/door/", wrap(self.door_view), name="gatherings_gathering_door"),
            path("<int:gathering_id>/invite/", wrap(self.invite_view), name="gatherings_gathering_invite"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, gathering: Gathering, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": gathering,
            "title": title,
        }

    def attendees_csv_view(self, request: HttpRequest, gathering_id: int) -> HttpResponse:
        """The attendee list (confirmed, then the waiting list in order) as a CSV file. It holds the
        members' e-mails and phones: staff who may see the event and the members only."""
        gathering = get_object_or_404(Gathering, pk=gathering_id)
        if not self.has_view_permission(request, gathering) or not request.user.has_perm(
            "loyalty.view_member"
        ):
            return HttpResponse(status=403)
        name = f"event-{gathering.pk}-{slugify(gathering.title) or 'attendees'}.csv"
        return csv_download(gathering_attendees_csv(gathering=gathering), name)

    def door_view(self, request: HttpRequest, gathering_id: int) -> HttpResponse:
        """At the door: search a name (or e-mail, company, id), check the member in; a member on
        the waiting list is shown as such, not checked in."""
        gathering = get_object_or_404(gatherings_with_counts(), pk=gathering_id)
        if not self.has_change_permission(request, gathering):
            return HttpResponse(status=403)
        door_url = reverse("admin:gatherings_gathering_door", args=[gathering.pk])
        query = request.GET.get("q", "").strip()
        if request.method == "POST":
            query = request.POST.get("q", "").strip()
            back = f"{door_url}?{urlencode({'q': query})}" if query else door_url
            try:
                rsvp_id = int(request.POST.get("rsvp", ""))
                if request.POST.get("action") == "cancel":
                    if not gathering.rsvps.filter(pk=rsvp_id).exists():
                        raise NotFound("no such answer for this event", field="rsvp")
                    rsvp_cancel(rsvp_id=rsvp_id)
                    messages.success(request, gettext("The answer is cancelled."))
                else:
                    rsvp, checked = rsvp_check_in(rsvp_id=rsvp_id, gathering_id=gathering.pk)
                    name = rsvp.member.display_name
                    if checked:
                        messages.success(request, gettext("%(name)s is checked in.") % {"name": name})
                    else:
                        messages.warning(
                            request, gettext("%(name)s was checked in already.") % {"name": name}
                        )
            except ValueError:
                messages.error(request, gettext("Choose a member to check in."))
            except DomainError as error:
                messages.error(request, error.message)
            return HttpResponseRedirect(back)
        rsvps = gathering_rsvps(gathering_id=gathering.pk, search=query)
        checked_in = gathering.rsvps.filter(checked_in_at__isnull=False).count()
        context = {
            **self._context(request, gathering, gettext("Door check-in")),
            "query": query,
            "rsvps": rsvps[:DOOR_RESULTS],
            "more": rsvps.count() > DOOR_RESULTS,
            "checked_in": checked_in,
        }
        return TemplateResponse(request, "admin/gatherings/gathering/door.html", context)

    def invite_view(self, request: HttpRequest, gathering_id: int) -> HttpResponse:
        """Invite a segment's members through the "Event invitation" trigger (once per member)."""
        gathering = get_object_or_404(Gathering, pk=gathering_id)
        if not self.has_change_permission(request, gathering):
            return HttpResponse(status=403)
        form = InviteForm(request.POST or None, initial={"segment": gathering.segment_id})
        status = 200
        if request.method == "POST":
            if form.is_valid():
                try:
                    queued = gathering_invitations_send(
                        gathering_id=gathering.pk, segment=form.cleaned_data["segment"]
                    )
                except DomainError as error:
                    form.add_error("segment", error.message)
                else:
                    sent = ngettext("%(count)s invitation queued.", "%(count)s invitations queued.", queued)
                    messages.success(request, sent % {"count": queued})
                    return HttpResponseRedirect(
                        reverse("admin:gatherings_gathering_change", args=[gathering.pk])
                    )
            status = 400
        context = {**self._context(request, gathering, gettext("Invite a segment")), "form": form}
        return TemplateResponse(request, "admin/gatherings/gathering/invite.html", context, status=status)
