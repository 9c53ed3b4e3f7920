"""Live help's event streams under granian serving the ASGI app (tests/community/live_server.py):
a message reaches the other side as it is sent, a held one once staff publish it, a reconnecting
stream resumes after its Last-Event-ID, another session gets nothing, and the helper's own stream
keeps them online and shows who waits."""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection

from community.live import PRESENCE_SECONDS, helpers_online, presence_beat, presence_leave
from community.models import ModerationTerm
from community.services.live import conversation_start, conversation_take, helper_save, message_send
from community.services.moderation import moderation_decide
from community.site.live import SESSION_TOKEN
from tests.community.live_server import SseReader, asgi_served, session_cookie
from tests.conftest import host_of
from tests.factories import member_make


@pytest.fixture(scope="module")
def asgi_port(django_db_setup):
    with asgi_served() as port:
        yield port


@pytest.fixture
def live(fresh_brand):
    """A committed brand with an online helper and a visitor's session (its cookie, its key)."""
    import hashlib

    from django.contrib.sessions.backends.db import SessionStore

    connection.set_tenant(fresh_brand)
    helper = helper_save(member=member_make(login=True), display_name="Inès")
    presence_beat(helper_id=helper.pk)
    session = SessionStore()
    session[SESSION_TOKEN] = "token-of-the-visitor"
    session.save()
    key = hashlib.sha256(b"token-of-the-visitor").hexdigest()
    yield fresh_brand, helper, session.session_key, key
    presence_leave(helper_id=helper.pk)


def _stream(port, brand, conversation_id, cookie, **headers):
    return SseReader(
        port, host_of(brand), f"/community/live/c/{conversation_id}/events", cookie=cookie, **headers
    )


def test_a_message_reaches_the_visitor_live_and_a_resumed_stream_sends_only_what_is_new(asgi_port, live):
    brand, helper, cookie, key = live
    conversation = conversation_start(visitor_key=key, text="Hello?", language="en")
    stream = _stream(asgi_port, brand, conversation.pk, cookie)
    try:
        assert stream.status == 200
        assert stream.response.getheader("Content-Type").startswith("text/event-stream")
        first = stream.next_event()
        assert first["event"] == "message" and json.loads(first["data"])["text"] == "Hello?"
        assert json.loads(stream.next_event()["data"])["state"] == "waiting"
        conversation_take(conversation_id=conversation.pk, helper=helper)
        assert json.loads(stream.next_event()["data"]) == {
            "id": conversation.pk,
            "state": "open",
            "helper": "Inès",
            "rated": False,
        }
        reply = message_send(conversation_id=conversation.pk, text="Yes!", language="en", helper=helper)
        got = stream.next_event()
        assert (got["id"], json.loads(got["data"])["text"]) == (str(reply.pk), "Yes!")
    finally:
        stream.close()
    newer = message_send(conversation_id=conversation.pk, text="And more.", language="en", helper=helper)
    resumed = _stream(asgi_port, brand, conversation.pk, cookie, last_event_id=str(reply.pk))
    try:
        got = resumed.next_event()
        assert (got["event"], got["id"]) == ("message", str(newer.pk))
        assert resumed.next_event()["event"] == "state"
    finally:
        resumed.close()


def test_a_held_message_is_streamed_once_staff_publish_it(asgi_port, live):
    brand, helper, cookie, key = live
    ModerationTerm.objects.create(category="insult", term="zorglub")
    conversation = conversation_start(visitor_key=key, text="Hello?", language="en")
    conversation_take(conversation_id=conversation.pk, helper=helper)
    held = message_send(conversation_id=conversation.pk, text="zorglub", language="en", helper=helper)
    stream = _stream(asgi_port, brand, conversation.pk, cookie)
    try:
        assert stream.next_event()["event"] == "message"  # "Hello?"
        assert stream.next_event()["event"] == "state"
        moderation_decide(obj=held, publish=True, user=None)
        got = stream.next_event()
        assert (got["id"], json.loads(got["data"])["text"]) == (str(held.pk), "zorglub")
    finally:
        stream.close()


def test_another_session_gets_no_stream(asgi_port, live):
    brand, _helper, _cookie, key = live
    conversation = conversation_start(visitor_key=key, text="Hello?", language="en")
    stranger = _stream(asgi_port, brand, conversation.pk, session_cookie(brand))
    assert stranger.status == 404
    stranger.close()
    # A helper sees a waiting conversation (to take it); a member who is no helper does not.
    member = member_make(login=True)
    as_member = SseReader(
        asgi_port,
        host_of(brand),
        f"/community/live/c/{conversation.pk}/events?as=helper",
        cookie=session_cookie(brand, member.user),
    )
    assert as_member.status == 404
    as_member.close()


def _until_ping(stream: SseReader) -> None:
    while stream.response.readline() != b": ping\n":
        pass


def test_the_helpers_stream_shows_who_waits_and_keeps_them_online(asgi_port, live):
    brand, helper, _cookie, key = live
    presence_leave(helper_id=helper.pk)
    connection.set_tenant(brand)
    helper_cookie = session_cookie(brand, helper.member.user)
    stream = SseReader(
        asgi_port, host_of(brand), "/community/live/helper/events?online=yes", cookie=helper_cookie
    )
    try:
        assert json.loads(stream.next_event()["data"]) == {"waiting": [], "mine": []}
        presence_beat(helper_id=helper.pk)  # the page's POST on going online
        conversation = conversation_start(
            visitor_key=key, text="Anyone there?", language="en", visitor_name="Lucie"
        )
        queue = json.loads(stream.next_event()["data"])
        assert [(item["id"], item["visitor"], item["first"]) for item in queue["waiting"]] == [
            (conversation.pk, "Lucie", "Anyone there?")
        ]
        # Each ping is the helper's heartbeat: an almost stale presence is fresh again after it...
        presence_beat(helper_id=helper.pk, now=time.time() - PRESENCE_SECONDS + 12)
        _until_ping(stream)
        assert helpers_online(now=time.time() + 15) == [helper.pk]
        # ...but a helper who went offline stays so.
        presence_leave(helper_id=helper.pk)
        _until_ping(stream)
        assert helpers_online() == []
    finally:
        stream.close()
