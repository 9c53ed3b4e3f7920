"""Tenant isolation of questions and answers: brand B's host, members and staff see, answer and
mark nothing of brand A's questions (direct ids included)."""

from __future__ import annotations

from django.db import connection
from django.test import Client

from community.models import Answer, Question
from community.services.qa import answer_post, question_ask
from tests.conftest import host_of
from tests.factories import member_make


def _a_question(brand_a) -> tuple[Question, Answer]:
    connection.set_tenant(brand_a)
    asker = member_make("iso-a-asker", first_name="Alice")
    question = question_ask(member=asker, title="Only in A: where to park?")
    answer = answer_post(
        question_id=question.pk, member=member_make("iso-a-helper"), text="Only in A: level -1"
    )
    return question, answer


def test_bs_site_and_members_see_answer_and_mark_nothing_of_as_questions(db, brand_a, brand_b):
    question, answer = _a_question(brand_a)
    connection.set_tenant(brand_b)
    assert not Question.objects.filter(pk=question.pk).exists()
    b_member = member_make("iso-b", login=True)
    b_client = Client(HTTP_HOST=host_of(brand_b))
    b_client.force_login(b_member.user)

    assert "Only in A" not in b_client.get("/community/questions/").content.decode()
    assert "Only in A" not in b_client.get("/community/leaderboard/").content.decode()
    assert b_client.get(f"/community/questions/{question.pk}/").status_code == 404
    assert b_client.post(f"/community/questions/{question.pk}/answer/", {"text": "From B"}).status_code == 404
    assert b_client.post(f"/community/questions/{question.pk}/best/{answer.pk}/").status_code == 404

    connection.set_tenant(brand_a)
    assert Answer.objects.filter(question=question).count() == 1
    assert Question.objects.get(pk=question.pk).best_answer is None


def test_bs_staff_cannot_see_or_mark_as_questions(db, brand_a, brand_b, staff_for):
    question, answer = _a_question(brand_a)
    staff_b = staff_for(brand_b)
    connection.set_tenant(brand_b)
    assert "Only in A" not in staff_b.get("/backoffice/community/question/").content.decode()
    url = f"/backoffice/community/question/{question.pk}/change/"
    assert staff_b.get(url).status_code in (302, 404)
    staff_b.post(url, {"best_answer": answer.pk})

    connection.set_tenant(brand_a)
    assert Question.objects.get(pk=question.pk).best_answer is None
