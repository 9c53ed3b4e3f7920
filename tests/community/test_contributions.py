"""Contributions (README "Community > Contributions"): types and their event types, submissions with
photos, staff's decision (approving twice, even concurrently, earns once; a rejected one earns
nothing), the Vigie badge, the member's pages, the leaderboard and the backoffice queue."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from community.models import Contribution, ContributionPhoto, ContributionType
from community.selectors.contributions import contributors_leaderboard
from community.services.contributions import (
    contribution_decide,
    contribution_event_key,
    contribution_submit,
    contribution_type_save,
)
from core.errors import Conflict, InvalidInput, NotFound, Refused
from loyalty.models import ActivityEvent, Badge, EventType, Member, MemberBadge
from loyalty.rule_examples import DAMAGE_REPORT
from loyalty.services.badges import badge_save
from loyalty.services.ledger import ledger_sum
from loyalty.services.members import consent_set
from loyalty.services.rules import rule_create
from messaging.models import Message
from messaging.triggers import trigger_save
from tests.community.factories import DAMAGE, photo
from tests.conftest import host_of
from tests.factories import member_make, template_make
from tests.support import run_concurrently


def damage_type(**extra) -> ContributionType:
    return contribution_type_save(data={**DAMAGE, **extra})


def submitted(member: Member, kind: ContributionType | None = None, **extra) -> Contribution:
    kind = kind or damage_type()
    values = {"text": "Rear bumper scratched", "reference": "AB-123-CD", "photos": [photo()], **extra}
    return contribution_submit(member=member, type_id=kind.pk, **values)


@pytest.fixture
def paid(in_a):
    """Brand A pays 50 points per approved damage report."""
    return rule_create(data=DAMAGE_REPORT)


# --- types ---------------------------------------------------------------------------------------


def test_a_type_saved_creates_its_event_type(in_a):
    kind = contribution_type_save(data={**DAMAGE, "event_type": "pothole_report", "name": "Pothole"})
    assert EventType.objects.get(code="pothole_report").name == "Pothole"
    contribution_type_save(data={"name": "Pothole report"}, contribution_type=kind)
    assert ContributionType.objects.get(pk=kind.pk).name == "Pothole report"
    assert EventType.objects.filter(code="pothole_report").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"code": ""}, "code"),
        ({"photos_required": 7}, "photos_required"),
        ({"reference_label": ""}, "reference_label"),
        ({"subject_kind": "planet"}, "subject_kind"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_type_is_refused_naming_the_field(in_a, data, field):
    with pytest.raises(InvalidInput) as error:
        contribution_type_save(data={**DAMAGE, **data})
    assert field in error.value.errors
    assert not ContributionType.objects.exists()


# --- submissions ---------------------------------------------------------------------------------


def test_a_submission_waits_for_staff_with_its_photos_under_random_names(in_a):
    contribution = submitted(
        member_make("reporter"), photos=[photo("my plate.png"), photo("b.jpg", kind="JPEG")]
    )
    assert contribution.state == Contribution.State.SUBMITTED
    names = [p.image.name for p in ContributionPhoto.objects.filter(contribution=contribution)]
    assert len(names) == 2 and not any("plate" in name for name in names)
    assert names[0].endswith(".png") and names[1].endswith(".jpg")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"text": "  "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"reference": ""}, "reference"),
        ({"reference": "x" * 81}, "reference"),
        ({"photos": []}, "photos"),
        ({"photos": [SimpleUploadedFile("car.png", b"not an image at all")]}, "photos"),
        ({"photos": [photo(size=(20, 20))]}, "photos"),
        ({"photos": [photo(f"{i}.png") for i in range(7)]}, "photos"),
        ({"subject_id": 999999}, "subject"),
    ],
)
def test_a_bad_submission_is_refused_naming_the_field(in_a, values, field):
    with pytest.raises(InvalidInput) as error:
        submitted(member_make(), **values)
    assert field in error.value.errors
    assert not Contribution.objects.exists()


def test_a_closed_type_or_a_blocked_member_cannot_contribute(in_a):
    kind = damage_type(is_active=False)
    with pytest.raises(NotFound):
        submitted(member_make(), kind)
    with pytest.raises(Refused):
        blocked = member_make()
        Member.objects.filter(pk=blocked.pk).update(status=Member.Status.BLOCKED)
        blocked.refresh_from_db()
        submitted(blocked, damage_type(code="other"))


# --- decisions -----------------------------------------------------------------------------------


def test_an_approved_contribution_earns_once_even_approved_twice(in_a, paid, staff_user):
    member = member_make("reporter")
    contribution = submitted(member)
    first = contribution_decide(contribution_id=contribution.pk, approve=True, user=staff_user)
    again = contribution_decide(contribution_id=contribution.pk, approve=True, user=staff_user)
    event = ActivityEvent.objects.get(idempotency_key=contribution_event_key(contribution.pk))
    assert first.event_id == again.event_id == event.pk
    assert event.type == "damage_report" and event.attributes["status"] == "approved"
    assert event.attributes["reference"] == "AB-123-CD"
    member.refresh_from_db()
    assert member.balance == 50 == ledger_sum(member_id=member.pk)
    assert Contribution.objects.get(pk=contribution.pk).decided_by == staff_user


def test_a_rejected_contribution_earns_nothing_until_approved(in_a, paid, staff_user):
    member = member_make()
    contribution = submitted(member)
    with pytest.raises(InvalidInput) as error:
        contribution_decide(contribution_id=contribution.pk, approve=False, user=staff_user, reason="ugly")
    assert error.value.field == "reason"
    rejected = contribution_decide(
        contribution_id=contribution.pk, approve=False, user=staff_user, reason="no_experience", note="Blurry"
    )
    assert rejected.state == "rejected" and rejected.event is None
    assert not ActivityEvent.objects.filter(member=member).exists()
    member.refresh_from_db()
    assert member.balance == 0
    # A mistake corrected: approved later, it earns then, once; then it stays approved.
    contribution_decide(contribution_id=contribution.pk, approve=True, user=staff_user)
    member.refresh_from_db()
    assert member.balance == 50
    with pytest.raises(Conflict):
        contribution_decide(
            contribution_id=contribution.pk, approve=False, user=staff_user, reason="duplicate"
        )
    with pytest.raises(NotFound):
        contribution_decide(contribution_id=999999, approve=True, user=staff_user)


def test_approving_concurrently_earns_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    rule_create(data=DAMAGE_REPORT)
    member = member_make("racer")
    contribution = submitted(member)

    def approve(index: int) -> Contribution:
        connection.set_tenant(fresh_brand)
        return contribution_decide(contribution_id=contribution.pk, approve=True, user=None)

    results = run_concurrently(6, approve)
    connection.set_tenant(fresh_brand)
    assert all(isinstance(result, Contribution) for result in results), results
    assert ActivityEvent.objects.filter(member=member).count() == 1
    member.refresh_from_db()
    assert member.balance == 50 == ledger_sum(member_id=member.pk)


def test_vigie_is_earned_at_the_tenth_approved_report(in_a, paid):
    badge_save(
        data={
            "code": "vigie",
            "name": "Vigie",
            "event_type": "damage_report",
            "conditions": [{"field": "attributes.status", "op": "equals", "value": "approved"}],
            "count_required": 10,
        }
    )
    member = member_make("watcher")
    kind = damage_type()
    for index in range(10):
        contribution = submitted(member, kind, reference=f"CAR-{index}")
        assert not MemberBadge.objects.filter(member=member).exists()
        contribution_decide(contribution_id=contribution.pk, approve=True, user=None)
    assert MemberBadge.objects.get(member=member).badge == Badge.objects.get(code="vigie")


def test_the_member_is_told_once_of_an_approval(in_a, paid, django_capture_on_commit_callbacks):
    template_make("contribution_ok", channel="email", subject="Approved", body="+{{ points_earned }} points")
    trigger_save(
        data={
            "kind": "contribution_approved",
            "channel": "email",
            "template_code": "contribution_ok",
            "is_active": True,
        }
    )
    member = member_make(email="reporter@example.com")
    consent_set(member=member, consents={"email": True}, source="test")
    contribution = submitted(member)
    with django_capture_on_commit_callbacks(execute=True):
        contribution_decide(contribution_id=contribution.pk, approve=True, user=None)
    with django_capture_on_commit_callbacks(execute=True):
        contribution_decide(contribution_id=contribution.pk, approve=True, user=None)
    message = Message.objects.get(member=member, trigger="contribution_approved")
    assert "+50 points" in message.body


# --- the leaderboard -----------------------------------------------------------------------------


def test_the_leaderboard_counts_approved_this_month_per_type(in_a):
    kind = damage_type()
    ana, bob, zed = (
        member_make(first_name=first, last_name=last)
        for first, last in (("Ana", "Martin"), ("Bob", "Roy"), ("", ""))
    )
    for member, approved, rejected in ((ana, 1, 2), (bob, 2, 0), (zed, 3, 0)):
        for _ in range(approved):
            contribution_decide(contribution_id=submitted(member, kind).pk, approve=True, user=None)
        for _ in range(rejected):
            contribution_decide(
                contribution_id=submitted(member, kind).pk, approve=False, user=None, reason="duplicate"
            )
    old = submitted(ana, kind)
    contribution_decide(
        contribution_id=old.pk, approve=True, user=None, now=timezone.now() - timezone.timedelta(days=45)
    )
    [(board_kind, ranked)] = contributors_leaderboard()
    assert board_kind == kind
    assert [(row.rank, row.name, row.count) for row in ranked] == [(1, "Bob R.", 2), (2, "Ana M.", 1)]


# --- the member site -----------------------------------------------------------------------------


@pytest.fixture
def site(in_a):
    member = member_make("site-reporter", login=True, first_name="Ana", last_name="Martin")
    client = Client(HTTP_HOST=host_of(in_a))
    client.force_login(member.user)
    return client, member


def test_a_member_contributes_on_the_site_and_sees_the_state(site):
    client, member = site
    kind = damage_type(description="Send **a photo**")
    page = client.get("/community/contribute/")
    assert page.status_code == 200 and "Damage report" in page.content.decode()
    form = client.get(f"/community/contribute/{kind.pk}/")
    assert "<strong>a photo</strong>" in form.content.decode() and "Vehicle plate" in form.content.decode()
    refused = client.post(f"/community/contribute/{kind.pk}/", {"text": "Dent", "reference": "AB-1"})
    assert refused.status_code == 400 and "photo" in refused.content.decode()
    sent = client.post(
        f"/community/contribute/{kind.pk}/",
        {"text": "Dent on the door", "reference": "AB-1", "photos": [photo()]},
    )
    assert sent.status_code == 302 and sent["Location"] == "/community/contributions/"
    contribution = Contribution.objects.get(member=member)
    contribution_decide(
        contribution_id=contribution.pk, approve=False, user=None, reason="duplicate", note="Sent twice"
    )
    mine = client.get("/community/contributions/").content.decode()
    assert "Dent on the door" in mine and "Rejected" in mine and "A duplicate of another text" in mine
    assert "Sent twice" in mine


def test_approved_public_contributions_are_shown_to_everyone(in_a):
    kind = contribution_type_save(data={"code": "tip", "name": "Tip", "event_type": "tip", "is_public": True})
    member = member_make(first_name="Chloé", last_name="Marchand")
    shown = contribution_submit(member=member, type_id=kind.pk, text="Park on level -1")
    contribution_submit(member=member, type_id=kind.pk, text="Waiting for staff")
    contribution_decide(contribution_id=shown.pk, approve=True, user=None)
    page = Client(HTTP_HOST=host_of(in_a)).get("/community/contribute/").content.decode()
    assert "Park on level -1" in page and "Chloé M." in page and "Waiting for staff" not in page


def test_the_form_asks_a_visitor_to_log_in_and_refuses_a_closed_type(in_a, site):
    kind = damage_type()
    anonymous = Client(HTTP_HOST=host_of(in_a)).get(f"/community/contribute/{kind.pk}/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client, _ = site
    assert client.get("/community/contribute/999999/").status_code == 404


def test_the_leaderboard_page_shows_public_names(site):
    client, member = site
    contribution_decide(contribution_id=submitted(member).pk, approve=True, user=None)
    page = client.get("/community/leaderboard/").content.decode()
    assert "Ana M." in page and "Martin" not in page


# --- the backoffice queue ------------------------------------------------------------------------


def test_the_queue_lists_those_to_review_first_and_decides_by_actions(staff_a, paid):
    member = member_make("queued")
    kind = damage_type()
    first, second = submitted(member, kind, text="First to review"), submitted(member, kind, text="Second")
    done = submitted(member, kind, text="Already approved")  # the newest, but decided
    contribution_decide(contribution_id=done.pk, approve=True, user=None)
    page = staff_a.get("/backoffice/community/contribution/").content.decode()
    assert page.index(f">{first.pk}<") < page.index(f">{second.pk}<") < page.index(f">{done.pk}<")
    change = staff_a.get(f"/backoffice/community/contribution/{first.pk}/change/").content.decode()
    assert "<img src=" in change

    approve = staff_a.post(
        "/backoffice/community/contribution/", {"action": "approve", "_selected_action": [first.pk]}
    )
    assert approve.status_code == 302
    assert Contribution.objects.get(pk=first.pk).state == "approved"
    asked = staff_a.post(
        "/backoffice/community/contribution/", {"action": "reject", "_selected_action": [second.pk]}
    )
    assert asked.status_code == 200 and "Reason" in asked.content.decode()
    staff_a.post(
        "/backoffice/community/contribution/",
        {
            "action": "reject",
            "_selected_action": [second.pk],
            "apply": "1",
            "reason": "advertising",
            "note": "Spam",
        },
    )
    rejected = Contribution.objects.get(pk=second.pk)
    assert (rejected.state, rejected.rejection_reason, rejected.rejection_note) == (
        "rejected",
        "advertising",
        "Spam",
    )
    member.refresh_from_db()
    assert member.balance == 100


def test_a_type_is_saved_in_the_backoffice_with_its_event_type(staff_a):
    response = staff_a.post(
        "/backoffice/community/contributiontype/add/",
        {
            "code": "tip",
            "name": "Tip",
            "description": "",
            "event_type": "member_tip",
            "photos_required": "0",
            "reference_label": "",
            "subject_kind": "",
            "position": "0",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert EventType.objects.filter(code="member_tip").exists()
    refused = staff_a.post(
        "/backoffice/community/contributiontype/add/",
        {"code": "x", "name": "X", "event_type": "x", "photos_required": "9", "position": "0"},
    )
    assert refused.status_code == 200 and not ContributionType.objects.filter(code="x").exists()


@pytest.fixture
def staff_user(in_a):
    from tests.factories import staff_make

    return staff_make("support")
