"""The member site's prize draws (README "Community > Draws"): the list, a draw's page (the prize,
who takes part, the seed's hash; after the draw the seed, the winners' public names and the entries
to check them) and the form that buys tickets with points. Anonymous visitors see the draws; buying
asks to log in and comes back to the draw."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from catalog.views import member_required, site_member
from community.drawing import seed_hash
from community.models import Draw
from community.selectors.draws import (
    draw_entries_public,
    draw_get,
    draw_is_open,
    draw_member_tickets,
    draw_seed_public,
    draw_totals,
    draw_winners_public,
    draws_drawn,
    draws_upcoming,
)
from community.services.draws import TICKETS_MAX, draw_tickets_buy
from core.errors import DomainError
from loyalty.services.ledger import points_spendable

# The services' refusals in the member's words (their own messages are the API's, in English).
REFUSALS = {
    "draw_not_open": gettext_lazy("The entries of this draw are closed."),
    "tickets_not_sold": gettext_lazy("This draw's tickets are not sold."),
    "member_not_active": gettext_lazy("Your account cannot take part in draws."),
    "insufficient_points": gettext_lazy("You do not have enough points for these tickets."),
}


class TicketsForm(forms.Form):
    tickets = forms.IntegerField(label=gettext_lazy("Tickets"), min_value=1, max_value=TICKETS_MAX, initial=1)
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)


def _draw_or_404(draw_id: int) -> Draw:
    draw = draw_get(draw_id=draw_id)
    if draw is None:
        raise Http404("no such draw")
    return draw


def draw_list(request: HttpRequest) -> HttpResponse:
    context = {"upcoming": list(draws_upcoming()), "drawn": list(draws_drawn())}
    return render(request, "community/site/draws/list.html", context)


def draw_detail(request: HttpRequest, draw_id: int, form: TicketsForm | None = None) -> HttpResponse:
    draw = _draw_or_404(draw_id)
    member = site_member(request)
    seed = draw_seed_public(draw=draw)
    members, tickets = draw_totals(draw=draw)
    selling = draw.eligibility == Draw.Eligibility.TICKETS_BOUGHT and draw_is_open(draw=draw)
    context = {
        "draw": draw,
        "member": member,
        "seed": seed,
        "seed_checks": bool(seed) and seed_hash(seed) == draw.seed_hash,
        "entries": draw_entries_public(draw=draw, member=member),
        "winners": draw_winners_public(draw=draw),
        "entrants": members,
        "tickets": tickets,
        "my_tickets": draw_member_tickets(draw=draw, member=member) if member else 0,
        "selling": selling,
        "form": form or (TicketsForm(initial={"key": uuid.uuid4().hex}) if selling and member else None),
        "spendable": points_spendable(member=member, at=timezone.now()) if selling and member else None,
        "login_url": redirect_to_login(request.get_full_path()).url,
    }
    return render(request, "community/site/draws/detail.html", context, status=400 if form else 200)


@require_POST
@member_required(back_to="community-draw")
def draw_buy(request: HttpRequest, draw_id: int) -> HttpResponse:
    draw = _draw_or_404(draw_id)
    form = TicketsForm(request.POST)
    if not form.is_valid():
        return draw_detail(request, draw_id, form=form)
    try:
        entry, created = draw_tickets_buy(
            draw_id=draw.pk,
            member=request.member,
            tickets=form.cleaned_data["tickets"],
            idempotency_key=form.cleaned_data["key"],
        )
    except DomainError as error:
        messages.error(request, str(REFUSALS.get(error.code, error.message)))
        return redirect("community-draw", draw_id=draw.pk)
    if created:
        bought = ngettext(
            "%(count)s ticket bought: good luck!", "%(count)s tickets bought: good luck!", entry.tickets
        )
        messages.success(request, bought % {"count": entry.tickets})
    else:
        messages.info(request, gettext("These tickets were bought already."))
    return redirect("community-draw", draw_id=draw.pk)


urlpatterns = [
    path("community/draws/", draw_list, name="community-draws"),
    path("community/draws/<int:draw_id>/", draw_detail, name="community-draw"),
    path("community/draws/<int:draw_id>/tickets/", draw_buy, name="community-draw-buy"),
]
