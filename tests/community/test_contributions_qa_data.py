"""The demo data of contributions and Q&A (seeded once, through the services) and their GDPR part
(export, erasure of the member's texts and photos)."""

from __future__ import annotations

from community.demo import contributions as contributions_demo
from community.demo import qa as qa_demo
from community.models import Answer, Contribution, ContributionPhoto, ContributionType, Question
from community.privacy import contributions as contributions_privacy
from community.privacy import qa as qa_privacy
from community.services.contributions import contribution_submit, contribution_type_save
from community.services.qa import answer_post, question_ask
from core.privacy import ERASED, Person
from loyalty.models import Badge, EarningRule, Member
from messaging.models import Trigger
from tests.community.factories import DAMAGE, photo
from tests.factories import member_make


def test_the_car_sharing_demo_seeds_reports_vigie_helpers_and_questions_once(in_a):
    for _ in range(2):
        contributions_demo.seed(slug="citycar")
        qa_demo.seed(slug="citycar")
    damage = ContributionType.objects.get(code="damage-report")
    assert damage.event_type == "damage_report" and damage.photos_required == 1
    assert EarningRule.objects.filter(event_type="damage_report").count() == 1
    vigie = Badge.objects.get(code="vigie")
    assert (vigie.event_type, vigie.count_required) == ("damage_report", 10)
    assert Badge.objects.get(code="helper").event_type == "best_answer"
    assert Contribution.objects.filter(state="approved").count() == 4
    assert Contribution.objects.filter(state="submitted").count() == 1
    assert ContributionPhoto.objects.count() == 4
    assert Question.objects.count() == 3 and Question.objects.filter(best_answer__isnull=False).count() == 1
    assert Question.objects.filter(member__isnull=True, visitor_name="Marc").exists()
    assert set(Trigger.objects.values_list("kind", flat=True)) >= {
        "contribution_approved",
        "question_answered",
    }
    best = Answer.objects.get(best_of__isnull=False)
    assert best.event is not None and best.event.points_awarded == 30


def test_other_demo_brands_get_no_damage_reports(in_a):
    contributions_demo.seed(slug="tabac-pro")
    qa_demo.seed(slug="tabac-pro")
    assert not ContributionType.objects.exists() and not Question.objects.exists()


def test_a_members_texts_are_exported_then_erased(in_a):
    member = member_make("erased", first_name="Ana", last_name="Martin")
    kind = contribution_type_save(data=DAMAGE)
    contribution = contribution_submit(
        member=member, type_id=kind.pk, text="Dent", reference="AB-1", photos=[photo()]
    )
    question = question_ask(member=member, title="Where to park?", text="Near Ana's flat")
    answer = answer_post(question_id=question.pk, member=member, text="Found it")
    other = answer_post(question_id=question.pk, member=member_make(), text="Level -1")

    exported = {**contributions_privacy.export(member), **qa_privacy.export(member)}
    assert exported["contributions"][0]["text"] == "Dent" and len(exported["contributions"][0]["photos"]) == 1
    assert (
        exported["questions"][0]["title"] == "Where to park?" and exported["answers"][0]["text"] == "Found it"
    )

    person = Person.of(texts=["Ana", "Martin"], unique_texts=["Ana Martin"])
    contributions_privacy.erase(member, person)
    qa_privacy.erase(member, person)
    contribution.refresh_from_db()
    assert (contribution.text, contribution.reference, contribution.state) == (ERASED, "", "submitted")
    assert not ContributionPhoto.objects.filter(contribution=contribution).exists()
    assert Question.objects.get(pk=question.pk).title == ERASED
    assert (
        Answer.objects.get(pk=answer.pk).text == ERASED and Answer.objects.get(pk=other.pk).text == "Level -1"
    )
    assert Member.objects.filter(pk=member.pk).exists()
