"""Messaging's backoffice in a real browser: the template editor's live preview follows the text as it
is typed for a chosen member (SMS: encoding and segments; e-mail: its HTML part), passing the CSP;
the channel settings page; the development outbox with an e-mail's HTML in a sandboxed frame.
Screenshots go to SCREENSHOTS_DIR."""

from __future__ import annotations

import os
from pathlib import Path

from django.db import connection

from loyalty.services.members import consent_set
from messaging.demo import demo_messaging_seed
from messaging.models import MessageTemplate
from messaging.services.sending import message_queue, message_send
from tests.conftest import TEST_PASSWORD
from tests.factories import credit_make, member_make

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots"))


def _seed(brand) -> None:
    connection.set_tenant(brand)
    demo_messaging_seed(slug="tabac-pro")
    member = member_make(
        "shop-7",
        first_name="Paul",
        last_name="Morel",
        company_name="Tabac du Port",
        email="paul@tabac-du-port.example",
        phone="+33612345678",
        language="fr",
    )
    credit_make(member, 840)
    consent_set(member=member, consents={"email": True, "sms": True}, source="test")
    member.refresh_from_db()
    for channel, code in (("email", "welcome"), ("sms", "points_earned")):
        message = message_queue(
            member=member, channel=channel, template_code=code, variables={"points_earned": "120"}
        )
        message_send(message_id=message.pk, attempts=0)
    connection.set_schema_to_public()


def _login(page, base: str, brand) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", f"admin@{brand.slug}.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(base + "/")
    page.set_viewport_size({"width": 1280, "height": 1000})
    return errors


def test_the_template_preview_follows_the_text_and_the_pages_render(fresh_brand, site_server, page):
    _seed(fresh_brand)
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    errors = _login(page, base, fresh_brand)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    connection.set_tenant(fresh_brand)
    sms = MessageTemplate.objects.get(code="points_earned", language="fr")
    email = MessageTemplate.objects.get(code="welcome", language="fr")
    connection.set_schema_to_public()

    page.goto(f"{base}/backoffice/messaging/messagetemplate/{sms.pk}/change/")
    frame = page.frame(name="template-preview")
    frame.wait_for_selector(".message-preview__sms")  # previewed once as the page opens, with examples
    page.fill("input[name=preview_member]", "shop-7")
    page.wait_for_function(
        "() => { const b = frames['template-preview'].document.body;"
        " return !!b && b.innerText.includes('bravo Paul') && b.innerText.includes('GSM-7'); }"
    )
    page.fill(
        "textarea[name=body]",
        sms.body + " Rendez-vous sur votre espace pour découvrir vos cadeaux, "
        "bientôt de nouvelles surprises : " + "à très vite ! " * 4,
    )
    page.wait_for_function(
        "() => { const p = frames['template-preview'].document.querySelector('.message-preview__sms');"
        " return !!p && p.dataset.smsEncoding === 'UCS-2' && p.dataset.smsSegments > '1'; }"
    )
    page.locator(".template-preview").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "backoffice-template-sms-preview.png"), full_page=True)

    page.goto(f"{base}/backoffice/messaging/messagetemplate/{email.pk}/change/")
    page.fill("input[name=preview_member]", "paul@tabac-du-port.example")
    page.wait_for_function(
        "() => { const d = frames['template-preview'].document;"
        " return !!d.querySelector('.message-preview__email') && d.body.innerText.includes('Bonjour Paul'); }"
    )
    page.locator(".template-preview").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "backoffice-template-email-preview.png"), full_page=True)

    page.goto(f"{base}/backoffice/messaging/channelsettings/1/change/")
    page.wait_for_selector("input[name=sms_sender]")
    assert page.input_value("input[name=sms_sender]") == "TabacPro"
    page.screenshot(path=str(SCREENSHOTS / "backoffice-channel-settings.png"), full_page=True)

    page.goto(f"{base}/backoffice/messaging/message/outbox/")
    page.wait_for_selector(".outbox-message")
    page.click("details summary >> nth=0")
    outbox_frame = page.frame_locator("iframe.outbox-message__html").first
    outbox_frame.locator("body").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "backoffice-outbox.png"), full_page=True)

    page.goto(f"{base}/backoffice/messaging/message/")
    page.wait_for_selector("#result_list")
    page.screenshot(path=str(SCREENSHOTS / "backoffice-messages.png"), full_page=True)
    assert not [text for text in errors if "Content Security Policy" in text], errors
    connection.set_tenant(fresh_brand)
    assert MessageTemplate.objects.get(pk=sms.pk).body == sms.body  # previews save nothing
