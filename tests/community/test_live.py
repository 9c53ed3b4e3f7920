"""Live help (README "Community > Live help"): presence, conversations, moderation of their
messages, the visitor's rating (a helpful one earns the helper once, even rated twice at once),
the idle sweep, the site's JSON views and their bad inputs, the admin and privacy."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from community.live import PRESENCE_SECONDS, helpers_online, online_count, presence_beat, presence_leave
from community.models import Conversation, ConversationMessage, Helper, ModerationState, ModerationTerm
from community.privacy import live as live_privacy
from community.selectors.live import Feed, feed_read, feed_start, live_online
from community.services.live import (
    conversation_close,
    conversation_rate,
    conversation_start,
    conversation_take,
    conversations_idle_close,
    helper_join,
    helper_save,
    message_send,
)
from community.services.moderation import moderation_decide
from community.tasks.live import live_sweep_all_task
from core.errors import Conflict, InvalidInput, NotFound, Refused
from core.privacy import ERASED, Person
from loyalty.models import ActivityEvent, EarningRule
from loyalty.services.ledger import ledger_sum
from loyalty.services.rules import rule_create
from tests.conftest import host_of
from tests.factories import member_make

HELD_WORD = "zorglub"


@pytest.fixture
def helper(in_a):
    helper = helper_save(member=member_make(first_name="Inès", login=True), display_name="Inès")
    yield helper
    presence_leave(helper_id=helper.pk)


@pytest.fixture
def online(helper):
    presence_beat(helper_id=helper.pk)
    return helper


def _start(text="Hello, can I park at the airport?", key="visitor-1"):
    return conversation_start(visitor_key=key, text=text, language="en", visitor_name="Lucie")


def test_a_helper_is_online_while_their_heartbeat_is_fresh(helper):
    assert not live_online()
    presence_beat(helper_id=helper.pk, now=1000.0)
    assert helpers_online(now=1000.0 + PRESENCE_SECONDS - 1) == [helper.pk]
    assert online_count(now=1000.0 + PRESENCE_SECONDS + 1) == 0
    presence_beat(helper_id=helper.pk)
    assert live_online()
    presence_leave(helper_id=helper.pk)
    assert not live_online()


def test_no_conversation_starts_while_no_helper_is_online(helper):
    with pytest.raises(Refused) as refused:
        _start()
    assert refused.value.code == "no_helper_online"
    assert not Conversation.objects.exists()


def test_live_help_turned_off_hides_it_even_with_helpers_online(online):
    from community.models import CommunitySettings

    CommunitySettings.objects.update_or_create(pk=1, defaults={"live_help_enabled": False})
    assert not live_online()


def test_a_conversation_reaches_the_helper_and_back(online):
    conversation = _start()
    assert conversation.state == Conversation.State.WAITING
    taken = conversation_take(conversation_id=conversation.pk, helper=online)
    assert (taken.state, taken.helper_id) == (Conversation.State.OPEN, online.pk)
    assert (
        conversation_take(conversation_id=conversation.pk, helper=online).pk == conversation.pk
    )  # again: same
    reply = message_send(conversation_id=conversation.pk, text="Yes, level -1.", language="en", helper=online)
    message_send(conversation_id=conversation.pk, text="Thanks!", language="en", visitor_key="visitor-1")
    messages, state = feed_read(conversation_id=conversation.pk, feed=Feed())
    assert [m["author"] for m in messages] == ["visitor", "helper", "visitor"]
    assert state == {"id": conversation.pk, "state": "open", "helper": "Inès", "rated": False}
    assert reply.state == ModerationState.PUBLISHED


def test_another_helper_cannot_take_or_write_in_a_taken_conversation(online):
    other = helper_save(member=member_make(), display_name="Other")
    conversation = _start()
    conversation_take(conversation_id=conversation.pk, helper=online)
    with pytest.raises(Conflict):
        conversation_take(conversation_id=conversation.pk, helper=other)
    with pytest.raises(NotFound):
        message_send(conversation_id=conversation.pk, text="Hi", language="en", helper=other)
    with pytest.raises(NotFound):
        message_send(conversation_id=conversation.pk, text="Hi", language="en", visitor_key="someone-else")


def test_bad_inputs_name_their_field(online):
    for text in ("", "   ", "x" * 2001):
        with pytest.raises(InvalidInput) as error:
            _start(text=text)
        assert error.value.field == "text"
    with pytest.raises(InvalidInput) as error:
        conversation_start(visitor_key="k", text="Hi", language="en", visitor_name="n" * 81)
    assert error.value.field == "name"
    with pytest.raises(InvalidInput) as error:
        helper_save(member=member_make(), display_name=" ")
    assert error.value.field == "display_name"
    conversation = _start()
    conversation_take(conversation_id=conversation.pk, helper=online)
    for rating in (0, 6, True, "5"):
        with pytest.raises(InvalidInput) as error:
            conversation_rate(
                conversation_id=conversation.pk, visitor_key="visitor-1", rating=rating, helpful=True
            )
        assert error.value.field == "rating"
    with pytest.raises(NotFound):
        message_send(conversation_id=999_999, text="Hi", language="en", visitor_key="visitor-1")


def test_a_held_message_reaches_the_other_side_only_once_published(online):
    ModerationTerm.objects.create(category="insult", term=HELD_WORD)
    conversation = _start()
    conversation_take(conversation_id=conversation.pk, helper=online)
    feed = Feed()
    feed_read(conversation_id=conversation.pk, feed=feed)
    held = message_send(
        conversation_id=conversation.pk, text=f"You {HELD_WORD}!", language="en", visitor_key="visitor-1"
    )
    assert held.state == ModerationState.HELD
    assert feed_read(conversation_id=conversation.pk, feed=feed)[0] == []
    later = message_send(
        conversation_id=conversation.pk, text="Sorry.", language="en", visitor_key="visitor-1"
    )
    assert [m["id"] for m in feed_read(conversation_id=conversation.pk, feed=feed)[0]] == [later.pk]
    moderation_decide(obj=held, publish=True, user=None)
    assert [m["id"] for m in feed_read(conversation_id=conversation.pk, feed=feed)[0]] == [held.pk]
    # A stream resuming after the last message sends the late-published one again, nothing else.
    _, late = feed_start(conversation_id=conversation.pk, last_event_id=later.pk)
    assert [m["id"] for m in late] == [held.pk]


def _helpful_rule():
    if not EarningRule.objects.filter(event_type="helpful_conversation").exists():
        from loyalty.models import EventType

        EventType.objects.get_or_create(code="helpful_conversation", defaults={"name": "Helpful"})
        rule_create(
            data={
                "name": "Helpful",
                "event_type": "helpful_conversation",
                "award_type": "fixed",
                "points": 20,
            }
        )


def test_a_helpful_rating_earns_the_helper_once(online):
    _helpful_rule()
    conversation = _start()
    conversation_take(conversation_id=conversation.pk, helper=online)
    rated = conversation_rate(
        conversation_id=conversation.pk, visitor_key="visitor-1", rating=5, helpful=True
    )
    assert rated.state == Conversation.State.CLOSED and rated.event is not None
    assert rated.event.idempotency_key == f"community:conversation:{conversation.pk}"
    assert ledger_sum(member_id=online.member_id) == 20
    again = conversation_rate(
        conversation_id=conversation.pk, visitor_key="visitor-1", rating=4, helpful=True
    )
    assert again.rating == 4 and again.event_id == rated.event_id
    assert ledger_sum(member_id=online.member_id) == 20
    assert ActivityEvent.objects.filter(member=online.member).count() == 1


def test_an_unhelpful_rating_earns_nothing_and_an_unanswered_one_is_refused(online):
    _helpful_rule()
    conversation = _start()
    with pytest.raises(Refused):
        conversation_rate(conversation_id=conversation.pk, visitor_key="visitor-1", rating=5, helpful=True)
    conversation_take(conversation_id=conversation.pk, helper=online)
    with pytest.raises(NotFound):
        conversation_rate(
            conversation_id=conversation.pk, visitor_key="not-the-visitor", rating=5, helpful=True
        )
    rated = conversation_rate(
        conversation_id=conversation.pk, visitor_key="visitor-1", rating=2, helpful=False
    )
    assert rated.event is None and ledger_sum(member_id=online.member_id) == 0


def test_two_helpful_ratings_at_once_earn_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    _helpful_rule()
    helper = helper_save(member=member_make(), display_name="Inès")
    presence_beat(helper_id=helper.pk)
    try:
        conversation = _start()
        conversation_take(conversation_id=conversation.pk, helper=helper)
    finally:
        presence_leave(helper_id=helper.pk)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def rate() -> None:
        try:
            connection.set_tenant(fresh_brand)
            barrier.wait()
            conversation_rate(
                conversation_id=conversation.pk, visitor_key="visitor-1", rating=5, helpful=True
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=rate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (
        ActivityEvent.objects.filter(idempotency_key=f"community:conversation:{conversation.pk}").count() == 1
    )
    assert ledger_sum(member_id=helper.member_id) == 20


def test_the_sweep_closes_idle_conversations_only(online):
    idle, busy = _start(key="v-idle"), _start(key="v-busy")
    past = timezone.now() - timedelta(hours=1)
    Conversation.objects.filter(pk__in=[idle.pk, busy.pk]).update(started_at=past)
    ConversationMessage.objects.filter(conversation=idle).update(created_at=past)
    assert conversations_idle_close() == 1
    assert Conversation.objects.get(pk=idle.pk).state == Conversation.State.CLOSED
    assert Conversation.objects.get(pk=busy.pk).state == Conversation.State.WAITING
    assert conversations_idle_close() == 0


def test_the_sweep_task_runs_in_every_brand(online):
    conversation = _start()
    Conversation.objects.filter(pk=conversation.pk).update(started_at=timezone.now() - timedelta(hours=2))
    ConversationMessage.objects.update(created_at=timezone.now() - timedelta(hours=2))
    assert live_sweep_all_task.apply().get() >= 1
    assert Conversation.objects.get(pk=conversation.pk).state == Conversation.State.CLOSED


def test_either_side_may_close_and_nobody_writes_after(online):
    conversation = _start()
    conversation_take(conversation_id=conversation.pk, helper=online)
    conversation_close(conversation_id=conversation.pk, helper=online)
    with pytest.raises(Refused):
        message_send(conversation_id=conversation.pk, text="Hi", language="en", visitor_key="visitor-1")
    with pytest.raises(NotFound):
        conversation_close(conversation_id=conversation.pk, visitor_key="stranger")


def test_a_member_joins_as_helper_only_with_enough_best_answers(in_a):
    member = member_make()
    with pytest.raises(Refused) as refused:
        helper_join(member=member, display_name="Me")
    assert refused.value.code == "helper_not_eligible"
    assert not Helper.objects.filter(member=member).exists()


# --- the site's views ----------------------------------------------------------------------------


def _visitor(brand) -> Client:
    return Client(HTTP_HOST=host_of(brand))


def test_the_status_says_online_and_gives_the_window_its_words(online, brand_a):
    client = _visitor(brand_a)
    body = client.get("/community/live/status").json()
    assert body["online"] is True and body["conversation"] is None
    assert body["texts"]["title"] == "Ask a member" and body["csrf"]
    presence_leave(helper_id=online.pk)
    body = client.get("/community/live/status").json()
    assert body == {"online": False, "conversation": None, "questions_url": body["questions_url"]}


def test_a_visitor_starts_sends_and_rates_through_the_site(online, brand_a):
    client = _visitor(brand_a)
    started = client.post("/community/live/start", {"text": "Hello?", "name": "Lucie"})
    assert started.status_code == 200, started.content
    conversation_id = started.json()["conversation"]["id"]
    assert client.get("/community/live/status").json()["conversation"]["id"] == conversation_id
    assert client.post(f"/community/live/c/{conversation_id}/send", {"text": ""}).json()["field"] == "text"
    assert client.post(f"/community/live/c/{conversation_id}/send", {"text": "More"}).status_code == 200
    stranger = _visitor(brand_a)
    assert stranger.post(f"/community/live/c/{conversation_id}/send", {"text": "x"}).status_code == 404
    assert stranger.get(f"/community/live/c/{conversation_id}/events").status_code == 404
    conversation_take(conversation_id=conversation_id, helper=online)
    bad = client.post(f"/community/live/c/{conversation_id}/rate", {"rating": "9", "helpful": "yes"})
    assert bad.status_code == 400 and bad.json()["field"] == "rating"
    rated = client.post(f"/community/live/c/{conversation_id}/rate", {"rating": "5", "helpful": "yes"})
    assert rated.json()["conversation"] == {
        "id": conversation_id,
        "state": "closed",
        "helper": "Inès",
        "rated": True,
    }


def test_the_site_refuses_to_start_when_nobody_is_online(helper, brand_a):
    response = _visitor(brand_a).post("/community/live/start", {"text": "Hello?"})
    assert response.status_code == 409 and response.json()["code"] == "no_helper_online"


def test_the_helper_page_and_its_actions_are_for_helpers(helper, brand_a):
    member = member_make(login=True)
    client = _visitor(brand_a)
    client.force_login(member.user)
    page = client.get("/community/live/helper/")
    assert page.status_code == 200 and b"data-live-helper" not in page.content
    assert client.post("/community/live/helper/presence", {"online": "yes"}).status_code == 404
    assert client.post("/community/live/helper/join", {"display_name": "Me"}).status_code == 302
    assert not Helper.objects.filter(member=member).exists()
    client.force_login(helper.member.user)
    assert b"data-live-helper" in client.get("/community/live/helper/").content
    assert client.post("/community/live/helper/presence", {"online": "yes"}).json() == {"online": True}
    assert helpers_online() == [helper.pk]
    client.post("/community/live/helper/presence", {"online": "no"})
    assert helpers_online() == []
    assert _visitor(brand_a).get("/community/live/helper/").status_code == 302  # log in first


def test_a_deactivated_helper_goes_offline_at_once(online, brand_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        helper_save(member=online.member, display_name="Inès", is_active=False)
    assert helpers_online() == []


# --- admin and privacy ---------------------------------------------------------------------------


def test_the_admin_lists_helpers_and_conversations_read_only(staff_a, online):
    conversation = _start()
    conversation_take(conversation_id=conversation.pk, helper=online)
    assert b"In\xc3\xa8s" in staff_a.get("/backoffice/community/helper/").content
    page = staff_a.get(f"/backoffice/community/conversation/{conversation.pk}/change/")
    assert page.status_code == 200 and b"Hello, can I park at the airport?" in page.content
    assert staff_a.get("/backoffice/community/conversation/add/").status_code == 403
    member = member_make(first_name="Zoé")
    added = staff_a.post(
        "/backoffice/community/helper/add/",
        {"member": member.pk, "display_name": "Zoé", "bio": "", "is_active": "on"},
    )
    assert added.status_code == 302, added.content[:3000]
    assert Helper.objects.get(member=member).display_name == "Zoé"


def test_privacy_exports_and_erases_the_members_conversations(online):
    visitor = member_make(first_name="Lucie", last_name="Verdier", email="lucie@example.com")
    conversation = conversation_start(
        visitor_key="v", text="I am Lucie Verdier", language="en", visitor_name="Lucie", member=visitor
    )
    conversation_take(conversation_id=conversation.pk, helper=online)
    message_send(conversation_id=conversation.pk, text="Hello Lucie Verdier", language="en", helper=online)
    exported = live_privacy.export(visitor)
    assert exported["conversations"][0]["messages"][0]["text"] == "I am Lucie Verdier"
    assert live_privacy.export(online.member)["helper"]["display_name"] == "Inès"
    live_privacy.erase(visitor, Person.of(texts=["Lucie", "Verdier"], unique_texts=["Lucie Verdier"]))
    texts = list(ConversationMessage.objects.filter(conversation=conversation).values_list("text", flat=True))
    assert texts[0] == ERASED and "Verdier" not in texts[1]
    assert Conversation.objects.get(pk=conversation.pk).visitor_name == ""
    live_privacy.erase(online.member, Person.of(texts=["Inès"], unique_texts=[]))
    assert Helper.objects.get(pk=online.pk).is_active is False
    assert helpers_online() == []


def test_the_demo_seeds_a_helper_with_a_login_and_a_helpful_conversation_once(in_a):
    from community.demo.live import seed

    seed(slug="citycar")
    seed(slug="citycar")
    helper = Helper.objects.select_related("member__user").get()
    assert helper.member.user.username == "helper@citycar.example"
    conversation = Conversation.objects.get()
    assert (conversation.helpful, conversation.state) == (True, "closed") and conversation.event_id
    assert ledger_sum(member_id=helper.member_id) == 20
    seed(slug="tabac-pro")  # no helper there
    assert Helper.objects.count() == 1
