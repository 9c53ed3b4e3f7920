"""The public ratings JSON the brand's own web site reads (its showroom): no key, any origin, no
credentials, kept five minutes, computed once per state of the item's reviews (cached in the
brand's keys), a JSON 404 for an unknown or delisted item."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from community.models import ModerationState, Review
from community.services.moderation import moderation_decide
from tests.community.factories import named_subject_make, review_make
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


def _json(brand, kind: str, reference: str, **headers):
    return Client(HTTP_HOST=host_of(brand)).get(f"/reviews/{kind}/{reference}/ratings.json", **headers)


def test_the_ratings_of_an_item(in_a):
    subject = named_subject_make(name="Château Margaux 2015")
    for rating in (5, 5, 4, 2):
        review_make(
            subject, rating, text=f"Rated {rating}.", member={"first_name": "Ana", "last_name": "Martin"}
        )
    review_make(subject, 5, text="x" * 300, title="Long one")
    held = review_make(subject, 1, text="Not published yet.")
    Review.objects.filter(pk=held.pk).update(state=ModerationState.HELD, published_at=None)

    response = _json(in_a, "product", "CHX-2015", HTTP_ORIGIN="https://www.example.com")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = response.json()
    assert (
        data["reference"] == "CHX-2015"
        and data["kind"] == "product"
        and data["name"] == "Château Margaux 2015"
    )
    assert data["count"] == 5 and data["average"] == 4.2
    assert data["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 3}
    assert data["certified_count"] == 0
    assert [item["rating"] for item in data["latest"]] == [5, 2, 4]
    assert data["latest"][0]["title"] == "Long one" and len(data["latest"][0]["text"]) == 200
    assert data["latest"][1] == {
        "rating": 2,
        "title": "",
        "text": "Rated 2.",
        "author": "Ana M.",
        "certified": False,
        "language": "en",
        "published_on": data["latest"][1]["published_on"],
    }
    assert "Not published yet." not in response.content.decode()


def test_public_headers_any_origin_without_credentials(in_a):
    named_subject_make()
    response = _json(in_a, "product", "CHX-2015", HTTP_ORIGIN="https://showroom.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    assert "Access-Control-Allow-Credentials" not in response
    assert response["Cache-Control"] == "public, max-age=300"
    assert "Set-Cookie" not in response

    client = Client(HTTP_HOST=host_of(in_a))
    preflight = client.options(
        "/reviews/product/CHX-2015/ratings.json",
        HTTP_ORIGIN="https://showroom.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"
    assert client.post("/reviews/product/CHX-2015/ratings.json").status_code == 405
    assert client.delete("/reviews/product/CHX-2015/ratings.json").status_code == 405


def test_an_item_without_reviews_has_no_average(in_a):
    named_subject_make()
    data = _json(in_a, "product", "CHX-2015").json()
    assert (data["count"], data["average"], data["latest"]) == (0, None, [])
    assert data["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}


def test_unknown_or_delisted_items_are_a_json_404(in_a):
    named_subject_make("OLD", is_active=False)
    for kind, reference in (("product", "NOPE"), ("product", "OLD"), ("place", "CHX-2015"), ("gift", "OLD")):
        response = _json(in_a, kind, reference)
        assert response.status_code == 404 and response.json()["error"] == "not_found"
        assert response["Access-Control-Allow-Origin"] == "*"


def test_cached_until_the_reviews_change(in_a):
    subject = named_subject_make()
    review = review_make(subject, 4)
    assert _json(in_a, "product", "CHX-2015").json()["count"] == 1
    with CaptureQueriesContext(connection) as queries:
        assert _json(in_a, "product", "CHX-2015").json()["count"] == 1
    review_queries = [q["sql"] for q in queries.captured_queries if "community_review" in q["sql"]]
    assert len(review_queries) == 1, review_queries  # the subject and its stamp: the summary is cached

    review_make(subject, 1)  # a new published review
    assert _json(in_a, "product", "CHX-2015").json()["distribution"]["1"] == 1
    moderation_decide(obj=review, publish=False, user=None, reason="advertising")  # one taken out
    data = _json(in_a, "product", "CHX-2015").json()
    assert (data["count"], data["average"]) == (1, 1.0)
    review_make(subject, 5).delete()
    assert _json(in_a, "product", "CHX-2015").json()["count"] == 1
