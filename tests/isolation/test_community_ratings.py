"""Tenant isolation of the review pages and the public ratings JSON: brand B's host never shows
brand A's items, reviews or figures, even for the same reference, the same ids and the same state
of the reviews (the cached summaries are keyed per brand), and the platform's host has none."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.test import Client

from community.models import Review, Subject
from community.services.reviews import review_submit
from tests.conftest import host_of
from tests.factories import member_make

SAME_STAMP = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _brand_with(brand, *, ratings: list[int], text: str, only: str) -> Subject:
    """In `brand`: the item "SKU-1" (id 424242 in every brand) reviewed with `ratings`, all last
    changed at the same instant, and an item of its own, `only`."""
    connection.set_tenant(brand)
    subject = Subject.objects.create(pk=424242, reference="SKU-1", name=f"{text} wine")
    Subject.objects.create(reference=only, name=f"{only} item")
    for rating in ratings:
        review_submit(member=member_make(), subject_id=subject.pk, rating=rating, text=text, language="en")
    Review.objects.filter(subject=subject).update(updated_at=SAME_STAMP)
    return subject


def test_bs_host_never_shows_as_ratings_or_reviews(db, brand_a, brand_b):
    _brand_with(brand_a, ratings=[5, 5], text="Alpha loves it", only="ONLY-A")
    _brand_with(brand_b, ratings=[1, 1], text="Beta hates it", only="ONLY-B")
    connection.set_schema_to_public()
    a, b = Client(HTTP_HOST=host_of(brand_a)), Client(HTTP_HOST=host_of(brand_b))

    # A's summary computed and cached first; B's, of the same id and stamp, is B's own.
    assert a.get("/reviews/product/SKU-1/ratings.json").json()["average"] == 5.0
    b_data = b.get("/reviews/product/SKU-1/ratings.json").json()
    assert (b_data["name"], b_data["average"], b_data["distribution"]["5"]) == ("Beta hates it wine", 1.0, 0)
    assert a.get("/reviews/product/SKU-1/ratings.json").json()["name"] == "Alpha loves it wine"

    response = b.get("/reviews/product/ONLY-A/ratings.json")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert b.get("/reviews/product/ONLY-A/").status_code == 404
    b_page = b.get("/reviews/product/SKU-1/").content.decode()
    assert "Beta hates it" in b_page and "Alpha loves it" not in b_page and "5.0" not in b_page
    b_list = b.get("/reviews/").content.decode()
    assert "ONLY-B item" in b_list and "ONLY-A item" not in b_list and "Alpha" not in b_list

    # The platform's own host serves no brand's ratings.
    assert Client(HTTP_HOST="localhost").get("/reviews/product/SKU-1/ratings.json").status_code == 404


def test_bs_member_cannot_report_or_review_as_items(db, brand_a, brand_b):
    _brand_with(brand_a, ratings=[4], text="Alpha review", only="ONLY-A")
    a_review = Review.objects.get(subject_id=424242)
    connection.set_tenant(brand_b)
    b_member = member_make(login=True)
    client = Client(HTTP_HOST=host_of(brand_b))
    client.force_login(b_member.user)

    assert (
        client.post("/reviews/product/ONLY-A/write/", {"rating": "1", "text": "B was here"}).status_code
        == 404
    )
    assert (
        client.post(
            "/reviews/product/ONLY-A/report/", {"review": a_review.pk, "reason": "insult"}
        ).status_code
        == 404
    )
    connection.set_tenant(brand_a)
    assert Review.objects.get(pk=a_review.pk).report_count == 0
    assert not Review.objects.filter(text="B was here").exists()
