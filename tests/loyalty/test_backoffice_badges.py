"""Backoffice: a badge members hold is not deleted (as through the API), and segments are saved
through the segments service (its errors on the form's fields)."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from loyalty.models import Badge, MemberBadge, Segment
from loyalty.services.badges import badge_save
from tests.factories import member_make


def _badge(code: str) -> Badge:
    return badge_save(data={"code": code, "name": code.title(), "event_type": "review", "count_required": 1})


def test_a_badge_members_hold_is_protected_on_the_delete_pages(staff_a, brand_a):
    held, free = _badge("held"), _badge("free")
    MemberBadge.objects.create(member=member_make("BB-1"), badge=held, awarded_at=timezone.now())

    page = staff_a.get(f"/backoffice/loyalty/badge/{held.pk}/delete/").content.decode()
    assert "Held: 1 member(s) hold it" in page
    staff_a.post(f"/backoffice/loyalty/badge/{held.pk}/delete/", {"post": "yes"})
    bulk = {"action": "delete_selected", "_selected_action": [held.pk, free.pk], "post": "yes"}
    staff_a.post("/backoffice/loyalty/badge/", bulk)
    connection.set_tenant(brand_a)
    assert Badge.objects.filter(pk=held.pk).exists()
    assert MemberBadge.objects.filter(badge=held).count() == 1

    response = staff_a.post(f"/backoffice/loyalty/badge/{free.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    connection.set_tenant(brand_a)
    assert not Badge.objects.filter(pk=free.pk).exists()


def test_the_segment_form_saves_through_the_service_and_shows_its_errors_on_fields(staff_a, brand_a):
    Segment.objects.create(name="Taken")
    response = staff_a.post("/backoffice/loyalty/segment/add/", {"name": "Taken", "filters": "{}"})
    assert "name" in response.context["adminform"].form.errors
    response = staff_a.post(
        "/backoffice/loyalty/segment/add/", {"name": "New", "filters": '{"tiers": ["nope"]}'}
    )
    assert "tiers: unknown tier code(s): nope" in response.context["adminform"].form.errors["filters"]
    response = staff_a.post("/backoffice/loyalty/segment/add/", {"name": "New", "filters": '{"vip": true}'})
    assert response.status_code == 302
    segment = Segment.objects.get(name="New")
    url = f"/backoffice/loyalty/segment/{segment.pk}/change/"
    response = staff_a.post(url, {"name": "Renamed", "description": "VIPs", "filters": '{"vip": false}'})
    assert response.status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.description, segment.filters) == ("Renamed", "VIPs", {"vip": False})
