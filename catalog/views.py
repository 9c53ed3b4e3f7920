"""The member site's catalogue: gifts (with "I can afford it"), a gift's page, redeem, my orders."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from core.errors import DomainError, InvalidInput, NotFound
from core.formats import points_format
from loyalty.models import Member

from .forms import GiftFilterForm, RedeemForm
from .models import Gift, Order
from .selectors import (
    gift_offer_refusal,
    gift_offers_page,
    gifts_visible,
    member_orders,
    member_spendable_points,
)
from .services import (
    OrderTransitionError,
    RedeemItem,
    order_cancel,
    order_place,
)

GIFTS_PER_PAGE = 48

View = Callable[..., HttpResponse]


def site_member(request: HttpRequest) -> Member | None:
    """The logged-in user's member account in this brand, if any."""
    if not request.user.is_authenticated:
        return None
    return Member.objects.filter(user=request.user).first()


def member_required(view: View | None = None, *, back_to: str | None = None) -> Any:
    """Logged in, with a member account in this brand (staff without one get a clear 403 page).
    Anonymous visitors go to the login page, then back to the page named `back_to` (with the
    view's arguments) or, without it, to the page they asked for."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(
                    reverse(back_to, kwargs=kwargs) if back_to else request.get_full_path()
                )
            member = site_member(request)
            if member is None:
                return render(request, "catalog/not_a_member.html", status=403)
            request.member = member
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def gift_list(request: HttpRequest) -> HttpResponse:
    """Public on the brand's host: anonymous visitors see the visible gifts and their prices only."""
    member = site_member(request)
    form = GiftFilterForm(request.GET or None)
    if member is None:
        del form.fields["affordable"]  # nothing to afford without a member
    filters = form.filters() if request.GET else {}
    spendable = member_spendable_points(member_id=member.pk) if member else None
    page = gift_offers_page(
        member=member, spendable=spendable, number=request.GET.get("page"), per_page=GIFTS_PER_PAGE, **filters
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "catalog/gift_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "member": member,
            "spendable": spendable,
        },
    )


def _gift_page(
    request: HttpRequest, gift: Gift, form: RedeemForm | None, member: Member | None, status: int = 200
) -> HttpResponse:
    """The gift's page; without a member, no points and no form (a link to log in instead)."""
    spendable = member_spendable_points(member_id=member.pk) if member else None
    return render(
        request,
        "catalog/gift_detail.html",
        {
            "gift": gift,
            "form": form,
            "member": member,
            "spendable": spendable,
            "points_missing": max(0, gift.points_price - spendable) if spendable is not None else None,
            "refusal": gift_offer_refusal(gift=gift, member=member),
            "login_url": redirect_to_login(request.get_full_path()).url,
        },
        status=status,
    )


def _confirm_page(request: HttpRequest, gift: Gift, form: RedeemForm, member: Member) -> HttpResponse:
    """The redemption's confirmation step: what the member is about to spend and their points
    after it, with the same form (hidden) and a button that confirms it."""
    total = gift.points_price * form.cleaned_data["quantity"]
    spendable = member_spendable_points(member_id=member.pk)
    confirmed = form.data.copy()
    confirmed["confirmed"] = "on"
    return render(
        request,
        "catalog/gift_confirm.html",
        {
            "gift": gift,
            "form": RedeemForm(confirmed, needs_address=gift.is_physical),
            "quantity": form.cleaned_data["quantity"],
            "total": total,
            "after": spendable - total,
            "shipping": form.shipping(),
        },
    )


def gift_detail(request: HttpRequest, gift_id: int) -> HttpResponse:
    """Public on the brand's host, like `gift_list`."""
    gift = get_object_or_404(gifts_visible(), pk=gift_id)
    member = site_member(request)
    form = None
    if member is not None:
        form = RedeemForm(initial=RedeemForm.initial_for(member), needs_address=gift.is_physical)
    return _gift_page(request, gift, form, member)


@require_POST
@member_required(back_to="catalog-gift")
def gift_redeem(request: HttpRequest, gift_id: int) -> HttpResponse:
    gift = get_object_or_404(gifts_visible(), pk=gift_id)
    form = RedeemForm(request.POST, needs_address=gift.is_physical)
    if not form.is_valid():
        return _gift_page(request, gift, form, request.member, status=400)
    if not form.cleaned_data["confirmed"]:
        return _confirm_page(request, gift, form, request.member)
    try:
        order, _ = order_place(
            member_id=request.member.pk,
            items=[RedeemItem(gift_id=gift.pk, quantity=form.cleaned_data["quantity"])],
            shipping=form.shipping(),
            idempotency_key=f"site:{form.cleaned_data['token']}",
            actor="member",
        )
    except DomainError as error:
        field = (error.field or "").removeprefix("shipping_address.")
        form.add_error(f"ship_{field}" if f"ship_{field}" in form.fields else None, error.message)
        status = 400 if isinstance(error, InvalidInput | NotFound) else 409
        return _gift_page(request, gift, form, request.member, status=status)
    messages.success(
        request,
        gettext("Order %(number)s placed: %(points)s.")
        % {"number": order.pk, "points": points_format(order.total_points)},
    )
    return redirect("catalog-order", order_id=order.pk)


@member_required
def order_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(member_orders(member=request.member), 25).get_page(request.GET.get("page"))
    return render(request, "catalog/order_list.html", {"page": page})


@member_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(member_orders(member=request.member), pk=order_id)
    return render(request, "catalog/order_detail.html", {"order": order})


@require_POST
@member_required
def order_cancel_view(request: HttpRequest, order_id: int) -> HttpResponse:
    """Members may cancel an order until the brand confirms it."""
    order = get_object_or_404(Order, pk=order_id, member=request.member)
    try:
        _, changed = order_cancel(order_id=order.pk, actor="member", only_from=(Order.Status.PLACED,))
    except OrderTransitionError as error:
        messages.error(request, error.message)
    else:
        if changed:
            cancelled = gettext("Order %(number)s cancelled: your points are back.")
            messages.success(request, cancelled % {"number": order.pk})
    return redirect("catalog-order", order_id=order.pk)
