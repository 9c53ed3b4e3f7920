"""Tenant isolation of reviews' writes and backoffice: brand B's API key, staff and members see and
change nothing of brand A's reviewed items, reviews and follow-ups (direct ids included); A's
purchases never certify a review on B; B's invitations' sweep invites nobody of A."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from community.models import FollowUp, Review, ReviewInvitation, Subject
from community.services.reviews import review_invitations_send, review_report, review_submit
from core.errors import NotFound
from tests.community.factories import purchase, subject_make
from tests.factories import member_make
from tests.support import error_of


def _a_review(brand_a) -> Review:
    connection.set_tenant(brand_a)
    subject = subject_make(reference="SKU-ONLY-A", name="Only in A")
    member = member_make("iso-rev-a")
    purchase(member, sku="SKU-ONLY-A")
    return review_submit(member=member, subject_id=subject.pk, rating=1, text="Only in A, badly")


def test_bs_api_key_sees_and_changes_nothing_of_as_items(api_a, api_b):
    review = _a_review(api_a.brand)
    connection.set_tenant(api_b.brand)
    assert not Subject.objects.filter(pk=review.subject_id).exists()

    assert "Only in A" not in api_b.get("/api/v1/community/subjects").content.decode()
    base = f"/api/v1/community/subjects/{review.subject_id}"
    error_of(api_b.get(base), 404)
    error_of(api_b.get(f"{base}/reviews"), 404)
    error_of(api_b.send("patch", base, {"name": "Taken over"}), 404)
    assert api_a.get(f"{base}/reviews").json()["count"] == 1
    connection.set_tenant(api_a.brand)
    assert Subject.objects.get(pk=review.subject_id).name == "Only in A"


def test_bs_staff_cannot_see_reply_or_close_as_reviews(db, brand_a, brand_b, staff_for):
    review = _a_review(brand_a)
    follow_up = FollowUp.objects.get(review=review)
    staff_b = staff_for(brand_b)
    connection.set_tenant(brand_b)

    assert "Only in A" not in staff_b.get("/backoffice/community/review/").content.decode()
    assert "Only in A" not in staff_b.get("/backoffice/community/followup/").content.decode()
    trends = staff_b.get("/backoffice/community/reviews/trends/")
    assert trends.status_code == 200 and "Only in A" not in trends.content.decode()
    assert "SKU-ONLY-A" not in staff_b.get("/backoffice/community/reviews/trends.csv").content.decode()
    response = staff_b.post(f"/backoffice/community/review/{review.pk}/change/", {"reply": "Hijack"})
    assert response.status_code in (302, 404) and "/backoffice/" in response.get("Location", "/backoffice/")
    staff_b.post(
        f"/backoffice/community/followup/{follow_up.pk}/change/", {"state": "closed", "outcome": "x"}
    )

    connection.set_tenant(brand_a)
    review.refresh_from_db()
    follow_up.refresh_from_db()
    assert review.reply == "" and follow_up.state == "open"


def test_as_purchases_certify_nothing_on_b_and_bs_sweep_invites_nobody_of_a(db, brand_a, brand_b):
    review = _a_review(brand_a)
    assert review.certified
    connection.set_tenant(brand_a)
    purchase(review.member, at=timezone.now() - timedelta(days=4), sku="SKU-ONLY-A")

    connection.set_tenant(brand_b)
    b_subject = subject_make(reference="SKU-ONLY-A", name="Same sku on B")
    b_member = member_make("iso-rev-a")  # the same external id, another brand's person
    assert review_submit(member=b_member, subject_id=b_subject.pk, rating=5, text="B").certified is False
    if not Review.objects.filter(pk=review.pk).exists():
        with pytest.raises(NotFound):
            review_report(review_id=review.pk, member=member_make(), reason="insult")
    assert review_invitations_send() == 0
    assert not ReviewInvitation.objects.exists()

    connection.set_tenant(brand_a)
    assert Review.objects.get(pk=review.pk).report_count == 0
