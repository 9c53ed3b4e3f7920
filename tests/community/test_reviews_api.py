"""The brand API's reviews routes (`/api/v1/community/subjects`): items listed, created and changed
with the backoffice's validation, the published reviews of one item, bad inputs naming the field."""

from __future__ import annotations

from django.db import connection

from community.models import Review, Subject
from community.services.reviews import review_submit
from tests.community.factories import subject_make
from tests.factories import member_make
from tests.support import error_of

BASE = "/api/v1/community/subjects"


def test_items_are_created_listed_and_changed(api_a):
    connection.set_tenant(api_a.brand)
    created = api_a.post(BASE, {"kind": "place", "reference": "SHOP-7", "name": "Shop seven"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["reference"], body["is_active"], body["review_count"]) == (
        "place",
        "SHOP-7",
        True,
        0,
    )
    assert body["average_rating"] is None

    subject = Subject.objects.get(pk=body["id"])
    for rating, member in ((5, member_make()), (4, member_make())):
        review_submit(member=member, subject_id=subject.pk, rating=rating, text="Good shop")
    listing = api_a.get(f"{BASE}?kind=place").json()
    assert [(s["reference"], s["review_count"], s["average_rating"]) for s in listing["results"]] == [
        ("SHOP-7", 2, 4.5)
    ]

    changed = api_a.send("patch", f"{BASE}/{subject.pk}", {"is_active": False, "name": "Shop 7"})
    assert changed.status_code == 200 and changed.json()["name"] == "Shop 7"
    assert Subject.objects.get(pk=subject.pk).is_active is False
    assert api_a.get(f"{BASE}?is_active=true").json()["count"] == 0


def test_bad_inputs_name_their_field(api_a):
    connection.set_tenant(api_a.brand)
    subject_make(kind="product", reference="TAKEN")
    assert error_of(api_a.post(BASE, {"reference": "TAKEN", "name": "Again"}), 400)["field"] == "reference"
    assert error_of(api_a.post(BASE, {"kind": "car", "reference": "X", "name": "X"}), 400)["field"] == "kind"
    assert error_of(api_a.post(BASE, {"kind": "product", "name": "No ref"}), 400)["field"] == "reference"
    assert error_of(api_a.get(f"{BASE}?kind=car"), 400)["field"] == "kind"
    assert error_of(api_a.send("patch", f"{BASE}/999999", {"name": "x"}), 404)["field"] == "subject_id"
    assert error_of(api_a.get(f"{BASE}/999999/reviews"), 404)["field"] == "subject_id"
    assert Subject.objects.filter(reference="TAKEN").count() == 1


def test_the_reviews_of_an_item_are_the_published_ones(api_a):
    connection.set_tenant(api_a.brand)
    subject = subject_make()
    shown = review_submit(
        member=member_make(first_name="Ada", last_name="Lovelace"),
        subject_id=subject.pk,
        rating=5,
        text="Yes",
    )
    held = review_submit(member=member_make(), subject_id=subject.pk, rating=1, text="Held one")
    Review.objects.filter(pk=held.pk).update(state="held", published_at=None)

    reviews = api_a.get(f"{BASE}/{subject.pk}/reviews").json()
    assert [(r["id"], r["author"], r["certified"]) for r in reviews["results"]] == [
        (shown.pk, "Ada L.", False)
    ]
    assert api_a.get(f"{BASE}/{subject.pk}").json()["review_count"] == 1
