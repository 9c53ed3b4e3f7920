"""The member service page in Chromium: it shows the member's points, orders and messages in
unfold's look with no violation of the page policy, and its Resend button (a form of its own,
outside the member's form) sends the message again. Screenshots in SCREENSHOTS_DIR/service/."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone

from catalog.services import RedeemItem, ShippingAddress, order_place
from loyalty.services.members import consent_set
from messaging.models import Message
from messaging.services.sending import message_queue, message_send
from tests.catalog.factories import ADDRESS, gift_make
from tests.conftest import TEST_PASSWORD
from tests.factories import credit_make, member_make, sending_hours_open, template_make

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots")) / "service"
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def test_the_service_page_in_a_browser(fresh_brand, site_server, page):
    connection.set_tenant(fresh_brand)
    member = member_make(
        "shop-7",
        first_name="Paul",
        last_name="Morel",
        email="paul@example.org",
        phone="+33612345678",
        points=840,
    )
    order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift_make(name="Espresso cups", points_price=300, stock=5).pk)],
        shipping=ShippingAddress(**ADDRESS),
        idempotency_key="e2e-order",
        actor="member",
    )
    credit_make(member, 120, expires_at=timezone.now() + timedelta(days=40))
    consent_set(member=member, consents={"sms": True, "email": False}, source="site")
    sending_hours_open("sms")
    template_make("hello", body="Hello {{ first_name }}, you have {{ balance }} points.", purpose="service")
    message = message_queue(member=member, channel="sms", template_code="hello")
    message_send(message_id=message.pk, attempts=0)

    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{base}/backoffice/loyalty/member/{member.pk}/change/")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "member-page.png"), full_page=True)
    assert "Espresso cups" in page.locator("#member-orders").inner_text()
    assert "120 points on" in page.locator("#member-expiries").inner_text()
    assert page.evaluate("window.__cspViolations") == []

    with page.expect_navigation():
        page.click("#member-messages button:has-text('Resend')")
    page.wait_for_load_state()
    assert "Message sent again" in page.locator("body").inner_text()
    page.locator("#member-messages").screenshot(path=str(SCREENSHOTS / "member-messages.png"))
    connection.set_tenant(fresh_brand)
    assert Message.objects.filter(retry_of=message).count() == 1

    page.goto(f"{base}/backoffice/loyalty/member/{member.pk}/erase/")
    page.screenshot(path=str(SCREENSHOTS / "member-erase.png"), full_page=True)
    assert page.evaluate("window.__cspViolations") == []
