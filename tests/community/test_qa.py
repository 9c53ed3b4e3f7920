"""Questions and answers (README "Community > Q&A"): members and visitors ask (visitors limited per
address), members answer (moderated, the asker told), the asker or staff marks the best answer,
which earns its author once; the site's pages, the helpers' leaderboard and the backoffice."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from community.models import Answer, ModerationTerm, Question, Subject
from community.selectors.qa import helpers_leaderboard
from community.services.moderation import moderation_decide
from community.services.qa import (
    VISITOR_QUESTIONS_PER_HOUR,
    answer_post,
    best_answer_event_key,
    best_answer_mark,
    question_ask,
)
from core.errors import InvalidInput, NotFound, Refused
from loyalty.models import ActivityEvent, EventType, Member
from loyalty.services.ledger import ledger_sum
from loyalty.services.members import consent_set
from loyalty.services.rules import rule_create
from messaging.models import Message
from messaging.triggers import trigger_save
from tests.conftest import host_of
from tests.factories import member_make, staff_make, template_make
from tests.support import run_concurrently


def ip() -> str:
    """An address of the test's own: the visitors' counter lives in the cache between tests."""
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


@pytest.fixture
def people(in_a):
    """An asker and two helpers; best answers pay 30 points."""
    EventType.objects.get_or_create(code="best_answer", defaults={"name": "Best answer"})
    rule_create(
        data={"name": "Best answer", "event_type": "best_answer", "award_type": "fixed", "points": 30}
    )
    return (
        member_make("asker", first_name="Ana", last_name="Martin"),
        member_make("helper-1", first_name="Bruno", last_name="Lefort"),
        member_make("helper-2", first_name="Chloé", last_name="Marchand"),
    )


def asked(asker: Member, **extra) -> Question:
    return question_ask(member=asker, title="Can I leave a car at the airport?", **extra)


# --- asking --------------------------------------------------------------------------------------


def test_a_member_asks_and_the_question_is_published(people):
    question = asked(people[0], text="On Friday morning")
    assert question.state == "published" and question.published_at and question.member == people[0]
    assert question.last_activity_at is not None


def test_a_visitor_asks_with_a_name_and_an_optional_email(in_a):
    question = question_ask(
        visitor_name="Marc", visitor_email="marc@example.com", title="Do I need a card?", ip=ip()
    )
    assert (question.member, question.visitor_name, question.state) == (None, "Marc", "published")
    assert question_ask(visitor_name="Léa", title="Zoé ?", language="fr", ip=ip()).language == "fr"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 161}, "title"),
        ({"text": "x" * 5001}, "text"),
        ({"visitor_name": ""}, "visitor_name"),
        ({"visitor_email": "not an address"}, "visitor_email"),
        ({"subject_id": 999999}, "subject"),
    ],
)
def test_a_bad_question_is_refused_naming_the_field(in_a, values, field):
    with pytest.raises(InvalidInput) as error:
        question_ask(**{"visitor_name": "Marc", "title": "A question?", "ip": ip(), **values})
    assert field in error.value.errors
    assert not Question.objects.exists()


def test_visitors_are_limited_per_address(in_a):
    address = ip()
    for index in range(VISITOR_QUESTIONS_PER_HOUR):
        question_ask(visitor_name="Marc", title=f"Question {index}", ip=address)
    with pytest.raises(Refused) as error:
        question_ask(visitor_name="Marc", title="One more", ip=address)
    assert error.value.code == "too_many_questions"
    question_ask(visitor_name="Léa", title="Another address", ip=ip())
    question_ask(member=member_make(), title="Members are not limited")
    assert Question.objects.count() == VISITOR_QUESTIONS_PER_HOUR + 2


def test_a_question_with_a_listed_word_is_held(in_a):
    ModerationTerm.objects.create(language="", category="insult", term="crapaud")
    question = question_ask(member=member_make(), title="Why is this crapaud of a car so slow?")
    assert question.state == "held" and question.published_at is None


# --- answering -----------------------------------------------------------------------------------


def test_an_answer_is_counted_and_the_asker_told_once(people, django_capture_on_commit_callbacks):
    asker, helper, _ = people
    template_make("answered", channel="email", subject="Answered", body="A member answered")
    trigger_save(
        data={"kind": "question_answered", "channel": "email", "template_code": "answered", "is_active": True}
    )
    consent_set(member=asker, consents={"email": True}, source="test")
    Member.objects.filter(pk=asker.pk).update(email="asker@example.com")
    asker.refresh_from_db()
    question = asked(asker)
    with django_capture_on_commit_callbacks(execute=True):
        answer = answer_post(question_id=question.pk, member=helper, text="Yes, level -1 of P2.")
        answer_post(question_id=question.pk, member=asker, text="Thanks!")  # the asker's own: not told
    assert answer.state == "published"
    question.refresh_from_db()
    assert question.answer_count == 2
    assert Message.objects.filter(member=asker, trigger="question_answered").count() == 1


def test_a_held_answer_counts_and_tells_once_staff_publish_it(people, django_capture_on_commit_callbacks):
    asker, helper, _ = people
    ModerationTerm.objects.create(language="", category="insult", term="crapaud")
    question = asked(asker)
    with django_capture_on_commit_callbacks(execute=True):
        answer = answer_post(question_id=question.pk, member=helper, text="Only a crapaud would ask")
    question.refresh_from_db()
    assert answer.state == "held" and question.answer_count == 0
    with django_capture_on_commit_callbacks(execute=True):
        moderation_decide(obj=answer, publish=True, user=None)
    question.refresh_from_db()
    assert question.answer_count == 1


def test_bad_answers_are_refused(people):
    asker, helper, _ = people
    question = asked(asker)
    with pytest.raises(InvalidInput) as error:
        answer_post(question_id=question.pk, member=helper, text="  ")
    assert error.value.field == "text"
    with pytest.raises(NotFound):
        answer_post(question_id=999999, member=helper, text="Hello")
    held = Question.objects.filter(pk=question.pk)
    held.update(state="held", published_at=None)
    with pytest.raises(NotFound):
        answer_post(question_id=question.pk, member=helper, text="Not while it is held")


# --- the best answer -----------------------------------------------------------------------------


def test_the_best_answer_earns_once_and_can_move(people):
    asker, first_helper, second_helper = people
    question = asked(asker)
    first = answer_post(question_id=question.pk, member=first_helper, text="Level -1 of P2")
    second = answer_post(question_id=question.pk, member=second_helper, text="Ask the app")
    best_answer_mark(question_id=question.pk, answer_id=first.pk, by_member=asker)
    best_answer_mark(question_id=question.pk, answer_id=first.pk, by_member=asker)  # again: nothing
    best_answer_mark(question_id=question.pk, answer_id=second.pk, by_member=asker)
    best_answer_mark(question_id=question.pk, answer_id=first.pk, by_member=asker)  # back: no second pay
    question.refresh_from_db()
    assert question.best_answer == first
    for helper, answer in ((first_helper, first), (second_helper, second)):
        helper.refresh_from_db()
        assert helper.balance == 30 == ledger_sum(member_id=helper.pk)
        event = ActivityEvent.objects.get(member=helper)
        assert event.idempotency_key == best_answer_event_key(answer.pk) and event.type == "best_answer"
        assert Answer.objects.get(pk=answer.pk).event == event


def test_only_the_asker_or_staff_with_the_right_mark_the_best_answer(people):
    asker, helper, other = people
    question = asked(asker)
    answer = answer_post(question_id=question.pk, member=helper, text="Level -1")
    own = answer_post(question_id=question.pk, member=asker, text="I found it myself")
    with pytest.raises(Refused) as error:
        best_answer_mark(question_id=question.pk, answer_id=answer.pk, by_member=other)
    assert error.value.code == "not_the_asker"
    with pytest.raises(Refused) as error:
        best_answer_mark(question_id=question.pk, answer_id=own.pk, by_member=asker)
    assert error.value.code == "own_answer"
    with pytest.raises(Refused):
        best_answer_mark(question_id=question.pk, answer_id=answer.pk, by_user=staff_make("analyst"))
    with pytest.raises(InvalidInput):
        best_answer_mark(question_id=question.pk, answer_id=answer.pk)
    assert not ActivityEvent.objects.exists()
    best_answer_mark(question_id=question.pk, answer_id=answer.pk, by_user=staff_make("support"))
    assert Question.objects.get(pk=question.pk).best_answer == answer


def test_a_held_answer_or_another_questions_cannot_be_best(people):
    asker, helper, _ = people
    question, other = asked(asker), asked(asker, text="another")
    elsewhere = answer_post(question_id=other.pk, member=helper, text="Elsewhere")
    held = answer_post(question_id=question.pk, member=helper, text="Held")
    Answer.objects.filter(pk=held.pk).update(state="held", published_at=None)
    for answer in (elsewhere, held):
        with pytest.raises(NotFound):
            best_answer_mark(question_id=question.pk, answer_id=answer.pk, by_member=asker)
    assert Question.objects.get(pk=question.pk).best_answer is None


def test_marking_concurrently_earns_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    EventType.objects.get_or_create(code="best_answer", defaults={"name": "Best answer"})
    rule_create(
        data={"name": "Best answer", "event_type": "best_answer", "award_type": "fixed", "points": 30}
    )
    asker, helper = member_make("asker"), member_make("helper")
    question = question_ask(member=asker, title="Where?")
    answer = answer_post(question_id=question.pk, member=helper, text="There")

    def mark(index: int) -> Question:
        connection.set_tenant(fresh_brand)
        return best_answer_mark(question_id=question.pk, answer_id=answer.pk, by_member=asker)

    results = run_concurrently(5, mark)
    connection.set_tenant(fresh_brand)
    assert all(isinstance(result, Question) for result in results), results
    helper.refresh_from_db()
    assert helper.balance == 30 == ledger_sum(member_id=helper.pk)


def test_the_helpers_leaderboard_counts_best_answers_this_month(people):
    asker, bruno, chloe = people
    anonymous = member_make()
    for helper, count in ((bruno, 1), (chloe, 2), (anonymous, 3)):
        for index in range(count):
            question = asked(asker, text=f"{helper.pk}-{index}")
            answer = answer_post(question_id=question.pk, member=helper, text="Here")
            best_answer_mark(question_id=question.pk, answer_id=answer.pk, by_member=asker)
    old = asked(asker, text="last month")
    answer = answer_post(question_id=old.pk, member=bruno, text="Old")
    best_answer_mark(
        question_id=old.pk,
        answer_id=answer.pk,
        by_member=asker,
        now=timezone.now() - timezone.timedelta(days=45),
    )
    assert [(row.rank, row.name, row.count) for row in helpers_leaderboard()] == [
        (1, "Chloé M.", 2),
        (2, "Bruno L.", 1),
    ]


# --- the site ------------------------------------------------------------------------------------


def _client(brand, member: Member | None = None) -> Client:
    client = Client(HTTP_HOST=host_of(brand), REMOTE_ADDR=ip())
    if member is not None:
        client.force_login(member.user)
    return client


def test_the_list_filters_by_subject_and_shows_only_published(in_a):
    car = Subject.objects.create(kind="product", reference="ZOE", name="Renault Zoé")
    member = member_make()
    question_ask(member=member, title="How far does a Zoé go?", subject_id=car.pk)
    question_ask(member=member, title="Where do I park?")
    held = question_ask(member=member, title="Held one")
    Question.objects.filter(pk=held.pk).update(state="held", published_at=None)
    page = _client(in_a).get("/community/questions/").content.decode()
    assert "How far does a Zoé go?" in page and "Where do I park?" in page and "Held one" not in page
    filtered = _client(in_a).get(f"/community/questions/?subject={car.pk}").content.decode()
    assert "How far does a Zoé go?" in filtered and "Where do I park?" not in filtered
    assert _client(in_a).get(f"/community/questions/{held.pk}/").status_code == 404
    assert _client(in_a).get("/community/questions/?subject=abc").status_code == 200


def test_a_visitor_asks_on_the_site_and_bad_input_names_the_field(in_a):
    client = _client(in_a)
    refused = client.post("/community/questions/", {"title": "Do I need a card?", "visitor_name": ""})
    assert refused.status_code == 400 and 'id="id_visitor_name"' in refused.content.decode()
    sent = client.post("/community/questions/", {"title": "Do I need a card?", "visitor_name": "Marc"})
    question = Question.objects.get(visitor_name="Marc")
    assert sent.status_code == 302 and sent["Location"] == f"/community/questions/{question.pk}/"
    assert "Marc" in client.get(sent["Location"]).content.decode()


def test_members_answer_and_the_asker_marks_the_best_on_the_site(people):
    asker, helper, other = people
    for member in (asker, helper, other):
        member_user(member)
    question = asked(asker)
    url = f"/community/questions/{question.pk}/"
    answered = _client(connection.tenant, helper).post(f"{url}answer/", {"text": "Level -1 of P2"})
    assert answered.status_code == 302
    answer = Answer.objects.get(question=question)
    assert _client(connection.tenant, helper).post(f"{url}answer/", {"text": ""}).status_code == 400
    page = _client(connection.tenant, asker).get(url).content.decode()
    assert "Level -1 of P2" in page and "This is the best answer" in page
    assert "This is the best answer" not in _client(connection.tenant, other).get(url).content.decode()
    _client(connection.tenant, other).post(f"{url}best/{answer.pk}/")
    assert Question.objects.get(pk=question.pk).best_answer is None
    _client(connection.tenant, asker).post(f"{url}best/{answer.pk}/")
    assert Question.objects.get(pk=question.pk).best_answer == answer
    assert "Best answer" in _client(connection.tenant).get(url).content.decode()
    anonymous = _client(connection.tenant).post(f"{url}answer/", {"text": "Hi"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert (
        _client(connection.tenant, helper)
        .post("/community/questions/999999/answer/", {"text": "x"})
        .status_code
        == 404
    )


def test_the_author_sees_their_held_answer_with_its_state_others_do_not(people):
    asker, helper, _ = people
    member_user(helper)
    question = asked(asker)
    answer = answer_post(question_id=question.pk, member=helper, text="Waiting for moderators")
    Answer.objects.filter(pk=answer.pk).update(state="held", published_at=None)
    url = f"/community/questions/{question.pk}/"
    mine = _client(connection.tenant, helper).get(url).content.decode()
    assert "Waiting for moderators" in mine and "Held for moderation" in mine
    assert "Waiting for moderators" not in _client(connection.tenant).get(url).content.decode()


def member_user(member: Member) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=f"{member.external_id}@example.com", password="x")
    Member.objects.filter(pk=member.pk).update(user=user)
    member.refresh_from_db()


# --- the backoffice ------------------------------------------------------------------------------


def test_staff_see_a_question_with_its_answers_and_mark_the_best(staff_a, people):
    asker, helper, _ = people
    question = asked(asker)
    answer = answer_post(question_id=question.pk, member=helper, text="Level -1 of P2")
    assert "Can I leave a car" in staff_a.get("/backoffice/community/question/").content.decode()
    change = staff_a.get(f"/backoffice/community/question/{question.pk}/change/")
    assert change.status_code == 200 and "Level -1 of P2" in change.content.decode()
    saved = staff_a.post(
        f"/backoffice/community/question/{question.pk}/change/",
        {"best_answer": answer.pk, "answers-TOTAL_FORMS": "1", "answers-INITIAL_FORMS": "1",
         "answers-MIN_NUM_FORMS": "0", "answers-MAX_NUM_FORMS": "1000", "answers-0-id": answer.pk,
         "answers-0-question": question.pk},
    )  # fmt: skip
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert Question.objects.get(pk=question.pk).best_answer == answer
    helper.refresh_from_db()
    assert helper.balance == 30
