"""The qa part of a member's GDPR export and erasure. Erasing replaces the member's questions'
titles and details and their answers' texts by ERASED; the rows stay (a best answer's event paid
points, other members' answers hang on the questions)."""

from __future__ import annotations

from community.models import Answer, Question
from core.privacy import ERASED, Person
from loyalty.models import Member


def export(member: Member) -> dict:
    questions = Question.objects.filter(member=member).order_by("created_at", "pk")
    answers = Answer.objects.filter(member=member).order_by("created_at", "pk")
    return {
        "questions": [
            {
                "id": row.pk,
                "title": row.title,
                "text": row.text,
                "state": row.state,
                "asked_at": row.created_at,
                "best_answer": row.best_answer_id,
            }
            for row in questions
        ],
        "answers": [
            {
                "id": row.pk,
                "question": row.question_id,
                "text": row.text,
                "state": row.state,
                "written_at": row.created_at,
                "best": hasattr(row, "best_of"),
            }
            for row in answers.select_related("best_of")
        ],
    }


def erase(member: Member, person: Person) -> None:
    Question.objects.filter(member=member).update(title=ERASED, text=ERASED, rejection_note="")
    Answer.objects.filter(member=member).update(text=ERASED, rejection_note="")
