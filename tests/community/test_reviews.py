"""Writes of reviews (`community.services.reviews`): one per member and subject, certified only by
a matching purchase, follow-ups of low ratings, reports, the brand's reply, bad inputs."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from community.models import FollowUp, Review, ReviewReport, Subject
from community.services.reviews import (
    follow_up_update,
    review_reply,
    review_report,
    review_submit,
)
from core.errors import InvalidInput, NotFound, Refused
from loyalty.models import Member
from loyalty.services.events.checks import EventInput
from loyalty.services.events.pipeline import event_record
from messaging.models import Message
from tests.community.factories import purchase, review_triggers_on, subject_make
from tests.factories import member_make, staff_make

pytestmark = pytest.mark.usefixtures("in_a")


def test_a_review_is_published_and_a_second_submit_edits_it():
    member, subject = member_make(), subject_make()

    first = review_submit(member=member, subject_id=subject.pk, rating=4, text="Lovely, fruity.")
    again = review_submit(member=member, subject_id=subject.pk, rating=3, text="Less good the second time")

    assert again.pk == first.pk and Review.objects.filter(member=member, subject=subject).count() == 1
    again.refresh_from_db()
    assert (again.rating, again.text, again.state) == (3, "Less good the second time", "published")
    assert again.published_at is not None and again.edited_at is not None
    assert first.edited_at is None


def test_certified_only_with_a_purchase_naming_the_subject():
    member, other = member_make(), member_make()
    wine, beer = subject_make(reference="SKU-WINE"), subject_make(reference="SKU-BEER")
    place = subject_make(kind="place", reference="SHOP-1")
    purchase(other, sku="SKU-WINE")  # another member's purchase certifies nothing of mine
    purchase(member, items=[{"sku": "SKU-BEER", "name": "Beer", "quantity": 1}])

    assert review_submit(member=member, subject_id=wine.pk, rating=5, text="x").certified is False
    beer_review = review_submit(member=member, subject_id=beer.pk, rating=5, text="Good beer")
    assert beer_review.certified and beer_review.certified_event.member_id == member.pk
    assert review_submit(member=member, subject_id=place.pk, rating=4, text="Nice shop").certified is False

    purchase(member, sku="SKU-WINE", place="SHOP-1")
    assert review_submit(member=member, subject_id=wine.pk, rating=5, text="x").certified is True
    assert review_submit(member=member, subject_id=place.pk, rating=4, text="Nice shop").certified is True


def test_a_product_reference_in_another_attribute_certifies_nothing():
    member, product = member_make(), subject_make(reference="REF-1")
    purchase(member, place="REF-1")
    assert review_submit(member=member, subject_id=product.pk, rating=5, text="ok").certified is False


def test_a_low_rating_opens_one_follow_up_and_a_good_one_none():
    member, subject = member_make(), subject_make()
    good = review_submit(member=member, subject_id=subject.pk, rating=3, text="Fine")
    assert not FollowUp.objects.filter(review=good).exists()

    bad = review_submit(member=member, subject_id=subject.pk, rating=2, text="Not fine")
    review_submit(member=member, subject_id=subject.pk, rating=1, text="Worse")
    assert FollowUp.objects.filter(review=bad).count() == 1

    for rating in (4, 5):
        happy = review_submit(member=member_make(), subject_id=subject.pk, rating=rating, text="Great")
        assert not FollowUp.objects.filter(review=happy).exists()


def test_a_harsh_review_is_published_unfiltered():
    review = review_submit(
        member=member_make(),
        subject_id=subject_make().pk,
        rating=1,
        text="this wine is a scandal, worst purchase ever, avoid",
    )
    assert review.state == "published" and review.held_because == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"title": "t" * 121}, "title"),
        ({"experienced_on": timezone.localdate() + timedelta(days=2)}, "experienced_on"),
    ],
)
def test_bad_inputs_name_their_field(changes, field):
    data = {"rating": 4, "text": "Good", **changes}
    with pytest.raises(InvalidInput) as error:
        review_submit(member=member_make(), subject_id=subject_make().pk, **data)
    assert field in error.value.errors
    assert not Review.objects.exists()


def test_an_unknown_or_unlisted_subject_and_an_inactive_member_are_refused():
    member = member_make()
    with pytest.raises(NotFound) as error:
        review_submit(member=member, subject_id=999_999, rating=4, text="Good")
    assert error.value.field == "subject"
    hidden = subject_make(is_active=False)
    with pytest.raises(NotFound):
        review_submit(member=member, subject_id=hidden.pk, rating=4, text="Good")
    Member.objects.filter(pk=member.pk).update(status=Member.Status.BLOCKED)
    member.refresh_from_db()
    with pytest.raises(Refused) as refused:
        review_submit(member=member, subject_id=subject_make().pk, rating=4, text="Good")
    assert refused.value.field == "member"


def test_a_report_counts_once_per_member_and_never_ones_own():
    author, subject = member_make(), subject_make()
    review = review_submit(member=author, subject_id=subject.pk, rating=5, text="Best ever")
    reporter = member_make()

    report = review_report(review_id=review.pk, member=reporter, reason="advertising", note="spam link")
    again = review_report(review_id=review.pk, member=reporter, reason="insult")
    review_report(review_id=review.pk, member=member_make(), reason="insult")

    assert again.pk == report.pk and again.reason == "advertising"
    review.refresh_from_db()
    assert review.report_count == 2 and ReviewReport.objects.filter(review=review).count() == 2
    assert ReviewReport.objects.filter(review=review, handled_at__isnull=True).count() == 2
    with pytest.raises(Refused):
        review_report(review_id=review.pk, member=author, reason="insult")
    with pytest.raises(InvalidInput) as error:
        review_report(review_id=review.pk, member=member_make(), reason="i do not like it")
    assert error.value.field == "reason"
    with pytest.raises(NotFound):
        review_report(review_id=999_999, member=reporter, reason="insult")


def test_a_held_review_cannot_be_reported():
    review = review_submit(member=member_make(), subject_id=subject_make().pk, rating=5, text="ok")
    Review.objects.filter(pk=review.pk).update(state="held", published_at=None)
    with pytest.raises(NotFound):
        review_report(review_id=review.pk, member=member_make(), reason="insult")


def test_the_brands_reply_tells_the_author_once(django_capture_on_commit_callbacks):
    review_triggers_on("review_replied")
    author = member_make(phone="+33612340001")
    review = review_submit(member=author, subject_id=subject_make().pk, rating=2, text="Too dry")
    staff = staff_make("support")

    with django_capture_on_commit_callbacks(execute=True):
        replied = review_reply(review_id=review.pk, text="We are sorry, we will call you.", user=staff)
    with django_capture_on_commit_callbacks(execute=True):
        review_reply(review_id=review.pk, text="We are sorry: we called you.", user=staff)

    replied.refresh_from_db()
    assert replied.reply == "We are sorry: we called you." and replied.replied_by == staff
    assert Message.objects.filter(member=author, trigger="review_replied").count() == 1
    with pytest.raises(InvalidInput) as error:
        review_reply(review_id=review.pk, text="r" * 3001, user=staff)
    assert error.value.field == "reply"


def test_a_follow_up_closes_only_with_an_outcome():
    review = review_submit(member=member_make(), subject_id=subject_make().pk, rating=1, text="Broken")
    follow_up, staff = review.follow_up, staff_make("support")

    with pytest.raises(InvalidInput) as error:
        follow_up_update(follow_up_id=follow_up.pk, state="closed", outcome=" ", user=staff)
    assert error.value.field == "outcome"
    with pytest.raises(InvalidInput):
        follow_up_update(follow_up_id=follow_up.pk, state="lost", outcome="", user=staff)

    contacted = follow_up_update(follow_up_id=follow_up.pk, state="contacted", outcome="", user=staff)
    assert contacted.assigned_to == staff and contacted.closed_at is None
    closed = follow_up_update(follow_up_id=follow_up.pk, state="closed", outcome="Refunded", user=staff)
    assert closed.state == "closed" and closed.closed_at is not None
    reopened = follow_up_update(follow_up_id=follow_up.pk, state="open", outcome="Refunded", user=staff)
    assert reopened.closed_at is None


def test_an_edit_down_to_a_low_rating_opens_the_follow_up():
    member, subject = member_make(), subject_make()
    review = review_submit(member=member, subject_id=subject.pk, rating=5, text="Great")
    assert not FollowUp.objects.filter(review=review).exists()
    review_submit(member=member, subject_id=subject.pk, rating=2, text="Changed my mind")
    assert FollowUp.objects.filter(review=review).count() == 1


def test_the_recorded_purchase_event_certifies():
    member, subject = member_make(), subject_make(reference="SKU-REC")
    event_record(
        data=EventInput(
            member=member.external_id,
            type="purchase",
            occurred_at=timezone.now() - timedelta(hours=1),
            attributes={"amount": 20, "items": [{"sku": "SKU-REC", "quantity": 1, "price": 20}]},
            idempotency_key=f"t-{uuid.uuid4().hex}",
        )
    )
    assert review_submit(member=member, subject_id=subject.pk, rating=5, text="ok").certified
    assert Subject.objects.filter(reference="SKU-REC").count() == 1
