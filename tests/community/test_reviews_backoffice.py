"""The backoffice's reviews: items written through the service (errors on the field), the review's
form writing only the brand's reply, support's follow-ups (closing needs the outcome), the trends
page with its chart and CSV, and who may see it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from community.models import FollowUp, Review, Subject
from community.services.reviews import review_submit
from tests.community.factories import subject_make
from tests.conftest import host_of
from tests.factories import member_make, staff_make

pytestmark = pytest.mark.django_db
TRENDS = "/backoffice/community/reviews/trends/"


def _review(subject, rating: int, *, days_ago: int = 0, text: str = "Said so") -> Review:
    review = review_submit(member=member_make(), subject_id=subject.pk, rating=rating, text=text)
    at = timezone.now() - timedelta(days=days_ago)
    Review.objects.filter(pk=review.pk).update(created_at=at, published_at=at)
    return review


def test_an_item_is_added_and_a_taken_reference_refused_on_its_field(staff_a):
    subject_make(kind="product", reference="TAKEN")
    form = {"kind": "product", "reference": "TAKEN", "name": "Again", "description": "", "image_url": ""}
    response = staff_a.post("/backoffice/community/subject/add/", form)
    assert response.status_code == 200
    assert "another item of this kind has this reference" in response.content.decode()

    form.update(reference="NEW-1", is_active="on")
    assert staff_a.post("/backoffice/community/subject/add/", form).status_code == 302
    assert Subject.objects.get(reference="NEW-1").name == "Again"


def test_the_review_form_writes_the_reply_and_never_the_members_words(staff_a):
    review = _review(subject_make(), 2, text="Too late")
    url = f"/backoffice/community/review/{review.pk}/change/"
    assert staff_a.get(url).status_code == 200
    response = staff_a.post(url, {"reply": "We are sorry.", "text": "Changed!", "rating": "5"})
    assert response.status_code == 302, response.content.decode()[:2000]
    review.refresh_from_db()
    assert (review.reply, review.text, review.rating) == ("We are sorry.", "Too late", 2)
    assert review.replied_by is not None
    assert staff_a.get("/backoffice/community/review/?rating__exact=2&certified=no").status_code == 200
    assert staff_a.get("/backoffice/community/review/add/").status_code == 403


def test_a_follow_up_closes_only_with_an_outcome(staff_a):
    review = _review(subject_make(), 1)
    follow_up = FollowUp.objects.get(review=review)
    url = f"/backoffice/community/followup/{follow_up.pk}/change/"
    response = staff_a.post(url, {"state": "closed", "assigned_to": "", "outcome": ""})
    assert response.status_code == 200 and "Say how it ended" in response.content.decode()
    assert staff_a.post(url, {"state": "closed", "assigned_to": "", "outcome": "Refunded"}).status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.state == "closed" and follow_up.closed_at and follow_up.assigned_to is not None
    listing = staff_a.get("/backoffice/community/followup/").content.decode()
    assert review.subject.name in listing


def test_the_trends_show_averages_and_counts_per_month_and_the_csv(staff_a):
    wine, shop = subject_make(name="Margaux"), subject_make(kind="place", name="Chartrons")
    _review(wine, 5, days_ago=1)
    _review(wine, 2, days_ago=1)
    _review(wine, 4, days_ago=70)
    _review(shop, 3, days_ago=1)
    _review(wine, 1, days_ago=800)  # older than 24 months
    held = _review(wine, 1, days_ago=1)
    Review.objects.filter(pk=held.pk).update(state="held", published_at=None)

    page = staff_a.get(TRENDS)
    assert page.status_code == 200
    averages = json.loads(page.context["averages_chart"])
    assert [d["label"] for d in averages["datasets"]] == ["All reviewed items", "Margaux", "Chartrons"]
    assert len(averages["labels"]) == 12 and averages["datasets"][1]["data"][-1] == "3.5"
    counts = json.loads(page.context["counts_chart"])
    assert counts["datasets"][0]["data"][-1] == 3 and sum(counts["datasets"][0]["data"]) == 4
    html = page.content.decode()
    assert 'data-type="line"' in html and "<script>" not in html.split("</header>")[-1]

    one = staff_a.get(TRENDS, {"months": "24", "kind": "product", "subject": wine.pk})
    assert len(json.loads(one.context["averages_chart"])["labels"]) == 24
    assert [d["label"] for d in json.loads(one.context["averages_chart"])["datasets"]] == ["Margaux"]

    rows = list(csv.reader(io.StringIO(staff_a.get(f"{TRENDS[:-1]}.csv", {"months": "12"}).content.decode())))
    assert rows[0] == ["Month", "Kind", "Reference", "Reviewed item", "Reviews", "Average"]
    this_month = f"{timezone.localdate():%Y-%m}"
    assert [this_month, "product", wine.reference, "Margaux", "2", "3.5"] in rows
    assert len(rows) == 4  # the header, Margaux twice, Chartrons once


def test_bad_choices_are_a_form_error_and_other_roles_are_refused(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    place = subject_make(kind="place")
    support = client_for(brand_a)
    support.force_login(staff_make("support"))
    response = support.get(TRENDS, {"kind": "product", "subject": place.pk})
    assert response.status_code == 400 and "not of the kind" in response.content.decode()
    assert support.get(TRENDS, {"months": "7"}).status_code == 400
    assert support.get(f"{TRENDS[:-1]}.csv", {"months": "7"}).status_code == 400

    nobody = client_for(brand_a)
    user = staff_make("support")
    user.staff_profile.delete()
    nobody.force_login(user)
    assert nobody.get(TRENDS).status_code in (302, 403)
    assert host_of(brand_a)
