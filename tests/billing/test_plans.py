"""VIP plans saved in the backoffice are written to the brand's Stripe account: a product and a
price, a new price (the old one archived) when the price, currency or interval changes; bad input
is refused naming the field, and nothing is written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import VipPlan
from billing.services.plans import amount_to_minor, vip_plan_save
from core.errors import InvalidInput, Refused

PLAN = {
    "name": "Gold",
    "code": "gold",
    "price": "9.90",
    "currency": "EUR",
    "interval": "month",
    "benefits": "Perks",
}


def test_a_new_plan_is_a_product_and_a_price_on_the_brands_account(connected_a, fake_stripe):
    plan = vip_plan_save(data=PLAN)
    (product,) = fake_stripe.calls("products")
    (price,) = fake_stripe.calls("prices")
    assert product.account == price.account == connected_a.account_id
    assert product.form["name"] == "Gold" and product.form["description"] == "Perks"
    assert price.form["unit_amount"] == "990" and price.form["currency"] == "eur"
    assert (
        price.form["recurring"] == {"interval": "month"} and price.form["product"] == plan.stripe_product_id
    )
    assert product.idempotency_key.endswith(f"-plan-{plan.pk}-product")
    assert plan.stripe_price_id == price.answer["id"] and plan.synced_at is not None


def test_a_price_change_makes_a_new_price_and_archives_the_old(connected_a, fake_stripe):
    plan = vip_plan_save(data=PLAN)
    old = plan.stripe_price_id
    plan = vip_plan_save(data={**PLAN, "name": "Gold club"}, plan=plan)
    assert plan.stripe_price_id == old and len(fake_stripe.calls("prices", "POST")) == 1
    (update,) = [r for r in fake_stripe.calls("products") if r.object_id]
    assert update.form["name"] == "Gold club"
    plan = vip_plan_save(data={**PLAN, "price": "12.00", "interval": "year"}, plan=plan)
    assert plan.stripe_price_id != old
    created, archived = fake_stripe.calls("prices", "POST")[1:]
    assert created.form["unit_amount"] == "1200" and created.form["recurring"] == {"interval": "year"}
    assert archived.object_id == old and archived.form == {"active": "false"}
    assert fake_stripe.object(old, account=connected_a.account_id)["active"] is False


def test_yen_has_no_decimals(connected_a, fake_stripe):
    assert amount_to_minor(amount=Decimal("1200"), currency="JPY") == 1200
    plan = vip_plan_save(data={**PLAN, "code": "yen", "price": "1200", "currency": "JPY"})
    assert fake_stripe.calls("prices")[-1].form["unit_amount"] == "1200" and plan.currency == "JPY"
    with pytest.raises(InvalidInput) as error:
        vip_plan_save(data={**PLAN, "code": "yen2", "price": "1200.50", "currency": "JPY"})
    assert "price" in error.value.errors


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "0"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "9.999"}, "price"),
        ({"currency": "euro"}, "currency"),
        ({"interval": "week"}, "interval"),
        ({"trial_days": "-1"}, "trial_days"),
        ({"trial_days": "731"}, "trial_days"),
        ({"name": ""}, "name"),
        ({"code": "no spaces"}, "code"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(connected_a, fake_stripe, change, field):
    with pytest.raises(InvalidInput) as error:
        vip_plan_save(data={**PLAN, **change})
    assert field in error.value.errors
    assert not VipPlan.objects.exists() and fake_stripe.requests == []


def test_stripe_refusing_saves_nothing(connected_a, fake_stripe):
    for _ in range(3):
        fake_stripe.fail_next(500)
    with pytest.raises(Refused):
        vip_plan_save(data=PLAN)
    assert not VipPlan.objects.exists()


def test_no_plan_before_the_account_is_connected(in_a, fake_stripe):
    with pytest.raises(InvalidInput) as error:
        vip_plan_save(data=PLAN)
    assert "" in error.value.errors and fake_stripe.requests == []


def test_the_backoffice_form_saves_to_stripe_and_shows_field_errors(staff_a, connected_a, fake_stripe):
    form = {**PLAN, "trial_days": "7", "is_active": "on", "position": "0"}
    response = staff_a.post("/backoffice/billing/vipplan/add/", form)
    assert response.status_code == 302, response.content[:2000]
    plan = VipPlan.objects.get(code="gold")
    assert plan.stripe_price_id and plan.trial_days == 7
    response = staff_a.post(
        "/backoffice/billing/vipplan/add/", {**form, "code": "", "name": "Silver", "price": "-3"}
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["price"]
    assert VipPlan.objects.count() == 1
    response = staff_a.post("/backoffice/billing/vipplan/add/", {**form, "code": "", "name": "Silver Club"})
    assert response.status_code == 302 and VipPlan.objects.filter(code="silver-club").exists()
    listing = staff_a.get("/backoffice/billing/vipplan/")
    assert "Gold" in listing.text and "Stripe account" in listing.text
