"""The demo brands' templates pass the template service's checks in both languages, render for a
member, and seeding twice changes nothing (`make run` seeds at every start)."""

from __future__ import annotations

import pytest

from messaging.demo import TEMPLATES, demo_messaging_seed
from messaging.models import ChannelSettings, MessageTemplate
from messaging.providers.base import DevelopmentOutbox, provider_for
from messaging.selectors.templates import channel_settings_get
from messaging.services.templates import template_preview
from tests.factories import member_make


@pytest.mark.parametrize("slug", sorted(TEMPLATES))
def test_each_demo_brand_is_seeded_once_in_both_languages(in_a, slug):
    demo_messaging_seed(slug=slug)
    count = MessageTemplate.objects.count()
    assert count == 2 * len(TEMPLATES[slug])
    assert set(MessageTemplate.objects.values_list("language", flat=True)) == {"en", "fr"}
    settings = channel_settings_get()
    assert settings.sms_sender and not settings.twilio_auth_token and not settings.email_credentials
    for channel in ("email", "sms", "voice"):
        assert isinstance(provider_for(channel=channel, channel_settings=settings), DevelopmentOutbox)
    MessageTemplate.objects.filter(code="welcome", language="fr").update(body="Edited by staff")
    demo_messaging_seed(slug=slug)
    assert MessageTemplate.objects.count() == count and ChannelSettings.objects.count() == 1
    assert MessageTemplate.objects.get(code="welcome", language="fr").body == "Edited by staff"


def test_the_demo_texts_render_and_the_sms_fits_one_gsm7_segment(in_a):
    demo_messaging_seed(slug="tabac-pro")
    member = member_make(first_name="Paul", company_name="Tabac du Port", language="fr")
    for template in MessageTemplate.objects.all():
        data = {"channel": template.channel, "subject": template.subject, "body": template.body}
        preview = template_preview(template_data=data, member=member)
        assert preview.text and "{{" not in preview.text
        if template.channel == "sms":
            assert preview.sms.encoding == "GSM-7" and preview.sms.segments == 1, preview.text
    voice = MessageTemplate.objects.get(code="points_expiring", language="fr")
    text = template_preview(template_data={"channel": "voice", "body": voice.body}, member=member).text
    assert "Vous avez 300 points qui expirent le 31 mars 2027." in text
    letter = MessageTemplate.objects.get(code="launch_letter", channel="post", language="fr")
    assert "{{ activation_code }}" in letter.body and letter.purpose == "service"
