"""Backoffice: the brand's Stripe account (Connect onboarding): connect it, continue the onboarding
on Stripe's pages (account links), and see what Stripe says of it. Pages of the VIP plans' admin
(`billing.admin.plans` adds `connect_urls`)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from billing.services.connect import brand_current, stripe_account_connect, stripe_account_refresh
from core.errors import DomainError
from tenants.models import StripeAccount

PERMISSION = "billing.change_vipplan"


def _allowed(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def _onboarding_redirect(request: HttpRequest) -> HttpResponse:
    try:
        url = stripe_account_connect(
            brand=brand_current(),
            email=request.user.email,
            refresh_url=request.build_absolute_uri(reverse("admin:billing_stripe_account_refresh")),
            return_url=request.build_absolute_uri(reverse("admin:billing_stripe_account_return")),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(reverse("admin:billing_stripe_account"))
    return HttpResponseRedirect(url)


def connect_urls(site: admin.AdminSite, opts) -> list[URLPattern]:
    """The Stripe account's pages, under the VIP plans' admin."""

    def account_view(request: HttpRequest) -> HttpResponse:
        _allowed(request)
        context = {
            **site.each_context(request),
            "opts": opts,
            "title": gettext("Stripe account"),
            "account": StripeAccount.objects.filter(brand=brand_current()).first(),
        }
        return TemplateResponse(request, "billing/admin/stripe_account.html", context)

    def connect_view(request: HttpRequest) -> HttpResponse:
        _allowed(request)
        return _onboarding_redirect(request)

    def refresh_view(request: HttpRequest) -> HttpResponse:
        """Stripe's way back when a link expired (a GET): a new link for the account there is;
        never a new account (that is the connect button's POST)."""
        _allowed(request)
        if not StripeAccount.objects.filter(brand=brand_current()).exists():
            return HttpResponseRedirect(reverse("admin:billing_stripe_account"))
        return _onboarding_redirect(request)

    def return_view(request: HttpRequest) -> HttpResponse:
        """Back from Stripe's onboarding: the account's state read again."""
        _allowed(request)
        try:
            account = stripe_account_refresh(brand=brand_current())
        except DomainError as error:
            messages.error(request, error.message)
        else:
            if account.charges_enabled:
                messages.success(request, gettext("Your Stripe account takes payments."))
            else:
                messages.warning(request, gettext("Stripe still needs information to enable payments."))
        return HttpResponseRedirect(reverse("admin:billing_stripe_account"))

    def wrap(view: Callable) -> Callable:
        return site.admin_view(view)

    return [
        path("stripe-account/", wrap(account_view), name="billing_stripe_account"),
        path(
            "stripe-account/connect/", wrap(require_POST(connect_view)), name="billing_stripe_account_connect"
        ),
        path("stripe-account/return/", wrap(return_view), name="billing_stripe_account_return"),
        # Stripe sends the owner here when the link expired or was used: a new link.
        path("stripe-account/refresh/", wrap(refresh_view), name="billing_stripe_account_refresh"),
    ]
