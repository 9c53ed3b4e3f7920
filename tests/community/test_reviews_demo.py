"""The demo brands' reviews (seeded once, in two languages, some certified, trends over months, the
review e-mails rendering) and the member's reviews in a GDPR export and erasure."""

from __future__ import annotations

import pytest

from community.demo.reviews import MEMBER_PREFIX, SUBJECTS, seed
from community.models import FollowUp, Review, ReviewReport, Subject
from community.privacy import reviews as privacy
from community.services.reviews import review_reply, review_report, review_submit
from core.privacy import ERASED, Person
from messaging.models import MessageTemplate, Trigger
from messaging.services.templates import template_preview
from tests.community.factories import subject_make
from tests.factories import member_make

pytestmark = pytest.mark.usefixtures("in_a")


def test_the_demo_reviews_are_seeded_once_with_their_messages():
    seed(slug="citycar")
    reviews = Review.objects.filter(member__external_id__startswith=MEMBER_PREFIX)
    count = reviews.count()
    seed(slug="citycar")

    assert count > 20 and reviews.count() == count
    assert Subject.objects.filter(reference__in=[s[1] for s in SUBJECTS["citycar"][1]]).count() == 4
    assert (
        reviews.filter(certified_event__isnull=False).exists()
        and reviews.filter(certified_event=None).exists()
    )
    assert {"fr", "en"} <= set(reviews.values_list("language", flat=True))
    months = {review.created_at.strftime("%Y-%m") for review in reviews}
    assert len(months) >= 6
    assert FollowUp.objects.filter(review__rating__lte=2).count() == reviews.filter(rating__lte=2).count()
    assert reviews.exclude(reply="").exists() and ReviewReport.objects.exists()
    assert Trigger.objects.filter(kind="review_invitation", is_active=True).exists()

    member = member_make(first_name="Claire", language="fr")
    for template in MessageTemplate.objects.filter(code__in=["review_invitation", "review_replied"]):
        data = {"channel": template.channel, "subject": template.subject, "body": template.body}
        assert "{{" not in template_preview(template_data=data, member=member).text


def test_the_export_holds_the_members_reviews_and_the_erasure_their_words():
    member, other = member_make(first_name="Ada", last_name="Lovelace"), member_make()
    review = review_submit(member=member, subject_id=subject_make().pk, rating=2, text="Ada says: no")
    theirs = review_submit(member=other, subject_id=subject_make().pk, rating=4, text="Kept")
    review_reply(review_id=review.pk, text="Sorry Ada Lovelace, we call you.", user=None)
    review_report(review_id=theirs.pk, member=member, reason="insult", note="Rude to me")
    FollowUp.objects.filter(review=review).update(outcome="Called Ada Lovelace")

    exported = privacy.export(member)
    assert [r["text"] for r in exported["reviews"]] == ["Ada says: no"]
    assert exported["review_reports"][0]["note"] == "Rude to me"

    privacy.erase(member, Person.of(texts=["Ada"], unique_texts=["Ada Lovelace"]))
    review.refresh_from_db()
    assert (review.text, review.title, review.rating) == (ERASED, "", 2)
    assert "Lovelace" not in review.reply and ERASED in review.reply
    assert ReviewReport.objects.get(member=member).note == ERASED
    assert "Lovelace" not in FollowUp.objects.get(review=review).outcome
    assert Review.objects.get(pk=theirs.pk).text == "Kept"
