"""The invitations to review a purchase (`review_invitations_send`, task
`community.review_invitations_all`): purchases of `review_invitation_days` to 7 days more ago, once
per purchase and item, items of a purchase listed on the way, never a subject already reviewed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from community.models import CommunitySettings, ReviewInvitation, Subject
from community.services.reviews import review_invitations_send, review_submit
from community.tasks.reviews import review_invitations_all_task
from messaging.models import Message
from tests.community.factories import purchase, review_triggers_on, subject_make
from tests.factories import member_make

pytestmark = pytest.mark.usefixtures("in_a")
DAY = timedelta(days=1)


def test_a_purchase_is_invited_once_per_item_with_its_link(django_capture_on_commit_callbacks):
    review_triggers_on("review_invitation")
    member = member_make(phone="+33612340002")
    shop = subject_make(kind="place", reference="SHOP-9", name="Shop nine")
    now = timezone.now()
    event = purchase(
        member,
        at=now - 4 * DAY,
        place="SHOP-9",
        items=[{"sku": "NEW-SKU", "name": "Magnum 2018", "quantity": 1}, {"sku": "NEW-SKU", "quantity": 2}],
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert review_invitations_send(now=now) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert review_invitations_send(now=now) == 0
        assert review_invitations_send(now=now + DAY) == 0

    created = Subject.objects.get(kind="product", reference="NEW-SKU")
    assert created.name == "Magnum 2018" and created.is_active
    invited = ReviewInvitation.objects.filter(event=event)
    assert {i.subject_id for i in invited} == {shop.pk, created.pk}
    messages = Message.objects.filter(member=member, trigger="review_invitation")
    assert messages.count() == 2
    assert any("/reviews/product/NEW-SKU/" in m.body and "Magnum 2018" in m.body for m in messages)


def test_only_purchases_in_the_window_and_not_reviewed_are_invited():
    member, subject = member_make(), subject_make(reference="SKU-W")
    now = timezone.now()
    purchase(member, at=now - 2 * DAY, sku="SKU-W")  # too recent (3 days by default)
    purchase(member, at=now - 11 * DAY, sku="SKU-W")  # too old (3 + 7)
    purchase(member, at=now - 5 * DAY, sku="SKU-NOT-LISTED")  # names no listed item
    purchase(member, at=now - 5 * DAY, type="refund", sku="SKU-W")  # not a purchase type
    assert review_invitations_send(now=now) == 0

    purchase(member, at=now - 5 * DAY, sku="SKU-W")
    reviewed = member_make()
    review_submit(member=reviewed, subject_id=subject.pk, rating=4, text="Already said")
    purchase(reviewed, at=now - 5 * DAY, sku="SKU-W")
    assert review_invitations_send(now=now) == 1
    assert ReviewInvitation.objects.get().member == member


def test_the_brands_purchase_types_and_delay_are_read():
    CommunitySettings.objects.update_or_create(
        pk=1, defaults={"purchase_event_types": ["trip"], "review_invitation_days": 1}
    )
    member, now = member_make(), timezone.now()
    subject_make(kind="service", reference="HOURLY")
    purchase(member, at=now - 2 * DAY, type="trip", service="HOURLY")
    purchase(member, at=now - 2 * DAY, type="purchase", service="HOURLY")
    assert review_invitations_send(now=now) == 1

    CommunitySettings.objects.filter(pk=1).update(review_invitation_days=0)
    purchase(member_make(), at=now - 2 * DAY, type="trip", service="HOURLY")
    assert review_invitations_send(now=now) == 0


def test_the_beat_task_runs_in_every_brand():
    member = member_make()
    subject_make(reference="SKU-TASK")
    purchase(member, at=timezone.now() - 4 * DAY, sku="SKU-TASK")
    assert review_invitations_all_task() >= 1
    assert ReviewInvitation.objects.filter(member=member).count() == 1
