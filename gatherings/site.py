"""The member site's events (README "Events with limited seats"): the list a visitor may see, an
event's page with RSVP, cancel and the place in the waiting list. Anonymous visitors see the events
open to everyone; answering asks to log in and comes back to the event. An event the visitor may
not see is a 404, as a missing one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from catalog.views import member_required, site_member
from core.errors import DomainError
from gatherings.models import Gathering, Rsvp
from gatherings.selectors import (
    LIVE_STATES,
    gathering_for,
    gatherings_upcoming_for,
    rsvp_live_for,
    rsvp_waitlist_number,
)
from gatherings.services import rsvp_cancel, rsvp_create
from loyalty.models import Member

# The services' refusals in the member's words (their own messages are the API's, in English).
REFUSALS = {
    "event_not_open": gettext_lazy("This event is not open for answers."),
    "event_started": gettext_lazy("This event has already begun."),
    "member_not_active": gettext_lazy("Your account cannot answer events."),
    "checked_in": gettext_lazy("You are checked in already."),
}


def _refusal(error: DomainError) -> str:
    return str(REFUSALS.get(error.code, error.message))


def gathering_list(request: HttpRequest) -> HttpResponse:
    member = site_member(request)
    gatherings = gatherings_upcoming_for(member=member)
    answers: dict[int, str] = {}
    if member is not None:
        rows = Rsvp.objects.filter(
            member=member, gathering__in=[g.pk for g in gatherings], state__in=LIVE_STATES
        )
        answers = dict(rows.values_list("gathering_id", "state"))
    items = [(g, answers.get(g.pk, ""), _seats_left(g)) for g in gatherings]
    return render(request, "gatherings/site/list.html", {"items": items, "member": member})


def _seats_left(gathering: Gathering) -> int:
    """Seats free (never below 0: a lowered capacity keeps the confirmed)."""
    return max(0, gathering.capacity - gathering.confirmed_count)


def _gathering_or_404(gathering_id: int, member: Member | None) -> Gathering:
    gathering = gathering_for(gathering_id=gathering_id, member=member)
    if gathering is None:
        raise Http404("no such event")
    return gathering


def gathering_detail(request: HttpRequest, gathering_id: int) -> HttpResponse:
    member = site_member(request)
    gathering = _gathering_or_404(gathering_id, member)
    rsvp = rsvp_live_for(gathering=gathering, member=member) if member else None
    return render(
        request,
        "gatherings/site/detail.html",
        {
            "gathering": gathering,
            "member": member,
            "rsvp": rsvp,
            "waitlist_number": rsvp_waitlist_number(rsvp=rsvp) if rsvp else None,
            "seats_left": _seats_left(gathering),
            "login_url": redirect_to_login(request.get_full_path()).url,
        },
    )


@require_POST
@member_required(back_to="gatherings-detail")
def gathering_rsvp(request: HttpRequest, gathering_id: int) -> HttpResponse:
    gathering = _gathering_or_404(gathering_id, request.member)
    try:
        rsvp = rsvp_create(gathering_id=gathering.pk, member=request.member)
    except DomainError as error:
        messages.error(request, _refusal(error))
        return redirect("gatherings-detail", gathering_id=gathering.pk)
    if rsvp.state == Rsvp.State.CONFIRMED:
        messages.success(request, gettext("You are coming: your seat is booked."))
    else:
        messages.info(request, gettext("The event is full: you are on the waiting list."))
    return redirect("gatherings-detail", gathering_id=gathering.pk)


@require_POST
@member_required(back_to="gatherings-detail")
def gathering_cancel(request: HttpRequest, gathering_id: int) -> HttpResponse:
    gathering = _gathering_or_404(gathering_id, request.member)
    rsvp = rsvp_live_for(gathering=gathering, member=request.member)
    if rsvp is None:
        return redirect("gatherings-detail", gathering_id=gathering.pk)
    try:
        rsvp_cancel(rsvp_id=rsvp.pk, member=request.member)
    except DomainError as error:
        messages.error(request, _refusal(error))
    else:
        messages.success(request, gettext("Your answer is cancelled."))
    return redirect("gatherings-detail", gathering_id=gathering.pk)
