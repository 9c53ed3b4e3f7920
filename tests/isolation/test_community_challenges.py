"""Tenant isolation of challenges: brand A's challenges never show on brand B's site or
backoffice, and B's sweep never pays A's members (nor A's events count on B)."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.utils import timezone

from community.models import Challenge, ChallengeCompletion
from community.services.challenges import challenge_save, challenges_complete
from loyalty.models import ActivityEvent
from tests.conftest import host_of
from tests.factories import member_make


def _a_challenge(brand_a) -> Challenge:
    connection.set_tenant(brand_a)
    now = timezone.now()
    challenge = challenge_save(
        data={
            "name": "Only in A",
            "event_type": "trip",
            "count_required": 1,
            "starts_at": now - timedelta(days=1),
            "ends_at": now + timedelta(days=6),
            "bonus_points": 50,
        }
    )
    member = member_make("iso-a")
    ActivityEvent.objects.create(
        idempotency_key="iso-a-trip", member=member, type="trip", occurred_at=now - timedelta(hours=1)
    )
    return challenge


def test_bs_site_staff_and_sweep_see_nothing_of_as_challenges(db, brand_a, brand_b, staff_for):
    challenge = _a_challenge(brand_a)
    connection.set_tenant(brand_b)
    assert not Challenge.objects.filter(pk=challenge.pk).exists()
    b_member = member_make("iso-b", login=True)
    ActivityEvent.objects.create(
        idempotency_key="iso-b-trip",
        member=b_member,
        type="trip",
        occurred_at=timezone.now() - timedelta(hours=1),
    )
    assert challenges_complete() == 0, "B has no challenge: A's does not pay B's members"
    b_client = Client(HTTP_HOST=host_of(brand_b))
    b_client.force_login(b_member.user)
    assert "Only in A" not in b_client.get("/community/challenges/").content.decode()
    assert "Only in A" not in b_client.get("/account/").content.decode()
    staff_b = staff_for(brand_b)
    assert "Only in A" not in staff_b.get("/backoffice/community/challenge/").content.decode()
    assert staff_b.get(f"/backoffice/community/challenge/{challenge.pk}/change/").status_code in (302, 404)

    connection.set_tenant(brand_a)
    assert not ChallengeCompletion.objects.exists()
    assert challenges_complete() == 1
    assert ChallengeCompletion.objects.get().member.external_id == "iso-a"
