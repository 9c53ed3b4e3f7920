"""Tenant isolation of the moderation: brand B's member and staff surnames never hold brand A's
texts, B's moderation words do not apply to A, A's queue never shows B's held texts, and B's staff
cannot decide A's texts (direct ids included)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection

from community.models import ModerationState, ModerationTerm, Review
from tests.community.factories import review_write
from tests.factories import member_make

QUEUE = "/backoffice/community/moderation/"


def test_bs_surnames_and_words_never_hold_as_texts(db, brand_a, brand_b):
    connection.set_tenant(brand_b)
    member_make(last_name="Zabrowski")
    get_user_model().objects.create_user(username="staff-b@b.example", last_name="Quennevat")
    ModerationTerm.objects.create(language="", category="insult", term="piquette")
    assert review_write("Zabrowski, Quennevat: piquette").state == ModerationState.HELD

    connection.set_tenant(brand_a)
    review = review_write("Served by Zabrowski and Quennevat: a piquette")
    assert review.state == ModerationState.PUBLISHED and review.held_because == []
    member_make(last_name="Zabrowski")
    assert review_write("Served by Zabrowski").state == ModerationState.HELD


def test_as_queue_never_shows_bs_held_texts_and_bs_staff_cannot_decide_as(
    db, brand_a, brand_b, staff_for, client_for
):
    connection.set_tenant(brand_b)
    b_held = review_write("B only: you moron", reference="b-sku")
    connection.set_tenant(brand_a)
    with connection.cursor() as cursor:  # A's id is one B has not: B's staff post a foreign id
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('community_review', 'id'), %s)", [b_held.pk + 1000]
        )
    a_held = review_write("A only: you idiot", reference="a-sku")

    a_staff = staff_for(brand_a)
    html = a_staff.get(QUEUE).content.decode()
    assert "A only" in html and "B only" not in html

    b_staff = staff_for(brand_b)
    html = b_staff.get(QUEUE).content.decode()
    assert "B only" in html and "A only" not in html
    response = b_staff.post(QUEUE, {"model": "review", "pk": a_held.pk, "decision": "publish"})
    assert response.status_code == 404
    # A's staff session presented on B's host is nobody there.
    a_on_b = client_for(brand_b)
    a_on_b.cookies = a_staff.cookies
    response = a_on_b.post(QUEUE, {"model": "review", "pk": b_held.pk, "decision": "publish"})
    assert response.status_code == 302 and "login" in response["Location"]
    connection.set_tenant(brand_a)
    assert Review.objects.get(pk=a_held.pk).state == ModerationState.HELD
    connection.set_tenant(brand_b)
    assert Review.objects.get(pk=b_held.pk).state == ModerationState.HELD
