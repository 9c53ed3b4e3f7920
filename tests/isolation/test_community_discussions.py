"""Tenant isolation of discussions: brand A's threads and replies never show on brand B's host,
for its visitors, members or staff, direct ids included; B's members cannot reply to them."""

from __future__ import annotations

from django.db import connection
from django.test import Client

from community.models import Reply, Thread
from community.services.discussions import reply_post, thread_create
from tests.conftest import host_of
from tests.factories import member_make


def _a_thread(brand_a) -> Thread:
    connection.set_tenant(brand_a)
    thread = thread_create(member=member_make("iso-a"), title="Only in A", text="A's own talk")
    reply_post(thread_id=thread.pk, member=member_make("iso-a2"), text="A's reply")
    return thread


def test_bs_host_and_members_see_and_answer_nothing_of_as_threads(db, brand_a, brand_b, staff_for):
    thread = _a_thread(brand_a)
    connection.set_tenant(brand_b)
    assert not Thread.objects.filter(pk=thread.pk).exists()
    b_member = member_make("iso-b", login=True)
    b_client = Client(HTTP_HOST=host_of(brand_b))
    b_client.force_login(b_member.user)

    for client in (b_client, Client(HTTP_HOST=host_of(brand_b))):
        assert "Only in A" not in client.get("/community/discussions/").content.decode()
        assert client.get(f"/community/discussions/{thread.pk}/").status_code == 404
    assert b_client.post(f"/community/discussions/{thread.pk}/reply/", {"text": "hi"}).status_code == 404
    assert b_client.get(f"/community/discussions/{thread.pk}/edit/").status_code == 404
    staff_b = staff_for(brand_b)
    assert "Only in A" not in staff_b.get("/backoffice/community/thread/").content.decode()
    assert staff_b.get(f"/backoffice/community/thread/{thread.pk}/change/").status_code in (302, 404)

    connection.set_tenant(brand_a)
    assert Reply.objects.filter(thread=thread).count() == 1
    a_page = Client(HTTP_HOST=host_of(brand_a)).get(f"/community/discussions/{thread.pk}/")
    assert a_page.status_code == 200 and "A&#x27;s reply" in a_page.content.decode()
