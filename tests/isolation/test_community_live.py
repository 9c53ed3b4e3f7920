"""Tenant isolation of live help: brand A's helpers are never online on brand B, an id of A's
conversation gives nothing on B's host (send, close, rate, take, its stream), A's session is nobody
on B (and B's on A), and B's backoffice lists none of A's conversations or helpers."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.test import Client

from community.live import helpers_online, online_count, presence_beat, presence_leave
from community.models import Conversation
from community.selectors.live import live_online
from community.services.live import conversation_start, conversation_take, helper_save
from community.site.live import SESSION_TOKEN
from tests.conftest import host_of
from tests.factories import member_make

TOKEN = "same-token-in-both-brands"


@pytest.fixture
def a_conversation(db, brand_a, brand_b):
    """A's helper online and a conversation of A's visitor; B has no conversation of that id."""
    connection.set_tenant(brand_a)
    helper = helper_save(member=member_make("iso-live-a", login=True), display_name="Only in A")
    presence_beat(helper_id=helper.pk)
    key = hashlib.sha256(TOKEN.encode()).hexdigest()
    conversation = conversation_start(visitor_key=key, text="Secret of A", language="en")
    conversation_take(conversation_id=conversation.pk, helper=helper)
    connection.set_tenant(brand_b)
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    yield helper, conversation
    connection.set_tenant(brand_a)
    presence_leave(helper_id=helper.pk)


def _visitor(brand, token: str = TOKEN) -> Client:
    """A visitor of `brand` whose session holds `token` (the same one A's visitor has)."""
    client = Client(HTTP_HOST=host_of(brand))
    connection.set_tenant(brand)
    session = client.session
    session[SESSION_TOKEN] = token
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client


def test_as_helpers_are_never_online_on_b(a_conversation, brand_a, brand_b):
    connection.set_tenant(brand_b)
    assert helpers_online() == [] and online_count() == 0 and not live_online()
    assert Client(HTTP_HOST=host_of(brand_b)).get("/community/live/status").json()["online"] is False
    assert Client(HTTP_HOST=host_of(brand_a)).get("/community/live/status").json()["online"] is True


def test_an_id_of_as_conversation_gives_nothing_on_b(a_conversation, brand_a, brand_b):
    _helper, conversation = a_conversation
    b_visitor = _visitor(brand_b)  # even with the same token in their session
    base = f"/community/live/c/{conversation.pk}"
    assert b_visitor.get("/community/live/status").json()["conversation"] is None
    assert b_visitor.post(f"{base}/send", {"text": "hello"}).status_code == 404
    assert b_visitor.post(f"{base}/close").status_code == 404
    assert b_visitor.post(f"{base}/rate", {"rating": "5", "helpful": "yes"}).status_code == 404
    assert b_visitor.get(f"{base}/events").status_code == 404
    b_helper_member = member_make("iso-live-b", login=True)
    helper_save(member=b_helper_member, display_name="B's helper")
    b_helper = Client(HTTP_HOST=host_of(brand_b))
    b_helper.force_login(b_helper_member.user)
    assert b_helper.post(f"{base}/take").status_code == 404
    assert b_helper.get(f"{base}/events?as=helper").status_code == 404
    assert b"Secret of A" not in b_helper.get("/community/live/helper/").content

    connection.set_tenant(brand_a)
    row = Conversation.objects.get(pk=conversation.pk)
    assert (row.state, row.rating, row.messages.count()) == ("open", None, 1)


def test_the_stream_of_as_conversation_refuses_bs_session(a_conversation, brand_a, brand_b):
    _helper, conversation = a_conversation
    path = f"/community/live/c/{conversation.pk}/events"
    # B's session (holding the same token) presented on A's host: no such session in A.
    b_visitor = _visitor(brand_b)
    b_on_a = Client(HTTP_HOST=host_of(brand_a))
    b_on_a.cookies["sessionid"] = b_visitor.cookies["sessionid"].value
    assert b_on_a.get(path).status_code == 404
    # A's own visitor session on B's host is nobody there either.
    a_visitor = _visitor(brand_a)
    a_on_b = Client(HTTP_HOST=host_of(brand_b))
    a_on_b.cookies["sessionid"] = a_visitor.cookies["sessionid"].value  # a copy: B deletes its own
    assert a_on_b.get(path).status_code == 404
    # (On its own host, A's visitor gets the stream: the refusals above are the brands'.)
    response = a_visitor.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    response.close()


def test_bs_backoffice_lists_none_of_as_conversations(a_conversation, brand_b, staff_for):
    _helper, conversation = a_conversation
    staff_b = staff_for(brand_b)
    assert b"Only in A" not in staff_b.get("/backoffice/community/helper/").content
    assert staff_b.get(f"/backoffice/community/conversation/{conversation.pk}/change/").status_code in (
        302,
        404,
    )
