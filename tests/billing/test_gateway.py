"""The gateway against the fake Stripe: the real `stripe` library's requests (the key, the
Stripe-Account header, the idempotency keys, the form fields) and Stripe's answers and errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.gateway import GatewayError, SandboxGateway, StripeGateway, gateway_for


@pytest.fixture
def gateway(fake_stripe, settings) -> StripeGateway:
    return StripeGateway(api_key=fake_stripe.api_key, api_base=fake_stripe.base_url, timeout=5)


def test_an_account_is_created_on_the_platform_with_its_key(fake_stripe, gateway):
    account = gateway.account_create(
        email="owner@brand.example", business_name="Brand", country="FR", idempotency_key="account-b1"
    )
    (request,) = fake_stripe.calls("accounts")
    assert account["id"].startswith("acct_") and account["object"] == "account"
    assert request.account == "" and request.idempotency_key == "account-b1"
    assert request.form["type"] == "express" and request.form["business_profile"] == {"name": "Brand"}
    assert request.form["capabilities"]["card_payments"] == {"requested": "true"}
    link = gateway.account_link_create(
        account_id=account["id"], refresh_url="http://b.example/r", return_url="http://b.example/d"
    )
    assert link["object"] == "account_link" and link["url"].startswith(fake_stripe.base_url)
    (link_request,) = fake_stripe.calls("account_links")
    assert link_request.form["type"] == "account_onboarding" and link_request.idempotency_key
    assert gateway.account_retrieve(account_id=account["id"])["charges_enabled"] is False


def test_the_same_idempotency_key_gives_the_same_object_back(fake_stripe, gateway):
    account = fake_stripe.account_add()["id"]
    first = gateway.product_create(
        account_id=account, name="Gold", description="", metadata={"plan": "1"}, idempotency_key="product-1"
    )
    again = gateway.product_create(
        account_id=account, name="Gold", description="", metadata={"plan": "1"}, idempotency_key="product-1"
    )
    assert again["id"] == first["id"]
    assert len(fake_stripe.object(first["id"], account=account)) > 0
    with pytest.raises(GatewayError) as error:
        gateway.product_create(
            account_id=account, name="Other", description="", metadata={}, idempotency_key="product-1"
        )
    assert error.value.status == 400 and "idempotent" in error.value.message


def test_products_prices_and_sessions_go_to_the_connected_account(fake_stripe, gateway):
    account = fake_stripe.account_add()["id"]
    product = gateway.product_create(
        account_id=account, name="Gold", description="Perks", metadata={}, idempotency_key="p-1"
    )
    price = gateway.price_create(
        account_id=account,
        product_id=product["id"],
        unit_amount=990,
        currency="EUR",
        interval="month",
        metadata={},
        idempotency_key="price-1",
    )
    customer = gateway.customer_create(
        account_id=account,
        email="m@example.com",
        name="M",
        metadata={"member_id": "3"},
        idempotency_key="c-1",
    )
    session = gateway.checkout_session_create(
        account_id=account,
        idempotency_key="cs-1",
        price_id=price["id"],
        customer_id=customer["id"],
        success_url="http://b.example/vip/success/?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://b.example/vip/cancel/",
        client_reference_id="3",
        metadata={"brand": "b", "member_id": "3"},
        application_fee_percent=Decimal("12.50"),
        trial_days=14,
        locale="fr",
    )
    assert (
        price["unit_amount"] == 990
        and price["currency"] == "eur"
        and price["recurring"]["interval"] == "month"
    )
    assert session["id"].startswith("cs_") and session["url"]
    for kind in ("products", "prices", "customers", "checkout/sessions"):
        (request,) = fake_stripe.calls(kind)
        assert request.account == account, kind
    (request,) = fake_stripe.calls("checkout/sessions")
    assert request.idempotency_key == "cs-1"
    assert request.form["mode"] == "subscription"
    assert request.form["line_items"] == [{"price": price["id"], "quantity": "1"}]
    assert request.form["subscription_data"]["application_fee_percent"] == "12.5"
    assert request.form["subscription_data"]["trial_period_days"] == "14"
    assert request.form["subscription_data"]["metadata"] == {"brand": "b", "member_id": "3"}
    archived = gateway.price_archive(account_id=account, price_id=price["id"])
    assert archived["active"] is False
    (update,) = [r for r in fake_stripe.calls("prices") if r.object_id]
    assert update.form == {"active": "false"} and update.account == account
    portal = gateway.portal_session_create(
        account_id=account, customer_id=customer["id"], return_url="http://b.example/vip/", locale="fr"
    )
    assert portal["object"] == "billing_portal.session" and portal["url"]


def test_stripe_errors_name_their_parameter(fake_stripe, gateway):
    account = fake_stripe.account_add()["id"]
    with pytest.raises(GatewayError) as error:
        gateway.price_create(
            account_id=account,
            product_id="prod_missing",
            unit_amount=100,
            currency="eur",
            interval="month",
            metadata={},
            idempotency_key="x",
        )
    assert error.value.param == "product" and error.value.status == 400
    with pytest.raises(GatewayError) as error:
        gateway.subscription_retrieve(account_id="acct_unknown", subscription_id="sub_1")
    assert error.value.status == 403
    bad_key = StripeGateway(api_key="sk_test_wrong", api_base=fake_stripe.base_url, timeout=5)
    with pytest.raises(GatewayError) as error:
        bad_key.account_retrieve(account_id=account)
    assert error.value.status == 401


def test_a_subscription_is_read_from_the_connected_account(fake_stripe, gateway):
    account = fake_stripe.account_add()["id"]
    product = gateway.product_create(
        account_id=account, name="G", description="", metadata={}, idempotency_key="p"
    )
    price = gateway.price_create(
        account_id=account,
        product_id=product["id"],
        unit_amount=1000,
        currency="jpy",
        interval="year",
        metadata={},
        idempotency_key="pr",
    )
    customer = gateway.customer_create(
        account_id=account, email="", name="", metadata={}, idempotency_key="c"
    )
    session = gateway.checkout_session_create(
        account_id=account,
        idempotency_key="cs",
        price_id=price["id"],
        customer_id=customer["id"],
        success_url="http://b.example/ok",
        cancel_url="http://b.example/no",
        client_reference_id="1",
        metadata={},
        application_fee_percent=None,
        trial_days=0,
        locale="",
    )
    (request,) = fake_stripe.calls("checkout/sessions")
    assert "subscription_data" not in request.form  # no fee, no trial, no metadata: nothing
    events = fake_stripe.checkout_complete(session["id"])
    subscription_id = events[1]["data"]["object"]["id"]
    subscription = gateway.subscription_retrieve(account_id=account, subscription_id=subscription_id)
    assert subscription["status"] == "active" and subscription["customer"] == customer["id"]
    assert fake_stripe.calls("subscriptions")[0].account == account


def test_without_a_key_the_gateway_is_the_sandbox(db, brand_a, settings):
    settings.STRIPE_SECRET_KEY = ""
    assert isinstance(gateway_for(brand_a), SandboxGateway)
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    assert isinstance(gateway_for(brand_a), StripeGateway)


def test_the_fakes_events_are_signed_as_stripe_signs_them(fake_stripe):
    import stripe

    account = fake_stripe.account_add()["id"]
    event = fake_stripe.account_onboard(account)
    signed = fake_stripe.signed(event)
    verified = stripe.Webhook.construct_event(
        signed.body.decode(), signed.signature, fake_stripe.webhook_secret
    )
    assert (
        verified["id"] == event["id"]
        and verified["account"] == account
        and verified["type"] == "account.updated"
    )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(signed.body.decode(), signed.signature, "whsec_other")
