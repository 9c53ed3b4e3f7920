"""Tenant isolation of contributions: brand B's host, members and staff see and decide nothing of
brand A's contributions (direct ids included), and B's leaderboard counts none of A's."""

from __future__ import annotations

from django.db import connection
from django.test import Client

from community.models import Contribution
from community.services.contributions import contribution_decide, contribution_submit, contribution_type_save
from tests.conftest import host_of
from tests.factories import member_make


def _a_contribution(brand_a) -> Contribution:
    connection.set_tenant(brand_a)
    kind = contribution_type_save(
        data={"code": "tip", "name": "Tip of A", "event_type": "tip", "is_public": True}
    )
    member = member_make("iso-a", first_name="Alice", last_name="Aubert")
    shown = contribution_submit(member=member, type_id=kind.pk, text="Only in A, approved")
    contribution_decide(contribution_id=shown.pk, approve=True, user=None)
    return contribution_submit(member=member, type_id=kind.pk, text="Only in A, to review")


def test_bs_site_shows_nothing_of_as_contributions(db, brand_a, brand_b):
    waiting = _a_contribution(brand_a)
    connection.set_tenant(brand_b)
    assert not Contribution.objects.filter(pk=waiting.pk).exists()
    b_member = member_make("iso-b", login=True)
    b_client = Client(HTTP_HOST=host_of(brand_b))
    b_client.force_login(b_member.user)

    for url in ("/community/contribute/", "/community/contributions/", "/community/leaderboard/"):
        page = b_client.get(url).content.decode()
        assert "Only in A" not in page and "Tip of A" not in page and "Alice A." not in page
    assert b_client.get(f"/community/contribute/{waiting.type_id}/").status_code == 404
    assert b_client.post(f"/community/contribute/{waiting.type_id}/", {"text": "x"}).status_code == 404

    connection.set_tenant(brand_a)
    assert "Alice A." in Client(HTTP_HOST=host_of(brand_a)).get("/community/leaderboard/").content.decode()


def test_bs_staff_cannot_see_or_decide_as_contributions(db, brand_a, brand_b, staff_for):
    waiting = _a_contribution(brand_a)
    staff_b = staff_for(brand_b)
    connection.set_tenant(brand_b)
    assert "Only in A" not in staff_b.get("/backoffice/community/contribution/").content.decode()
    assert staff_b.get(f"/backoffice/community/contribution/{waiting.pk}/change/").status_code in (302, 404)
    staff_b.post(
        "/backoffice/community/contribution/", {"action": "approve", "_selected_action": [waiting.pk]}
    )

    connection.set_tenant(brand_a)
    assert Contribution.objects.get(pk=waiting.pk).state == "submitted"
