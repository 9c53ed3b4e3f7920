"""The billing API reads: `/api/v1/billing/subscriptions` (list, one with its history and
payments) and `/api/v1/billing/mrr`, bad filters naming their field, unknown ids in the error shape."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.factories import member_make
from tests.support import error_of, stripe_deliver, stripe_served, stripe_subscribe


@pytest.fixture
def subscribed(api_a):
    connection.set_tenant(api_a.brand)
    with stripe_served(api_a.brand) as fake:
        member = member_make("camille")
        events = stripe_subscribe(
            fake, brand=api_a.brand, member_id=member.pk, unit_amount=12000, interval="year"
        )
        stripe_deliver(*events)
        stripe_deliver(*fake.invoice_fail(events[1]["data"]["object"]["id"]))
        yield events[1]["data"]["object"]["id"]


def test_the_subscriptions_with_their_history_and_payments(api_a, subscribed):
    listing = api_a.get("/api/v1/billing/subscriptions?status=past_due").json()
    assert listing["count"] == 1
    [row] = listing["results"]
    assert (row["member"], row["status"], row["amount"], row["currency"], row["interval"]) == (
        "camille",
        "past_due",
        "120.00",
        "EUR",
        "year",
    )
    assert row["stripe_subscription_id"] == subscribed
    assert api_a.get("/api/v1/billing/subscriptions?status=active").json()["count"] == 0
    one = api_a.get(f"/api/v1/billing/subscriptions/{row['id']}").json()
    assert [(c["status_before"], c["status"]) for c in one["history"]] == [
        ("", "active"),
        ("active", "past_due"),
    ]
    assert [p["status"] for p in one["payments"]] == ["failed", "paid"]


def test_mrr_of_the_last_months(api_a, subscribed):
    months = api_a.get("/api/v1/billing/mrr?months=3").json()
    assert len(months) == 3
    assert months[-1]["mrr"] == [{"currency": "EUR", "amount": "10.00"}]
    assert set(months[-1]) == {"month", "mrr", "paying_at_start", "ended", "churn"}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/billing/subscriptions?status=asleep", "status"),
        ("/api/v1/billing/mrr?months=0", "months"),
        ("/api/v1/billing/mrr?months=37", "months"),
        ("/api/v1/billing/mrr?months=many", "months"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(api_a, path, field):
    assert error_of(api_a.get(path), 400)["field"] == field


def test_an_unknown_subscription_is_a_404(api_a):
    assert error_of(api_a.get("/api/v1/billing/subscriptions/999999"), 404)["field"] == "subscription_id"
