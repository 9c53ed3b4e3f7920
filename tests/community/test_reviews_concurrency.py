"""One review per member and subject under real concurrency: threads with their own PostgreSQL
connections on committed data (a brand of their own), released together by a barrier."""

from __future__ import annotations

from django.db import connection

from community.models import FollowUp, Review
from community.services.reviews import review_submit
from tests.community.factories import subject_make
from tests.factories import member_make
from tests.support import run_concurrently


def test_ten_concurrent_submits_leave_one_review_and_one_follow_up(fresh_brand):
    connection.set_tenant(fresh_brand)
    member, subject = member_make("racer"), subject_make()

    def submit(index: int) -> Review:
        connection.set_tenant(fresh_brand)
        return review_submit(member=member, subject_id=subject.pk, rating=1 + index % 2, text=f"take {index}")

    results = run_concurrently(10, submit)

    connection.set_tenant(fresh_brand)
    assert all(isinstance(result, Review) for result in results), results
    assert {result.pk for result in results} == {Review.objects.get(member=member, subject=subject).pk}
    assert Review.objects.count() == 1 and FollowUp.objects.count() == 1
    assert Review.objects.get().text in {f"take {index}" for index in range(10)}
