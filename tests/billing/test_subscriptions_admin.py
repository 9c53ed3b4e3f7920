"""The backoffice's subscribers (`billing.admin.subscriptions`): their states, filters, a
subscription's history and payments, and the page "MRR and churn" with its charts, in English
and French; read only."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from billing.models import Subscription
from tests.factories import member_make
from tests.support import stripe_deliver, stripe_served, stripe_subscribe

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def subscribed(staff_a, brand_a):
    with stripe_served(brand_a) as fake:
        member = member_make(first_name="Camille", last_name="Martin")
        events = stripe_subscribe(fake, brand=brand_a, member_id=member.pk, unit_amount=1990)
        stripe_deliver(*events)
        subscription_id = events[1]["data"]["object"]["id"]
        stripe_deliver(*fake.invoice_fail(subscription_id))
        yield Subscription.objects.get(stripe_subscription_id=subscription_id)


def test_the_subscribers_with_their_states_and_filters(staff_a, subscribed):
    page = staff_a.get("/backoffice/billing/subscription/").content.decode()
    assert "Camille Martin" in page and "Past due" in page and "€19.90 / Monthly" in page
    assert (
        "Camille Martin"
        in staff_a.get("/backoffice/billing/subscription/?status__exact=past_due").content.decode()
    )
    assert (
        "Camille Martin"
        not in staff_a.get("/backoffice/billing/subscription/?status__exact=active").content.decode()
    )
    assert "Camille Martin" in staff_a.get("/backoffice/billing/subscription/?q=Martin").content.decode()


def test_a_subscriptions_history_and_payments(staff_a, subscribed):
    response = staff_a.get(reverse("admin:billing_subscription_change", args=[subscribed.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("past_due") >= 1 and "Failed" in page and "Paid" in page
    for change in subscribed.changes.all():
        assert change.stripe_event_id in page
    for payment in subscribed.payments.all():
        assert payment.stripe_invoice_id in page
    # Read only: Stripe is where a subscription changes.
    assert 'name="_save"' not in page
    assert staff_a.get("/backoffice/billing/subscription/add/").status_code == 403


def test_the_mrr_and_churn_page_draws_its_charts(staff_a, subscribed):
    response = staff_a.get(reverse("admin:billing_mrr"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="billing-chart"') == 2  # MRR in EUR, churn
    assert "MRR in EUR" in page and "€19.90" in page
    # Drawn on the server: no script of the page's own after its content (unfold's files only).
    scripts = re.findall(r"<script[^>]*>", page.split('id="content-main"')[1])
    assert all('src="/static/unfold/' in script for script in scripts), scripts


def test_the_mrr_page_in_french(staff_a, subscribed):
    staff_a.cookies["django_language"] = "fr"
    page = staff_a.get(reverse("admin:billing_mrr"), headers={"Accept-Language": "fr"}).content.decode()
    assert "MRR et attrition" in page and "19,90\u00a0€" in page
