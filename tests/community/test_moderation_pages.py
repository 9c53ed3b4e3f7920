"""The moderation's pages: the member site's community hub and moderation rules (ISO 20488's
statements, the brand's own rules as safe Markdown), the backoffice queue (held texts of every
model and reported reviews, oldest first, what was found, the time left, overdue flagged; publish
and reject with a reason; each row's permission) and the admin of moderation words and settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from community.models import (
    CommunitySettings,
    ModerationState,
    ModerationTerm,
    Question,
    Reply,
    Review,
    ReviewReport,
    Thread,
)
from community.services.moderation import moderation_apply
from tests.community.factories import HARSH, review_write
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make, staff_make

pytestmark = pytest.mark.django_db
QUEUE = "/backoffice/community/moderation/"


def _login(client, username: str):
    response = client.post("/accounts/login/", {"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


def _question_held(title: str = "Why is the manager such a moron?") -> Question:
    question = Question(visitor_name="Visitor", title=title)
    moderation_apply(obj=question, texts=[title], language="en")
    question.save()
    return question


def _reply_held(member) -> Reply:
    thread = Thread(member=member, title="Tastings", text="Any tips?")
    moderation_apply(obj=thread, texts=[thread.title, thread.text], language="en")
    thread.save()
    reply = Reply(thread=thread, member=member, text="Only an imbecile asks that")
    moderation_apply(obj=reply, texts=[reply.text], language="en")
    reply.save()
    return reply


def test_the_hub_links_the_parts_pages_that_exist(db, brand_a, client_for):
    page = client_for(brand_a).get("/community/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/community/rules/"' in html and "Moderation rules" in html
    assert 'href="/community/"' in html  # the site menu's "Community"


def test_the_rules_page_states_what_iso_20488_asks(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    CommunitySettings.objects.update_or_create(
        pk=1,
        defaults={"moderation_delay_days": 5, "moderation_rules": "**Be kind.** <script>alert(1)</script>"},
    )
    html = client_for(brand_a).get("/community/rules/").content.decode()
    assert "<strong>Be kind.</strong>" in html and "<script>alert" not in html
    assert "within 5 days" in html
    for reason in ("insult", "hate", "personal_data", "advertising"):
        assert f'data-reason="{reason}"' in html
    assert "certified" in html and "No reward depends on what a review says" in html
    assert "reply" in html and "report" in html.lower()


def test_the_queue_lists_held_texts_oldest_first_with_what_was_found(staff_a):
    author = member_make(first_name="Ana", last_name="Bernardin")
    old = review_write("you moron", member=author)
    Review.objects.filter(pk=old.pk).update(moderated_at=timezone.now() - timedelta(days=9))
    question = _question_held()
    reply = _reply_held(author)
    published = review_write(HARSH)
    reported = review_write("meh", reference="sku-2")
    ReviewReport.objects.create(review=reported, member=member_make(), reason="advertising")

    html = staff_a.get(QUEUE).content.decode()
    assert f'data-model="review" data-pk="{old.pk}"' in html
    assert f'data-model="question" data-pk="{question.pk}"' in html
    assert f'data-model="reply" data-pk="{reply.pk}"' in html
    assert f'data-model="review" data-pk="{reported.pk}"' in html and "1 report" in html
    assert f'data-model="review" data-pk="{published.pk}"' not in html
    assert html.index(f'data-model="review" data-pk="{old.pk}"') < html.index(
        f'data-model="question" data-pk="{question.pk}"'
    )
    assert "insult: moron" in html
    assert "Overdue by" in html and "moderation-item--overdue" in html  # 9 days > the 7 stated
    assert "left" in html


def test_staff_publish_and_reject_from_the_queue(staff_a):
    held = review_write("you moron")
    other = review_write("what an idiot", reference="sku-2")
    response = staff_a.post(QUEUE, {"model": "review", "pk": held.pk, "decision": "publish"})
    assert response.status_code == 302
    assert Review.objects.get(pk=held.pk).state == ModerationState.PUBLISHED

    # Rejecting without a reason is refused and changes nothing.
    staff_a.post(QUEUE, {"model": "review", "pk": other.pk, "decision": "reject", "reason": ""})
    assert Review.objects.get(pk=other.pk).state == ModerationState.HELD
    assert "Choose the reason" in staff_a.get(QUEUE).content.decode()
    staff_a.post(QUEUE, {"model": "review", "pk": other.pk, "decision": "reject", "reason": "bogus"})
    assert Review.objects.get(pk=other.pk).state == ModerationState.HELD

    staff_a.post(
        QUEUE, {"model": "review", "pk": other.pk, "decision": "reject", "reason": "insult", "note": "Rude."}
    )
    rejected = Review.objects.get(pk=other.pk)
    assert (rejected.state, rejected.rejection_reason, rejected.rejection_note) == (
        "rejected",
        "insult",
        "Rude.",
    )
    assert f'data-model="review" data-pk="{other.pk}"' not in staff_a.get(QUEUE).content.decode()


def test_bad_posts_are_4xx(staff_a):
    assert staff_a.post(QUEUE, {"model": "review", "pk": 999999, "decision": "publish"}).status_code == 404
    assert staff_a.post(QUEUE, {"model": "member", "pk": 1, "decision": "publish"}).status_code == 302
    assert staff_a.post(QUEUE, {"model": "review", "pk": "x", "decision": "maybe"}).status_code == 302


def test_support_decides_and_an_analyst_may_not(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    held = review_write("you moron")
    support, analyst = staff_make("support"), staff_make("analyst")
    assert _login(client_for(brand_a), support.username).get(QUEUE).status_code == 200
    client = _login(client_for(brand_a), analyst.username)
    assert client.get(QUEUE).status_code == 403
    assert client.post(QUEUE, {"model": "review", "pk": held.pk, "decision": "publish"}).status_code == 403
    assert Review.objects.get(pk=held.pk).state == ModerationState.HELD
    assert client_for(brand_a).get(QUEUE).status_code == 302  # nobody logged in: the login page


def test_each_row_needs_its_models_permission(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    review, question = review_write("you moron"), _question_held()
    user = get_user_model().objects.create_user(
        username="reviews@alpha.example", password=TEST_PASSWORD, is_staff=True
    )
    user.user_permissions.add(
        Permission.objects.get(codename="change_review", content_type__app_label="community")
    )
    client = _login(client_for(brand_a), user.username)
    html = client.get(QUEUE).content.decode()
    assert f'data-model="review" data-pk="{review.pk}"' in html and 'data-model="question"' not in html
    assert (
        client.post(QUEUE, {"model": "question", "pk": question.pk, "decision": "publish"}).status_code == 403
    )
    assert Question.objects.get(pk=question.pk).state == ModerationState.HELD


def test_the_admin_of_moderation_words_and_settings(staff_a):
    response = staff_a.post(
        "/backoffice/community/moderationterm/add/",
        {"term": "  Piquette  ", "category": "insult", "language": "fr"},
    )
    assert response.status_code == 302
    assert ModerationTerm.objects.get().term == "Piquette"
    page = staff_a.post(
        "/backoffice/community/moderationterm/add/", {"term": "?!", "category": "insult", "language": ""}
    )
    assert page.status_code == 200 and "Write a word" in page.content.decode()
    assert staff_a.get("/backoffice/community/moderationterm/").status_code == 200

    assert staff_a.get("/backoffice/community/communitysettings/add/").status_code == 200
    data = {
        "moderation_delay_days": "0",
        "moderation_rules": "",
        "review_invitation_days": "3",
        "purchase_event_types": "[]",
        "best_answer_event_type": "best_answer",
        "live_help_enabled": "on",
        "live_helpful_event_type": "helpful_conversation",
    }
    page = staff_a.post("/backoffice/community/communitysettings/add/", data)
    assert page.status_code == 200 and "Between 1 and 60 days" in page.content.decode()
    assert (
        staff_a.post(
            "/backoffice/community/communitysettings/add/", {**data, "moderation_delay_days": "10"}
        ).status_code
        == 302
    )
    assert CommunitySettings.objects.get(pk=1).moderation_delay_days == 10
    assert staff_a.get("/backoffice/community/communitysettings/add/").status_code == 403
