"""MRR and churn (`billing.selectors`), read from the subscriptions' history: six months of a
brand's subscribers, told by the events Stripe sends, give the figures those events say."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.selectors import month_figures, monthly_amount, months_figures, mrr_before, subscription_list
from tests.factories import member_make
from tests.support import stripe_account_of, stripe_deliver, stripe_served, stripe_subscribe

pytestmark = pytest.mark.django_db(transaction=False)


def _at(month: int, day: int) -> int:
    return int(datetime(2026, month, day, 12, 0, tzinfo=UTC).timestamp())


@pytest.fixture
def story(db, brand_a, in_a):
    """Camille pays 9.90 EUR a month from January 10 and ends on April 10 (cancelled at the
    period's end on March 15); Dominique pays 120 EUR a year from February 5; Eli tries 5 USD a
    month from February 20 for 14 days, then pays; Farid pays 9.90 EUR a month from April 1, his
    payment fails on May 1 (past due: still paying) and the subscription goes unpaid on May 20."""
    with stripe_served(brand_a) as fake:
        account = stripe_account_of(brand_a)

        def subscribe(at: int, **price) -> str:
            events = stripe_subscribe(fake, brand=brand_a, member_id=member_make().pk, at=at, **price)
            stripe_deliver(*events)
            return events[1]["data"]["object"]["id"]

        camille = subscribe(_at(1, 10))
        subscribe(_at(2, 5), unit_amount=12000, interval="year")
        eli = subscribe(_at(2, 20), unit_amount=500, currency="usd", trial_days=14)
        stripe_deliver(*fake.subscription_renew(eli))  # the trial's end, paid: March 6
        stripe_deliver(fake.subscription_cancel(camille, at_period_end=True, at=_at(3, 15)))
        stripe_deliver(fake.subscription_cancel(camille, at_period_end=False, at=_at(4, 10)))
        farid = subscribe(_at(4, 1))
        stripe_deliver(*fake.invoice_fail(farid))
        unpaid = {**fake.object(farid), "status": "unpaid"}
        stripe_deliver(fake.event("customer.subscription.updated", unpaid, account=account, at=_at(5, 20)))
        yield


EUR, USD = "EUR", "USD"
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_mrr_and_churn_of_each_month_are_what_the_events_said(story):
    figures = months_figures(count=6, now=NOW)
    assert [f.month for f in figures] == [date(2026, month, 1) for month in range(1, 7)]
    assert [(f.mrr, f.paying_at_start, f.ended, f.churn) for f in figures] == [
        ({EUR: Decimal("9.90")}, 0, 0, None),
        # Dominique's year is 10.00 a month; Eli's trial pays nothing yet.
        ({EUR: Decimal("19.90")}, 1, 0, Decimal("0")),
        ({EUR: Decimal("19.90"), USD: Decimal("5.00")}, 2, 0, Decimal("0")),
        # Camille ends, Farid starts.
        ({EUR: Decimal("19.90"), USD: Decimal("5.00")}, 3, 1, Decimal("0.3333")),
        # Farid past due on May 1 still counts, unpaid on May 20 no longer.
        ({EUR: Decimal("10.00"), USD: Decimal("5.00")}, 3, 1, Decimal("0.3333")),
        ({EUR: Decimal("10.00"), USD: Decimal("5.00")}, 2, 0, Decimal("0")),
    ]


def test_mrr_at_a_moment_and_the_month_of_a_date(story):
    assert mrr_before(at=datetime(2026, 5, 10, tzinfo=UTC)) == {EUR: Decimal("19.90"), USD: Decimal("5.00")}
    assert mrr_before(at=datetime(2026, 1, 1, tzinfo=UTC)) == {}
    assert month_figures(month=date(2026, 4, 17), now=NOW).month == date(2026, 4, 1)


def test_the_subscribers_with_their_states(story):
    assert sorted(subscription_list().values_list("status", flat=True)) == [
        "active",
        "active",
        "canceled",
        "unpaid",
    ]
    assert subscription_list(status="unpaid").count() == 1


def test_a_yearly_price_counts_for_a_twelfth():
    assert monthly_amount(amount=Decimal("99.00"), interval="year") * 12 == Decimal("99.00")
    assert monthly_amount(amount=Decimal("9.90"), interval="month") == Decimal("9.90")
