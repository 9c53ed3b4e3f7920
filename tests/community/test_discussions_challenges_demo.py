"""The demo's discussions and challenges: CityCar's happy-hour challenge with its message, the
evening with the best helpers for a segment, Grand Cru's VIP forum in its Cellar Club space;
seeding twice changes nothing."""

from __future__ import annotations

from django.db import connection

from clubs.models import Space
from community.demo import challenges as challenges_demo
from community.demo import discussions as discussions_demo
from community.models import Challenge, Thread
from community.selectors.discussions import threads_visible
from gatherings.models import Gathering
from messaging.models import Trigger
from tests.factories import member_make


def test_citycar_gets_its_challenge_its_message_and_the_helpers_evening(db, brand_a):
    connection.set_tenant(brand_a)
    rider = member_make("rider-001")
    for _ in range(2):
        challenges_demo.seed(slug="citycar")
        discussions_demo.seed(slug="citycar")
    challenge = Challenge.objects.get()
    assert challenge.name == "3 trips into Paris in happy hour this week"
    assert challenge.count_required == 3 and challenge.event_type == "trip"
    assert (challenge.ends_at - challenge.starts_at).days == 7
    assert Trigger.objects.get(kind="challenge_completed").is_active
    evening = Gathering.objects.get(title="An evening with our best helpers")
    assert evening.visibility == "segment" and evening.segment.filters == {"tags": {"any": ["helper"]}}
    rider.refresh_from_db()
    assert "helper" in rider.tags
    assert Thread.objects.count() == 1


def test_grand_crus_vip_forum_is_in_its_cellar_club_space(db, brand_a):
    connection.set_tenant(brand_a)
    Space.objects.create(slug="cellar", name="The Cellar Club", entry=Space.Entry.VIP)
    discussions_demo.seed(slug="grand-cru")
    discussions_demo.seed(slug="grand-cru")
    forum = Thread.objects.get(space__slug="cellar")
    assert forum.member.is_vip and forum.state == "published"
    assert Thread.objects.count() == 3
    assert not threads_visible(member=member_make("not-vip")).filter(pk=forum.pk).exists()
    assert threads_visible(member=member_make("vip", is_vip=True)).filter(pk=forum.pk).exists()
