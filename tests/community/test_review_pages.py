"""The member site's review pages: the reviewed items with their average, an item's page (its
distribution, its published reviews in the reader's language first, certified badge, the brand's
reply), the review form (writing, editing rather than a second review, bad inputs named by field,
one's own held or rejected review) and the report button."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from community.models import ModerationState, Review, ReviewReport, Subject
from community.services.moderation import moderation_decide
from community.services.reviews import review_reply, review_submit
from loyalty.models import EventType
from loyalty.services.events.checks import EventInput
from loyalty.services.events.pipeline import event_record
from tests.community.factories import named_subject_make, review_make
from tests.conftest import host_of
from tests.factories import member_make

pytestmark = pytest.mark.django_db


def member_client(brand, member) -> Client:
    client = Client(HTTP_HOST=host_of(brand))
    client.force_login(member.user)
    return client


def _page(brand, subject: Subject, client: Client | None = None, **headers) -> str:
    client = client or Client(HTTP_HOST=host_of(brand))
    response = client.get(f"/reviews/{subject.kind}/{subject.reference}/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_list_shows_listed_items_with_average_and_count(in_a):
    margaux = named_subject_make()
    for rating in (5, 4, 4):
        review_make(margaux, rating)
    named_subject_make("SHOP-LYON", name="Lyon Part-Dieu shop", kind="place")
    named_subject_make("OLD", name="Delisted wine", is_active=False)
    client = Client(HTTP_HOST=host_of(in_a))

    html = client.get("/reviews/").content.decode()
    assert "Château Margaux 2015" in html and "Lyon Part-Dieu shop" in html
    assert "Delisted wine" not in html
    assert "<strong>4.3</strong>/5" in html and "3 reviews" in html
    assert "No review yet." in html
    places = client.get("/reviews/?kind=place").content.decode()
    assert "Lyon Part-Dieu shop" in places and "Château Margaux 2015" not in places
    # An unknown kind or page is the whole first page, not an error.
    assert "Château Margaux 2015" in client.get("/reviews/?kind=gift&page=x").content.decode()


def test_the_page_shows_the_distribution_and_only_published_reviews(in_a):
    subject = named_subject_make()
    for rating in (5, 5, 4, 1):
        review_make(subject, rating)
    held = review_make(subject, 3, text="Held by the moderators for now.")
    Review.objects.filter(pk=held.pk).update(state=ModerationState.HELD, published_at=None)

    html = _page(in_a, subject)
    assert "<strong>3.8</strong>" in html and "4 reviews" in html
    for stars, count, percent in ((5, 2, 50), (4, 1, 25), (3, 0, 0), (2, 0, 0), (1, 1, 25)):
        assert f'data-stars="{stars}"' in html
        assert f'<progress max="100" value="{percent}">' in html
        row = html.split(f'data-stars="{stars}"')[1].split("</tr>")[0]
        assert f'<td class="rating-bars__count">{count}</td>' in row
    assert "Held by the moderators" not in html
    assert 'href="/community/rules/"' in html
    assert "style=" not in html.split("<main")[1]  # the CSP: no inline style, the bars included


def test_reviews_in_the_readers_language_first_each_labelled(in_a):
    subject = named_subject_make()
    review_make(subject, 4, text="Very good wine, well kept.", language="en")
    review_make(subject, 5, text="Un vin superbe, bien conservé.", language="fr")
    review_make(subject, 3, text="Correct, a bit young.", language="en")

    french = _page(in_a, subject, HTTP_ACCEPT_LANGUAGE="fr")
    english = _page(in_a, subject, HTTP_ACCEPT_LANGUAGE="en")
    assert french.index("Un vin superbe") < french.index("Correct, a bit") < french.index("Very good wine")
    assert english.index("Correct, a bit") < english.index("Very good wine") < english.index("Un vin superbe")
    assert '<span class="review__language">Français</span>' in french
    assert '<span class="review__language">French</span>' in english
    assert 'lang="fr"><p>Un vin superbe' in english
    assert english.index("Reviews in other languages") < english.index("Un vin superbe")


def test_certified_badge_reply_and_dates(in_a):
    subject = named_subject_make()
    plain = review_make(subject, 4, text="No purchase behind this one.", experienced_on=date(2026, 3, 14))
    buyer = member_make()
    _purchase(buyer, subject)
    certified = review_submit(member=buyer, subject_id=subject.pk, rating=5, text="Bought it at the shop.")
    assert certified.certified
    review_reply(review_id=certified.pk, text="Thank you, see you soon!", user=None)

    html = _page(in_a, subject)
    certified_block = html.split(f'data-review="{certified.pk}"')[1].split("</article>")[0]
    plain_block = html.split(f'data-review="{plain.pk}"')[1].split("</article>")[0]
    assert "Certified purchase" in certified_block and "Certified purchase" not in plain_block
    assert "Thank you, see you soon!" in certified_block and "Reply from" in certified_block
    assert "experience of March 14, 2026" in plain_block and "reviewed on" in plain_block
    assert "1 certified by a purchase" in html


def _purchase(member, subject) -> None:
    EventType.objects.get_or_create(code="purchase", defaults={"name": "Purchase"})
    event_record(
        data=EventInput(
            member=member.external_id,
            type="purchase",
            occurred_at=timezone.now(),
            attributes={"sku": subject.reference, "amount": "30"},
            idempotency_key=f"buy-{member.external_id}",
        )
    )


def test_unknown_or_delisted_item_is_a_404(in_a):
    named_subject_make("OLD", is_active=False)
    client = Client(HTTP_HOST=host_of(in_a))
    assert client.get("/reviews/product/NOPE/").status_code == 404
    assert client.get("/reviews/product/OLD/").status_code == 404
    assert client.get("/reviews/gift/OLD/").status_code == 404


def test_a_visitor_is_asked_to_log_in_and_cannot_write_or_report(in_a):
    subject = named_subject_make()
    review = review_make(subject, 4)
    client = Client(HTTP_HOST=host_of(in_a))
    html = _page(in_a, subject, client)
    assert "Log in to write a review" in html and "<textarea" not in html and "Report this review" not in html

    base = f"/reviews/{subject.kind}/{subject.reference}"
    response = client.post(f"{base}/write/", {"rating": "5", "text": "Anonymous"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.post(f"{base}/report/", {"review": review.pk, "reason": "insult"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Review.objects.filter(subject=subject).count() == 1 and not ReviewReport.objects.exists()


def test_a_member_writes_then_edits_their_one_review(in_a):
    subject = named_subject_make()
    member = member_make(login=True, first_name="Inès", last_name="Moreau")
    client = member_client(in_a, member)
    base = f"/reviews/{subject.kind}/{subject.reference}"

    response = client.post(
        f"{base}/write/",
        {"rating": "4", "title": "Lovely", "text": "Silky tannins.", "experienced_on": "2026-02-01"},
    )
    assert response.status_code == 302 and response["Location"] == f"{base}/"
    html = _page(in_a, subject, client)
    assert "Thank you: your review is published." in html
    assert "Silky tannins." in html and "Inès M." in html
    assert "Update my review" in html and "Silky tannins.</textarea>" in html  # pre-filled
    assert 'value="4" id="id_rating_1" required checked' in html

    client.post(f"{base}/write/", {"rating": "2", "text": "Second bottle was corked."})
    review = Review.objects.get(subject=subject, member=member)
    assert (review.rating, review.text) == (2, "Second bottle was corked.")
    assert Review.objects.filter(subject=subject).count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"rating": "0", "text": "Fine."}, "rating", "Select a valid choice"),
        ({"rating": "6", "text": "Fine."}, "rating", "Select a valid choice"),
        ({"text": "Fine."}, "rating", "This field is required"),
        ({"rating": "3", "text": "   "}, "text", "This field is required"),
        (
            {"rating": "3", "text": "Fine.", "experienced_on": "2999-01-01"},
            "experienced_on",
            "a date in the past",
        ),
        (
            {"rating": "3", "text": "Fine.", "experienced_on": "someday"},
            "experienced_on",
            "Enter a valid date",
        ),
    ],
)
def test_bad_inputs_are_named_by_field_and_write_nothing(in_a, data, field, message):
    subject = named_subject_make()
    client = member_client(in_a, member_make(login=True))
    response = client.post(f"/reviews/{subject.kind}/{subject.reference}/write/", data)
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    assert not Review.objects.exists()


def test_the_author_sees_their_held_or_rejected_review_with_its_state(in_a):
    subject = named_subject_make()
    member = member_make(login=True)
    review = review_submit(member=member, subject_id=subject.pk, rating=2, text="Waiting for the staff.")
    Review.objects.filter(pk=review.pk).update(state=ModerationState.HELD, published_at=None)
    client = member_client(in_a, member)
    assert "Your review is waiting for moderation: it is published or rejected within 7 days." in _page(
        in_a, subject, client
    )
    assert "Waiting for the staff." not in _page(in_a, subject)  # nobody else sees it

    moderation_decide(obj=review, publish=False, user=None, reason="insult", note="Please keep it polite.")
    html = _page(in_a, subject, client)
    assert "Your review was rejected." in html and "Insulting or abusive language" in html
    assert "Please keep it polite." in html and "Waiting for the staff.</textarea>" in html


def test_a_member_reports_a_review_once_and_not_their_own(in_a):
    subject = named_subject_make()
    other = review_make(subject, 1, text="Terrible.")
    member = member_make(login=True)
    own = review_submit(member=member, subject_id=subject.pk, rating=5, text="Mine.")
    client = member_client(in_a, member)
    report = f"/reviews/{subject.kind}/{subject.reference}/report/"
    html = _page(in_a, subject, client)
    assert f'name="review" value="{other.pk}"' in html and f'name="review" value="{own.pk}"' not in html

    client.post(report, {"review": other.pk, "reason": "no_experience", "note": "Not about the wine."})
    client.post(report, {"review": other.pk, "reason": "no_experience"})
    assert "the review is reported to the moderators" in _page(in_a, subject, client)
    assert ReviewReport.objects.get(review=other).note == "Not about the wine."
    assert Review.objects.get(pk=other.pk).report_count == 1

    client.post(report, {"review": own.pk, "reason": "insult"})
    assert "You cannot report your own review." in _page(in_a, subject, client)
    client.post(report, {"review": other.pk, "reason": "because"})
    assert "Choose the reason of your report." in _page(in_a, subject, client)
    client.post(report, {"review": "x", "reason": "insult"})
    assert "Choose the reason of your report." in _page(in_a, subject, client)
    client.post(report, {"review": 999999, "reason": "insult"})
    assert "no such review" in _page(in_a, subject, client)
    assert ReviewReport.objects.count() == 1


def test_reviews_are_paginated(in_a):
    subject = named_subject_make()
    for number in range(12):
        review_make(subject, 4, text=f"Opinion number {number:02d}.")
    first = _page(in_a, subject)
    client = Client(HTTP_HOST=host_of(in_a))
    second = client.get(f"/reviews/{subject.kind}/{subject.reference}/?page=2").content.decode()
    beyond = client.get(f"/reviews/{subject.kind}/{subject.reference}/?page=99").content.decode()
    assert first.count('class="review card"') == 10 and second.count('class="review card"') == 2
    assert "Opinion number 11." in first and "Opinion number 00." in second
    assert "Page 2 of 2" in beyond and "Opinion number 00." in beyond
    connection.set_schema_to_public()
