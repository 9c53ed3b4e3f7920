"""Discussions: threads and replies moderated as every text, locked threads, editing one's own
within the time, staff pin and lock, and the VIP forum that only who may enter its club space
reads (list and direct URL) and writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from clubs.models import Space
from community.models import ModerationState, ModerationTerm, Reply, Thread
from community.selectors.discussions import thread_for, threads_visible
from community.services.discussions import (
    EDIT_WINDOW,
    reply_edit,
    reply_post,
    thread_create,
    thread_edit,
    thread_staff_set,
)
from core.errors import InvalidInput, NotFound, Refused
from tests.conftest import host_of
from tests.factories import member_make


@pytest.fixture
def brand(db, brand_a):
    connection.set_tenant(brand_a)
    return brand_a


@pytest.fixture
def vip_space(brand):
    return Space.objects.create(slug="vip-forum", name="VIP forum", entry=Space.Entry.VIP)


def _client(brand, member) -> Client:
    client = Client(HTTP_HOST=host_of(brand))
    client.force_login(member.user)
    return client


def test_a_thread_and_its_replies_are_published_at_once(brand):
    author, other = member_make("d-1", first_name="Ana", last_name="Morel"), member_make("d-2")
    thread = thread_create(member=author, title="  Best trip  ", text="Paris at night, smooth.")
    assert thread.state == ModerationState.PUBLISHED and thread.published_at and thread.title == "Best trip"
    reply = reply_post(thread_id=thread.pk, member=other, text="Agreed, the new cars are quiet.")
    assert reply.state == ModerationState.PUBLISHED
    listed = threads_visible(member=None).get(pk=thread.pk)
    assert listed.replies_published == 1


def test_a_held_text_is_seen_by_its_author_only_with_its_state(brand):
    ModerationTerm.objects.create(language="", category="insult", term="zorglub")
    author, other = member_make("d-1", login=True), member_make("d-2", login=True)
    held = thread_create(member=author, title="Hello", text="You zorglub!")
    assert held.state == ModerationState.HELD and held.published_at is None
    assert thread_for(thread_id=held.pk, member=other) is None
    assert not threads_visible(member=other).filter(pk=held.pk).exists()
    assert _client(brand, other).get(f"/community/discussions/{held.pk}/").status_code == 404
    page = _client(brand, author).get(f"/community/discussions/{held.pk}/")
    assert page.status_code == 200 and "Waiting for a moderator" in page.content.decode()
    # A reply to a held thread is refused: nobody else may see the thread.
    with pytest.raises(NotFound):
        reply_post(thread_id=held.pk, member=other, text="hi")
    # A held reply of a published thread: counted nowhere until published.
    thread = thread_create(member=author, title="Open", text="Talk")
    reply = reply_post(thread_id=thread.pk, member=other, text="zorglub")
    assert reply.state == ModerationState.HELD
    assert threads_visible(member=author).get(pk=thread.pk).replies_published == 0
    assert (
        "zorglub" not in _client(brand, author).get(f"/community/discussions/{thread.pk}/").content.decode()
    )
    assert "zorglub" in _client(brand, other).get(f"/community/discussions/{thread.pk}/").content.decode()


def test_a_locked_thread_refuses_replies(brand):
    author, other = member_make("d-1"), member_make("d-2", login=True)
    thread = thread_create(member=author, title="Closed soon", text="...")
    thread_staff_set(thread_id=thread.pk, locked=True, pinned=True)
    with pytest.raises(Refused) as refused:
        reply_post(thread_id=thread.pk, member=other, text="late")
    assert refused.value.code == "thread_locked"
    response = _client(brand, other).post(f"/community/discussions/{thread.pk}/reply/", {"text": "late"})
    assert response.status_code == 400 and "closed to replies" in response.content.decode()
    assert not Reply.objects.filter(thread=thread).exists()
    thread_staff_set(thread_id=thread.pk, locked=False)
    assert reply_post(thread_id=thread.pk, member=other, text="now").pk


def test_an_author_edits_their_own_text_within_the_time_only(brand):
    author, other = member_make("d-1"), member_make("d-2")
    thread = thread_create(member=author, title="Typo", text="Teh car")
    assert thread_edit(thread_id=thread.pk, member=author, title="Typo", text="The car").text == "The car"
    with pytest.raises(NotFound):
        thread_edit(thread_id=thread.pk, member=other, title="Mine", text="now")
    reply = reply_post(thread_id=thread.pk, member=other, text="ok")
    later = timezone.now() + EDIT_WINDOW + timedelta(minutes=1)
    with pytest.raises(Refused) as refused:
        reply_edit(reply_id=reply.pk, member=other, text="changed", now=later)
    assert refused.value.code == "edit_window_over"
    ModerationTerm.objects.create(language="", category="insult", term="zorglub")
    edited = reply_edit(reply_id=reply.pk, member=other, text="zorglub")
    assert edited.state == ModerationState.HELD, "an edit is moderated again"


@pytest.mark.parametrize(
    ("title", "text", "field"),
    [("", "text", "title"), ("   ", "text", "title"), ("t", "", "text"), ("x" * 161, "text", "title")],
)
def test_bad_inputs_name_their_field(brand, title, text, field):
    with pytest.raises(InvalidInput) as error:
        thread_create(member=member_make("d-1"), title=title, text=text)
    assert error.value.field == field
    assert not Thread.objects.exists()


def test_bad_inputs_on_the_site_are_form_errors(brand):
    member = member_make("d-1", login=True)
    client = _client(brand, member)
    response = client.post("/community/discussions/new/", {"title": "", "text": "x", "kind": "discussion"})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = client.post("/community/discussions/new/", {"title": "t", "text": "x", "kind": "nope"})
    assert "Select a valid choice" in response.content.decode()
    assert not Thread.objects.exists()
    response = client.post(
        "/community/discussions/new/", {"title": "Hi", "text": "all", "kind": "testimonial"}
    )
    thread = Thread.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/community/discussions/{thread.pk}/"
    assert thread.kind == "testimonial"
    assert client.get("/community/discussions/9999999/").status_code == 404


def test_a_vip_forum_is_read_and_written_only_by_who_may_enter(brand, vip_space):
    vip = member_make("vip-1", login=True, is_vip=True, first_name="Claire", last_name="Dupuis")
    other = member_make("d-2", login=True)
    thread = thread_create(
        member=vip, title="Pauillac 2019 allocation", text="Who got some?", space_id=vip_space.pk
    )
    open_thread = thread_create(member=other, title="Open to all", text="hi")

    assert not threads_visible(member=other).filter(pk=thread.pk).exists()
    assert not threads_visible(member=None).filter(pk=thread.pk).exists()
    assert threads_visible(member=vip).filter(pk=thread.pk).exists()
    other_client = _client(brand, other)
    listing = other_client.get("/community/discussions/").content.decode()
    assert "Pauillac" not in listing and "Open to all" in listing
    assert other_client.get(f"/community/discussions/{thread.pk}/").status_code == 404
    assert other_client.get("/community/discussions/?space=vip-forum").status_code == 404
    assert Client(HTTP_HOST=host_of(brand)).get(f"/community/discussions/{thread.pk}/").status_code == 404
    assert (
        other_client.post(f"/community/discussions/{thread.pk}/reply/", {"text": "me too"}).status_code == 404
    )
    with pytest.raises(Refused) as refused:
        thread_create(member=other, title="Sneak in", text="x", space_id=vip_space.pk)
    assert refused.value.code == "space_closed"
    with pytest.raises(Refused):
        reply_post(thread_id=thread.pk, member=other, text="me too")

    vip_client = _client(brand, vip)
    forum = vip_client.get("/community/discussions/?space=vip-forum").content.decode()
    assert "Pauillac" in forum and "Open to all" not in forum and "Claire D." in forum
    assert vip_client.get(f"/community/discussions/{thread.pk}/").status_code == 200
    assert (
        vip_client.post(f"/community/discussions/{thread.pk}/reply/", {"text": "Two cases"}).status_code
        == 302
    )
    # Losing the VIP status closes the forum to them, their own thread included.
    type(vip).objects.filter(pk=vip.pk).update(is_vip=False, vip_since=None, vip_source="")
    assert vip_client.get(f"/community/discussions/{thread.pk}/").status_code == 404
    assert vip_client.get(f"/community/discussions/{open_thread.pk}/").status_code == 200


def test_staff_pin_and_lock_from_the_backoffice(brand, staff_a):
    thread = thread_create(member=member_make("d-1"), title="Pin me", text="x")
    assert staff_a.get("/backoffice/community/thread/").status_code == 200
    assert staff_a.get(f"/backoffice/community/thread/{thread.pk}/change/").status_code == 200
    response = staff_a.post(
        "/backoffice/community/thread/", {"action": "pin", "_selected_action": [thread.pk]}
    )
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.is_pinned and not thread.is_locked
    staff_a.post("/backoffice/community/thread/", {"action": "lock", "_selected_action": [thread.pk]})
    thread.refresh_from_db()
    assert thread.is_locked


def test_the_members_texts_are_exported_and_erased(brand):
    from community.privacy import discussions as privacy
    from core.privacy import ERASED, Person

    author = member_make("d-1", first_name="Ana", last_name="Morel", email="ana.morel@example.com")
    other = member_make("d-2")
    thread = thread_create(member=author, title="My trip", text="Smooth ride")
    quoting = reply_post(thread_id=thread.pk, member=other, text="Write to ana.morel@example.com, she knows")
    own = reply_post(thread_id=thread.pk, member=author, text="Thanks!")
    exported = privacy.export(author)
    assert [row["title"] for row in exported["threads"]] == ["My trip"]
    assert [row["text"] for row in exported["replies"]] == ["Thanks!"]

    privacy.erase(author, Person.of(texts=["Ana", "Morel"], unique_texts=["ana.morel@example.com"]))
    thread.refresh_from_db(), own.refresh_from_db(), quoting.refresh_from_db()
    assert thread.title == ERASED and thread.text == ERASED and own.text == ERASED
    assert quoting.text == f"Write to {ERASED}, she knows"
