"""A customer joins in a real browser with the e-mail the brand's systems already know them by,
confirms it from the e-mail, logs in and finds their points; an invited member sets a password and
lands logged in. The pages fit a phone (screenshots under /tmp/join-screens)."""

from __future__ import annotations

import re
from pathlib import Path

from django.core import mail
from django.db import connection
from django.urls import NoReverseMatch, reverse

from loyalty.models import Consent, Member, ProgrammeSettings
from tests.factories import key_make, member_make
from tests.support import ApiClient

SHOTS = Path("/tmp/join-screens")
PASSWORD = "merle-bleu-2026"


def _shoot(page, name: str) -> None:
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (name, width)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _link(kind: str) -> str:
    return re.search(rf"https?://\S+/join/{kind}/\S+/", mail.outbox[-1].body).group(0)


def _account_path() -> str:
    try:
        return reverse("site-account")
    except NoReverseMatch:
        return "/"


def test_a_customer_known_to_the_brand_joins_verifies_and_logs_in(fresh_brand, site_server, page):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    member = member_make("ERP-5001", points=420, email="marie@example.com", first_name="Marie")
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"

    page.goto(base + "/")
    page.click("a:has-text('Join')")
    assert page.url == base + "/join/"
    for channel in Consent.Channel.values:
        assert not page.is_checked(f"input[name=consent_{channel}]")
    _shoot(page, "join")

    page.fill("input[name=first_name]", "Marie")
    page.fill("input[name=last_name]", "Curie")
    page.fill("input[name=email]", "Marie@example.com")
    page.fill("input[name=password]", "12345678")
    page.fill("input[name=phone]", "0612")
    page.click("button:has-text('Join')")
    assert page.locator(".errorlist").count() >= 3  # weak password, phone, terms
    _shoot(page, "join-errors")

    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=phone]", "+33 6 12 34 56 78")
    page.check("input[name=consent_email]")
    page.check("input[name=terms]")
    page.click("button:has-text('Join')")
    page.wait_for_url(base + "/join/sent/")
    assert "M***@example.com".lower() in page.content().lower()
    _shoot(page, "join-sent")
    connection.set_tenant(fresh_brand)
    member.refresh_from_db()
    assert member.user is None  # nothing linked before the e-mail is confirmed
    connection.set_schema_to_public()

    page.goto(_link("verify"))
    assert "confirmed" in page.locator("h1").inner_text()
    _shoot(page, "join-verified")

    page.click("main a:has-text('Log in')")
    page.fill("input[name=username]", "marie@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    connection.set_tenant(fresh_brand)
    member.refresh_from_db()
    assert member.user.username == "marie@example.com" and member.email_verified_at is not None
    assert Member.objects.filter(email__iexact="marie@example.com").count() == 1
    account = _account_path()
    connection.set_schema_to_public()
    if account != "/":
        page.goto(base + account)
        assert "420" in page.locator("main").inner_text()


def test_an_invited_member_of_an_invitation_only_brand_sets_a_password_and_lands_logged_in(
    fresh_brand, site_server, page
):
    SHOTS.mkdir(exist_ok=True)
    connection.set_tenant(fresh_brand)
    member = member_make("ERP-5002", email="paul@example.com", first_name="Paul")
    ProgrammeSettings.objects.update(signup_open=False)  # a B2B brand: by invitation only
    connection.set_schema_to_public()
    response = ApiClient(brand=fresh_brand, key=key_make(fresh_brand)).post(
        "/api/v1/members/ERP-5002/invitations"
    )
    assert response.status_code == 201, response.content

    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    page.goto(base + "/join/")
    assert "by invitation only" in page.locator("h1").inner_text()
    assert page.locator("input[name=password]").count() == 0
    _shoot(page, "join-closed")
    # The API's test client named the host without the port: the link's path, on the live server.
    page.goto(base + re.sub(r"^https?://[^/]+", "", _link("invitation")))
    assert "Choose your password" in page.locator("h1").inner_text()
    _shoot(page, "join-invitation")
    page.fill("input[name=new_password1]", PASSWORD)
    page.fill("input[name=new_password2]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    connection.set_tenant(fresh_brand)
    account = _account_path()
    member.refresh_from_db()
    assert member.user is not None and page.url.endswith(account)
    connection.set_schema_to_public()
