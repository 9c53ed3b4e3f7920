"""Fixtures of the messaging tests (and of others' that send SMS or calls): the local fake Twilio,
a brand's Twilio account on it, and Twilio's callbacks posted to a brand's host."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

import pytest
from django.db import connection
from django.test import Client

from tests.fakes.twilio import FakeTwilio, SignedCallback

SMS_SENDER = "Alpha"
VOICE_CALLER = "+33970000001"


@pytest.fixture(autouse=True)
def _providers_kept(monkeypatch):
    """A test that registers a provider of its own (`provider_register`) leaves the registry as it
    found it: the next tests send through the real providers again."""
    from messaging.providers import base

    monkeypatch.setattr(base, "_FACTORIES", dict(base._FACTORIES))


@pytest.fixture
def fake_twilio(settings):
    """The fake Twilio API (`tests/fakes/twilio.py`), where the providers send for the test."""
    with FakeTwilio() as fake:
        settings.TWILIO_API_BASE = fake.base_url
        yield fake


@pytest.fixture
def twilio_account() -> Callable[..., None]:
    """`twilio_account(fake, **fields)`: the current brand's channel settings name the fake's account,
    an SMS sender and a calling number (`fields` replace them)."""
    from messaging.models import ChannelSettings

    def give(fake: FakeTwilio, **fields: str) -> None:
        values = {
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": fake.auth_token,
            "sms_sender": SMS_SENDER,
            "voice_caller": VOICE_CALLER,
            **fields,
        }
        ChannelSettings.objects.update_or_create(id=1, defaults=values)

    return give


@pytest.fixture
def twilio_a(in_a, fake_twilio, twilio_account) -> FakeTwilio:
    """Brand A (the test's schema) sends SMS and calls through the fake Twilio: the fake."""
    twilio_account(fake_twilio)
    return fake_twilio


def zone_at(hour: int) -> str:
    """A fixed-offset timezone whose clocks show `hour` o'clock (give or take the minutes) now."""
    offset = (hour - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-2 is UTC+2


@pytest.fixture
def clock_a(in_a):
    """`clock_a(hour)`: brand A's clocks show about `hour` o'clock for the rest of the test (its
    timezone changed in the test's transaction, rolled back after)."""
    from tenants.models import Brand
    from tenants.routing import routing_token_renew

    saved = in_a.timezone

    def set_to(hour: int) -> None:
        in_a.timezone = zone_at(hour)
        Brand.objects.filter(pk=in_a.pk).update(timezone=in_a.timezone)
        routing_token_renew()

    yield set_to
    in_a.timezone = saved


@pytest.fixture
def daytime_a(clock_a):
    """Brand A's clocks show about 10:00 for the test, so that calls ring now (calls of any purpose
    ring 08:00-21:00 only, `messaging.policy`), and 3 hours later too."""
    clock_a(10)


@pytest.fixture
def twilio_post() -> Callable[..., object]:
    """`twilio_post(callback, host=None)`: a signed Twilio callback POSTed through Django's test
    client to the host of its URL (or `host`, keeping the URL's path); the response. The test's
    connection is back on its schema after."""

    def post(callback: SignedCallback, *, host: str | None = None, signature: str | None = None):
        parts = urlsplit(callback.url)
        tenant = getattr(connection, "tenant", None)
        try:
            return Client(HTTP_HOST=host or parts.netloc).post(
                f"{parts.path}?{parts.query}" if parts.query else parts.path,
                data=urlencode(callback.params),
                content_type="application/x-www-form-urlencoded",
                HTTP_X_TWILIO_SIGNATURE=callback.signature if signature is None else signature,
            )
        finally:
            if tenant is not None:
                connection.set_tenant(tenant)

    return post
