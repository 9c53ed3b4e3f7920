"""Invitations to the member site: sent through the API or the backoffice member page, a signed,
single-use, expiring link that lets the member set a password and land logged in."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from loyalty.models import Member
from loyalty.services.members import member_block
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import error_of

NEW_PASSWORD = "an-invited-pass-2026"
# A new address each run: sign-up e-mails per address and hour are limited (loyalty.services.signup).
BOTH = f"both-{uuid.uuid4().hex[:8]}@example.com"


def invitation_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/join/invitation/\S+/)", message.body).group(1)


def set_password(client: Client, path: str, first: str = NEW_PASSWORD, second: str | None = None):
    return client.post(path, {"new_password1": first, "new_password2": second or first})


def test_the_api_invites_a_member_who_sets_a_password_and_lands_logged_in(api_a, in_a):
    member = member_make("INV-1", points=120, email="Lea@Example.com", first_name="Léa")
    response = api_a.post("/api/v1/members/INV-1/invitations")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "L***@Example.com"
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=13) < expires - timezone.now() <= timedelta(days=14)
    (message,) = mail.outbox
    assert message.to == ["Lea@Example.com"] and "Léa" in message.body
    path = invitation_link(message)
    assert f"http://{host_of(in_a)}/join/invitation/" in message.body

    site = Client(HTTP_HOST=host_of(in_a))
    page = site.get(path)
    assert page.status_code == 200 and 'name="new_password1"' in page.content.decode()
    # A weak password or two different ones: form errors, nothing written.
    assert set_password(site, path, "12345678").status_code == 200
    assert set_password(site, path, NEW_PASSWORD, "something-else-26").status_code == 200
    assert Member.objects.get(pk=member.pk).user is None

    done = set_password(site, path)
    assert done.status_code == 302 and done["Location"] in ("/account/", "/")
    member.refresh_from_db()
    assert member.user.username == "lea@example.com" and member.email_verified_at is not None
    assert site.session["_auth_user_id"] == str(member.user_id)
    # Single use: the link does not work again; the member logs in with the password.
    assert site.get(path).status_code == 400
    client = Client(HTTP_HOST=host_of(in_a))
    login = {"username": "lea@example.com", "password": NEW_PASSWORD}
    assert client.post("/accounts/login/", login).status_code == 302


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({}, 422, "no_email"),
        ({"email": "taken@example.com", "login": True}, 409, "already_registered"),
        ({"email": "blocked@example.com", "blocked": True}, 422, "member_blocked"),
    ],
)
def test_the_api_refuses_a_member_who_cannot_be_invited(api_a, in_a, data, status, code):
    member = member_make(
        "INV-X", login=data.pop("login", False), **{k: v for k, v in data.items() if k != "blocked"}
    )
    if data.get("blocked"):
        member_block(member=member, by=None, reason="fraud")
    error = error_of(api_a.post("/api/v1/members/INV-X/invitations"), status)
    assert error["code"] == code
    assert mail.outbox == []


def test_the_api_refuses_an_anonymised_member_and_an_unknown_one(api_a, in_a):
    from loyalty.services.members import member_anonymise

    member = member_make("INV-A", email="gone@example.com")
    member_anonymise(member=member, by=None, reason="asked")
    assert error_of(api_a.post("/api/v1/members/INV-A/invitations"), 409)["code"] == "member_anonymised"
    assert error_of(api_a.post("/api/v1/members/nobody/invitations"), 404)["field"] == "external_id"
    assert mail.outbox == []


def test_an_invitation_expires(api_a, in_a):
    member_make("INV-E", email="late@example.com")
    api_a.post("/api/v1/members/INV-E/invitations")
    path = invitation_link(mail.outbox[0])
    with time_machine.travel(timezone.now() + timedelta(days=14, minutes=1)):
        page = Client(HTTP_HOST=host_of(in_a)).get(path)
    assert page.status_code == 400 and "expired" in page.content.decode()


def test_a_changed_e_mail_voids_the_invitation(api_a, in_a):
    member_make("INV-C", email="old@example.com")
    api_a.post("/api/v1/members/INV-C/invitations")
    Member.objects.filter(external_id="INV-C").update(email="new@example.com")
    assert Client(HTTP_HOST=host_of(in_a)).get(invitation_link(mail.outbox[0])).status_code == 400


def test_the_backoffice_sends_an_invitation_from_the_member_page(staff_a, in_a):
    member = member_make("INV-B", email="bo@example.com")
    page = staff_a.get(f"/backoffice/loyalty/member/{member.pk}/change/").content.decode()
    assert f"/backoffice/loyalty/member/{member.pk}/invitation/" in page
    confirm = staff_a.get(f"/backoffice/loyalty/member/{member.pk}/invitation/")
    assert confirm.status_code == 200 and mail.outbox == []
    done = staff_a.post(f"/backoffice/loyalty/member/{member.pk}/invitation/", follow=True)
    assert "Invitation sent to b***@example.com" in done.content.decode()
    (message,) = mail.outbox
    site = Client(HTTP_HOST=host_of(in_a))
    assert set_password(site, invitation_link(message)).status_code == 302
    assert Member.objects.get(pk=member.pk).user.check_password(NEW_PASSWORD)


def test_an_invitation_completes_a_sign_up_waiting_for_verification(api_a, in_a):
    member_make("INV-S", email=BOTH)
    site = Client(HTTP_HOST=host_of(in_a))
    signup = {
        "first_name": "Bo",
        "last_name": "Th",
        "email": BOTH,
        "password": "a-long-join-pass-2026",
        "terms": "on",
    }
    site.post("/join/", signup)
    api_a.post("/api/v1/members/INV-S/invitations")
    assert set_password(site, invitation_link(mail.outbox[-1])).status_code == 302
    assert get_user_model().objects.filter(username=BOTH).count() == 1
    assert Member.objects.get(external_id="INV-S").user.username == BOTH
