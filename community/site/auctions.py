"""The member site's points auctions (README "Community > Auctions"): the list (open, coming and
lately closed auctions), an auction's page with its current bid, the time left, the member's state
(leading, outbid, won) and the bid form. Anonymous visitors see the auctions; bidding asks to log
in and comes back to the auction."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from catalog.views import member_required, site_member
from community.selectors.auctions import auction_for, auction_view, auctions_listed
from community.services.auctions import MAX_POINTS, bid_place
from core.errors import DomainError
from loyalty.services.ledger import points_spendable

# The services' refusals in the member's words (their own messages are the API's, in English).
REFUSALS = {
    "auction_closed": gettext_lazy("This auction is closed."),
    "auction_not_open": gettext_lazy("This auction is not open for bids yet."),
    "bid_too_low": gettext_lazy("Your bid is too low: bid at least %(minimum)s points."),
    "insufficient_points": gettext_lazy("You do not have enough points for this bid."),
    "address_missing": gettext_lazy(
        "The gift is sent by post: add your postal address to your account before bidding."
    ),
    "member_not_active": gettext_lazy("Your account cannot bid."),
}


class BidForm(forms.Form):
    points = forms.IntegerField(min_value=1, max_value=MAX_POINTS, label=gettext_lazy("Your bid (points)"))
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)


def auction_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "community/site/auctions/list.html",
        {"auctions": list(auctions_listed()), "now": timezone.now()},
    )


def _auction_or_404(auction_id: int):
    auction = auction_for(auction_id=auction_id)
    if auction is None:
        raise Http404("no such auction")
    return auction


def auction_detail(request: HttpRequest, auction_id: int, form: BidForm | None = None) -> HttpResponse:
    auction = _auction_or_404(auction_id)
    member = site_member(request)
    now = timezone.now()
    view = auction_view(auction=auction, member=member, now=now)
    form = form or BidForm(initial={"points": view.minimum, "token": uuid.uuid4().hex})
    return render(
        request,
        "community/site/auctions/detail.html",
        {
            "view": view,
            "auction": auction,
            "member": member,
            "spendable": points_spendable(member=member, at=now) if member else None,
            "form": form,
            "login_url": redirect_to_login(request.get_full_path()).url,
        },
        status=400 if form.is_bound else 200,
    )


@require_POST
@member_required(back_to="community-auction")
def auction_bid(request: HttpRequest, auction_id: int) -> HttpResponse:
    auction = _auction_or_404(auction_id)
    form = BidForm(request.POST)
    if not form.is_valid():
        return auction_detail(request, auction.pk, form=form)
    try:
        bid = bid_place(
            auction_id=auction.pk,
            member=request.member,
            points=form.cleaned_data["points"],
            idempotency_key=form.cleaned_data["token"],
        )
    except DomainError as error:
        view = auction_view(auction=auction, member=request.member)
        text = REFUSALS.get(error.code)
        form.add_error(
            "points" if error.field == "points" else None,
            str(text) % {"minimum": view.minimum} if text else error.message,
        )
        return auction_detail(request, auction.pk, form=form)
    messages.success(request, gettext("Your bid of %(points)s points leads.") % {"points": bid.points})
    return redirect("community-auction", auction_id=auction.pk)


urlpatterns = [
    path("community/auctions/", auction_list, name="community-auctions"),
    path("community/auctions/<int:auction_id>/", auction_detail, name="community-auction"),
    path("community/auctions/<int:auction_id>/bid/", auction_bid, name="community-auction-bid"),
]
