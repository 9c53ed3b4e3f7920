"""Tenant isolation of prize draws: brand B's host, its members' and staff's sessions see, buy and
run nothing of brand A's draws (direct ids included), and B's draw task never draws A's."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import Client

from community.models import Draw, DrawEntry
from community.services.draws import draw_tickets_buy, draws_due_run
from tests.community.factories import draw_make
from tests.conftest import host_of
from tests.factories import member_make


def _a_draw(brand_a) -> Draw:
    connection.set_tenant(brand_a)
    draw = draw_make(name="Only in A", prize="A's prize")
    buyer = member_make("iso-a-draw", points=500)
    draw_tickets_buy(draw_id=draw.pk, member=buyer, tickets=1, idempotency_key="a")
    return draw


def test_bs_host_and_member_session_cannot_see_or_buy_as_draws(db, brand_a, brand_b):
    draw = _a_draw(brand_a)
    a_member = member_make("iso-a-draw-web", points=500, login=True)
    a_client = Client(HTTP_HOST=host_of(brand_a))
    a_client.force_login(a_member.user)
    assert "Only in A" in a_client.get("/community/draws/").content.decode()
    connection.set_tenant(brand_b)
    assert not Draw.objects.filter(pk=draw.pk).exists()
    b_member = member_make("iso-b-draw-web", points=500, login=True)
    b_client = Client(HTTP_HOST=host_of(brand_b))
    b_client.force_login(b_member.user)

    assert "Only in A" not in b_client.get("/community/draws/").content.decode()
    assert b_client.get(f"/community/draws/{draw.pk}/").status_code == 404
    assert (
        b_client.post(f"/community/draws/{draw.pk}/tickets/", {"tickets": 1, "key": "b"}).status_code == 404
    )
    # A's session cookie presented on B's host is nobody there: buying asks to log in.
    a_on_b = Client(HTTP_HOST=host_of(brand_b))
    a_on_b.cookies = a_client.cookies
    response = a_on_b.post(f"/community/draws/{draw.pk}/tickets/", {"tickets": 1, "key": "c"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    connection.set_tenant(brand_a)
    assert DrawEntry.objects.filter(draw=draw).count() == 1


def test_bs_staff_and_task_cannot_run_or_cancel_as_draws(db, brand_a, brand_b, staff_for):
    draw = _a_draw(brand_a)
    Draw.objects.filter(pk=draw.pk).update(
        opens_at=draw.opens_at - timedelta(days=30),
        closes_at=draw.opens_at - timedelta(days=20),
        draw_at=draw.opens_at - timedelta(days=19),
    )
    staff_b = staff_for(brand_b)
    connection.set_tenant(brand_b)
    base = f"/backoffice/community/draw/{draw.pk}"
    assert staff_b.get(f"{base}/change/").status_code in (302, 404)
    assert staff_b.post(f"{base}/run/").status_code == 404
    assert staff_b.post(f"{base}/cancel/").status_code == 404
    assert "Only in A" not in staff_b.get("/backoffice/community/draw/").content.decode()
    assert draws_due_run() == 0

    connection.set_tenant(brand_a)
    assert Draw.objects.get(pk=draw.pk).state == Draw.State.SCHEDULED
