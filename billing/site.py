"""`/vip/` on the brand's site (README.md, "VIP and billing"): the VIP plans on sale, subscribing
through Stripe Checkout, managing the subscription in Stripe's customer portal, the member's state;
and, without Stripe keys, the sandbox's own checkout and portal pages (`billing.sandbox`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_POST

from billing.gateway import sandbox_on
from billing.models import Customer, Subscription
from billing.sandbox import (
    sandbox_checkout_pay,
    sandbox_checkout_plan,
    sandbox_session,
    sandbox_subscription_cancel,
)
from billing.selectors import vip_plans_on_sale
from billing.selectors_vip import subscription_live_for
from billing.services.checkout import checkout_session_start, portal_session_start
from billing.services.connect import brand_current
from catalog.views import member_required, site_member
from core.errors import Conflict, DomainError, NotFound
from loyalty.models import Member
from tenants.models import StripeAccount


def _member_state(member: Member | None) -> dict:
    if member is None:
        return {"member": None, "subscription": None, "has_customer": False}
    return {
        "member": member,
        "subscription": subscription_live_for(member=member),
        "has_customer": Customer.objects.filter(member=member).exists(),
    }


def vip_home(request: HttpRequest) -> HttpResponse:
    """The plans on sale and, for a member, their VIP state and subscription."""
    brand = brand_current()
    account = StripeAccount.objects.filter(brand=brand).first()
    context = {
        "plans": vip_plans_on_sale(),
        "open": account is not None and account.charges_enabled,
        "sandbox": account is not None and account.sandbox and sandbox_on(),
        **_member_state(site_member(request)),
    }
    return render(request, "billing/site/vip.html", context)


def _absolute(request: HttpRequest, name: str) -> str:
    return request.build_absolute_uri(reverse(name))


def _back_to_vip(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous visitors log in, then come back to /vip/ (the POST they made is not replayed)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(reverse("billing-vip"))
        return view(request, *args, **kwargs)

    return wrapper


@require_POST
@_back_to_vip
@member_required
def vip_subscribe(request: HttpRequest, plan_id: int) -> HttpResponse:
    """To Stripe Checkout for the plan; a member already subscribed goes to manage it instead."""
    try:
        url = checkout_session_start(
            member=request.member,
            plan_id=plan_id,
            success_url=_absolute(request, "billing-vip-success") + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=_absolute(request, "billing-vip-cancel"),
            locale=get_language() or "",
        )
    except NotFound as error:
        raise Http404(error.message) from error
    except Conflict:
        return vip_manage(request)
    except DomainError:
        messages.error(request, gettext("Subscribing is not possible right now. Please try again later."))
        return redirect("billing-vip")
    return redirect(url)


@require_POST
@_back_to_vip
@member_required
def vip_manage(request: HttpRequest) -> HttpResponse:
    """To Stripe's customer portal (change the card, see invoices, cancel)."""
    try:
        url = portal_session_start(
            member=request.member, return_url=_absolute(request, "billing-vip"), locale=get_language() or ""
        )
    except DomainError:
        messages.error(
            request, gettext("Your subscription cannot be managed right now. Please try again later.")
        )
        return redirect("billing-vip")
    return redirect(url)


@member_required
def vip_success(request: HttpRequest) -> HttpResponse:
    """Back from a paid checkout: the subscription arrives by Stripe's event, maybe a moment later
    (the page reloads itself until it has)."""
    return render(request, "billing/site/success.html", _member_state(request.member))


def vip_cancel(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/site/cancel.html")


# --- the sandbox's pages (no Stripe keys) -----------------------------------------------------------


def _sandbox_only() -> None:
    if not sandbox_on():
        raise Http404("the sandbox is off: this platform uses Stripe")


@member_required
def sandbox_checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """The sandbox's checkout page, clearly marked as such: "Pay" delivers Stripe's events."""
    _sandbox_only()
    try:
        session = sandbox_session(session_id=session_id, member=request.member)
    except NotFound as error:
        raise Http404(error.message) from error
    if request.method == "POST":
        try:
            return redirect(sandbox_checkout_pay(session_id=session_id, member=request.member))
        except Conflict:
            return redirect("billing-vip")
        except NotFound as error:
            raise Http404(error.message) from error
    plan = sandbox_checkout_plan(session=session)
    if plan is None:
        raise Http404("the plan of this session is no longer sold")
    data = session["sandbox"]["subscription_data"]
    context = {"session": session, "plan": plan, "trial_days": int(data.get("trial_period_days") or 0)}
    return render(request, "billing/site/sandbox_checkout.html", context)


@member_required
def sandbox_portal(request: HttpRequest, session_id: str) -> HttpResponse:
    """The sandbox's customer portal: the subscription, and cancelling it at the period's end."""
    _sandbox_only()
    try:
        session = sandbox_session(session_id=session_id, member=request.member)
    except NotFound as error:
        raise Http404(error.message) from error
    subscription = (
        subscription_live_for(member=request.member)
        or Subscription.objects.filter(member=request.member).order_by("-created_at").first()
    )
    if request.method == "POST" and subscription is not None:
        try:
            sandbox_subscription_cancel(subscription=subscription, at_period_end=True)
        except Conflict as error:
            messages.error(request, error.message)
        else:
            messages.success(request, gettext("Your subscription will end with the current period."))
        return redirect("billing-sandbox-portal", session_id=session_id)
    if subscription is not None:
        subscription.refresh_from_db()
    return render(
        request, "billing/site/sandbox_portal.html", {"session": session, "subscription": subscription}
    )
