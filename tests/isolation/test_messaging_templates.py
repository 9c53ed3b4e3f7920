"""Tenant isolation of message templates and the outbox: brand B's API key and B's staff see none of
A's templates, messages or outbox, and change nothing of A's by A's ids."""

from __future__ import annotations

from django.db import connection

from messaging.models import Message, MessageTemplate
from messaging.services.sending import message_queue, message_send
from tests.factories import member_make, template_make

URL = "/api/v1/message-templates"


def _a_things(brand_a):
    """A's template, member and an e-mail in A's development outbox."""
    connection.set_tenant(brand_a)
    template = template_make("a-only", channel="email", subject="A subject", body="A body", purpose="service")
    member = member_make("a-member", email="ana@a.example", language="en")
    message = message_queue(member=member, channel="email", template_code="a-only")
    message_send(message_id=message.pk, attempts=0)
    Message.objects.filter(pk=message.pk).update(html="<p>A html</p>")
    return template, message


def test_b_key_sees_and_changes_none_of_a_templates(brand_a, api_a, api_b):
    template, _message = _a_things(brand_a)
    assert api_a.get(URL).json()["count"] == 1
    assert api_b.get(URL).json()["count"] == 0
    assert api_b.get(f"{URL}/{template.pk}").status_code == 404
    body = {"code": "b", "channel": "sms", "language": "en", "name": "B", "body": "B"}
    assert api_b.put(f"{URL}/{template.pk}", body).status_code == 404
    assert api_b.delete(f"{URL}/{template.pk}").status_code == 404
    preview = {"member": "a-member", "channel": "sms", "body": "{{ first_name }}"}
    assert api_b.post(f"{URL}/preview", preview).status_code == 404
    # B may use A's code for its own template: codes are per brand.
    assert api_b.post(URL, {**body, "code": "a-only", "channel": "email", "subject": "B"}).status_code == 201
    connection.set_tenant(brand_a)
    assert MessageTemplate.objects.get().body == "A body" and MessageTemplate.objects.count() == 1


def test_b_staff_see_none_of_a_templates_or_outbox(db, brand_a, brand_b, staff_for):
    template, message = _a_things(brand_a)
    staff_b = staff_for(brand_b)
    listed = staff_b.get("/backoffice/messaging/messagetemplate/").content.decode()
    assert "a-only" not in listed
    assert staff_b.get(f"/backoffice/messaging/messagetemplate/{template.pk}/change/").status_code == 302
    outbox = staff_b.get("/backoffice/messaging/message/outbox/").content.decode()
    assert "ana@a.example" not in outbox and "A body" not in outbox
    assert staff_b.get(f"/backoffice/messaging/message/outbox/{message.pk}/html/").status_code == 404
    assert "ana@a.example" not in staff_b.get("/backoffice/messaging/message/").content.decode()
    preview = {"channel": "sms", "body": "{{ first_name }}", "preview_member": "a-member"}
    html = staff_b.post("/backoffice/messaging/messagetemplate/preview/", preview).content.decode()
    assert "No member has the external id" in html
    # A's staff on A's host do see them (the test reads what it should).
    staff_a = staff_for(brand_a)
    assert "ana@a.example" in staff_a.get("/backoffice/messaging/message/outbox/").content.decode()
