"""The demo brands' events: seeded once (a second `make run` changes nothing), Grand Cru's cellar
tasting for its Cellar Club space, and the event templates render in both languages."""

from __future__ import annotations

from clubs.demo import demo_clubs_seed
from gatherings.demo import EVENTS, demo_gatherings_seed
from gatherings.models import Gathering
from messaging.demo import demo_messaging_seed
from messaging.models import MessageTemplate
from messaging.services.templates import template_preview
from tenants.selectors import brand_timezone
from tests.factories import member_make


def test_the_demo_events_are_seeded_once_with_the_cellar_clubs_own(in_a):
    demo_clubs_seed(slug="grand-cru")
    demo_gatherings_seed(slug="grand-cru")
    demo_gatherings_seed(slug="grand-cru")

    events = list(Gathering.objects.order_by("starts_at"))
    assert [g.title for g in events] == [event[0] for event in EVENTS["grand-cru"]]
    assert [(g.visibility, g.space.slug if g.space else "") for g in events] == [
        ("everyone", ""),
        ("space", "cellar"),
    ]
    assert all(g.state == "published" and g.starts_at.astimezone(brand_timezone()).hour == 19 for g in events)


def test_the_event_templates_render_in_both_languages(in_a):
    demo_messaging_seed(slug="grand-cru")
    member = member_make(first_name="Claire", language="fr")
    codes = ("event_invitation", "event_promoted", "event_reminder", "event_cancelled")
    templates = MessageTemplate.objects.filter(code__in=codes)
    assert templates.count() == 8
    for template in templates:
        data = {"channel": template.channel, "subject": template.subject, "body": template.body}
        preview = template_preview(template_data=data, member=member)
        assert "Bordeaux tasting" in preview.text and "{{" not in preview.text
