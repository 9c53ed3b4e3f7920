"""The backoffice's message pages: the development outbox (what would have left, in the brand's
timezone, the e-mail's HTML sandboxed) and the read-only message list with `unknown` highlighted."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from loyalty.services.members import consent_set
from messaging.models import Message
from messaging.services.sending import message_queue, message_send
from tenants.selectors import brand_timezone
from tests.factories import member_make, template_make

LIST = "/backoffice/messaging/message/"
OUTBOX = f"{LIST}outbox/"


def _sent(channel="sms", **template):
    member = member_make(first_name="Ana", phone="+33612345678", email="ana@example.com", language="en")
    consent_set(member=member, consents={"sms": True, "email": True}, source="test")
    template_make("hello", channel=channel, purpose="service", **template)
    message = message_queue(member=member, channel=channel, template_code="hello")
    message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    return message


def test_the_outbox_lists_what_would_have_left_in_the_brands_timezone(staff_a):
    message = _sent(body="Hello {{ first_name }} <b>bold</b>")
    assert message.provider == "outbox"
    at = datetime(2026, 7, 14, 10, 5, tzinfo=ZoneInfo("UTC"))
    Message.objects.filter(pk=message.pk).update(created_at=at)
    page = staff_a.get(OUTBOX)
    assert page.status_code == 200
    html = page.content.decode()
    assert "+33612345678" in html and "Hello Ana &lt;b&gt;bold&lt;/b&gt;" in html
    zone = brand_timezone()
    local = timezone.localtime(at, zone)
    assert local.utcoffset() and f"{local:%H}:{local:%M}" in html and f"Times in {zone}" in html
    emails = staff_a.get(f"{OUTBOX}?channel=email").content.decode()
    assert "+33612345678" not in emails and "The outbox is empty" in emails


def test_an_emails_html_is_shown_sandboxed(staff_a):
    message = _sent(channel="email", subject="Hi {{ first_name }}", body="Hello")
    Message.objects.filter(pk=message.pk).update(
        html='<p style="color:red">Hello</p><script>alert(1)</script>'
    )
    html = staff_a.get(OUTBOX).content.decode()
    assert 'sandbox=""' in html and f"outbox/{message.pk}/html/" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    frame = staff_a.get(f"{OUTBOX}{message.pk}/html/")
    assert frame.status_code == 200 and b"<script>alert(1)</script>" in frame.content
    policy = frame["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "script-src" not in policy
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert staff_a.get(f"{OUTBOX}999999/html/").status_code == 404


def test_the_message_list_is_read_only_and_highlights_unknown_ones(staff_a):
    message = _sent()
    Message.objects.filter(pk=message.pk).update(state=Message.State.UNKNOWN)
    html = staff_a.get(LIST).content.decode()
    assert 'class="message-unknown"' in html and "1 message is unknown" in html
    assert "Development outbox" in html
    assert staff_a.get(f"{LIST}?state__exact=unknown&channel__exact=sms").status_code == 200
    assert (
        message.member.external_id in staff_a.get(f"{LIST}?q={message.member.external_id}").content.decode()
    )
    detail = staff_a.get(f"{LIST}{message.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    staff_a.post(f"{LIST}{message.pk}/change/", {"body": "changed"})
    assert Message.objects.get(pk=message.pk).body == message.body
    assert staff_a.get(f"{LIST}add/").status_code == 403
