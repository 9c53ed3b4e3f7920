"""The member site's sign-up (`/join/`), e-mail verification, linking a login to a member the
brand's systems created, and the brand's sign-up switch."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from config.redis import cache_redis
from loyalty.models import Consent, ConsentChange, Member, ProgrammeSettings, Signup
from loyalty.services.signup import signup_create
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import run_concurrently

PASSWORD = "a-long-join-pass-2026"
GOOD = {
    "first_name": "Jeanne",
    "last_name": "Martin",
    "email": "Jeanne.Martin@Example.com",
    "password": PASSWORD,
    "phone": "+33 6 12 34 56 78",
    "consent_email": "on",
    "consent_post": "on",
    "terms": "on",
}


@pytest.fixture
def site(in_a):
    yield Client(HTTP_HOST=host_of(in_a), REMOTE_ADDR="203.0.113.7")
    # The hourly count of sign-up e-mails per address (the tests reuse addresses) starts again.
    connection.set_tenant(in_a)
    for key in cache_redis().scan_iter(cache.make_key("join-mail:*")):
        cache_redis().delete(key)


def verify_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/join/verify/\S+/)", message.body).group(1)


def logins() -> int:
    return get_user_model().objects.filter(is_staff=False).count()


def test_the_form_offers_every_channel_unticked_and_the_terms(site):
    page = site.get("/join/").content.decode()
    for channel in Consent.Channel.values:
        box = re.search(rf'<input[^>]*name="consent_{channel}"[^>]*>', page).group(0)
        assert "checked" not in box
    assert re.search(r'<input[^>]*name="terms"[^>]*required', page)
    assert 'name="password"' in page and 'autocomplete="new-password"' in page


def test_joining_creates_the_member_logged_in_with_consents_recorded(site):
    response = site.post("/join/", GOOD)
    assert response.status_code == 302 and response["Location"] == "/join/sent/"
    member = Member.objects.get(email="jeanne.martin@example.com")
    user = member.user
    assert user.username == "jeanne.martin@example.com" and user.is_active
    assert (member.first_name, member.last_name, member.phone) == ("Jeanne", "Martin", "+33612345678")
    assert member.external_id.startswith("site-") and member.email_verified_at is None
    consents = {c.channel: c for c in Consent.objects.filter(member=member)}
    assert {channel: c.granted for channel, c in consents.items()} == {
        "email": True,
        "sms": False,
        "voice": False,
        "post": True,
    }
    assert {(c.source, c.ip_address) for c in consents.values()} == {("site", "203.0.113.7")}
    assert ConsentChange.objects.filter(member=member, source="site", ip_address="203.0.113.7").count() == 4
    signup = Signup.objects.get(user=user)
    assert signup.ip_address == "203.0.113.7" and signup.terms_accepted_at is not None
    # The new member uses the site at once: the session is theirs.
    assert site.session["_auth_user_id"] == str(user.pk)
    assert site.get("/join/").status_code == 302  # joined: /join/ leads to their account
    assert "j***@example.com" in site.get("/join/sent/").content.decode()
    # ... and their address is confirmed by the link e-mailed.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["jeanne.martin@example.com"]
    page = site.get(verify_link(mail.outbox[0]))
    assert page.status_code == 200 and "confirmed" in page.content.decode()
    member.refresh_from_db()
    assert member.email_verified_at is not None
    # The link used again answers the same, and nothing changes.
    assert site.get(verify_link(mail.outbox[0])).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"terms": ""}, "terms"),
        ({"email": "not-an-address"}, "email"),
        ({"password": "12345678"}, "password"),
        ({"password": "password123"}, "password"),
        ({"phone": "0612"}, "phone"),
        ({"phone": "06 12 34 56 78"}, "phone"),
        ({"first_name": ""}, "first_name"),
    ],
)
def test_bad_input_is_a_form_error_on_its_field_and_writes_nothing(site, change, field):
    before = (logins(), Member.objects.count(), Consent.objects.count(), Signup.objects.count())
    response = site.post("/join/", {**GOOD, **change})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field], errors
    assert f'id="id_{field}"' in response.content.decode()
    assert (logins(), Member.objects.count(), Consent.objects.count(), Signup.objects.count()) == before
    assert mail.outbox == []


def test_with_sign_up_switched_off_join_says_invitation_only_and_writes_nothing(site):
    ProgrammeSettings.objects.update(signup_open=False)
    page = site.get("/join/")
    assert page.status_code == 200 and "by invitation only" in page.content.decode()
    assert 'name="password"' not in page.content.decode()
    before = logins()
    assert "by invitation only" in site.post("/join/", GOOD).content.decode()
    assert logins() == before and mail.outbox == []


def test_an_api_created_member_who_joins_is_linked_once_verified(site):
    member = member_make("ERP-77", points=350, email="paul@example.com", first_name="Paul")
    site.post("/join/", {**GOOD, "email": "PAUL@example.com", "first_name": "Paulo"})
    # Before verification nothing is linked, and the login cannot log in.
    member.refresh_from_db()
    assert member.user is None
    user = get_user_model().objects.get(username="paul@example.com")
    assert not user.is_active and "_auth_user_id" not in site.session
    assert Member.objects.filter(email__iexact="paul@example.com").count() == 1
    assert not Client(HTTP_HOST=site.defaults["HTTP_HOST"]).login(
        username="paul@example.com", password=PASSWORD
    )
    assert Consent.objects.filter(member=member).count() == 0
    message = mail.outbox[0]
    assert "points and history" in message.body

    assert site.get(verify_link(message)).status_code == 200
    member.refresh_from_db()
    assert member.user_id == user.pk and member.email_verified_at is not None
    assert member.first_name == "Paul"  # the brand's details stay; blanks are filled
    assert member.last_name == "Martin" and member.phone == "+33612345678"
    assert Consent.objects.get(member=member, channel="email").ip_address == "203.0.113.7"
    assert Member.objects.filter(email__iexact="paul@example.com").count() == 1
    # The login works now, and its member is the one with the points.
    client = Client(HTTP_HOST=site.defaults["HTTP_HOST"])
    assert (
        client.post("/accounts/login/", {"username": "paul@example.com", "password": PASSWORD}).status_code
        == 302
    )
    assert Member.objects.get(user__username="paul@example.com").balance == 350


def test_joining_again_before_verifying_replaces_the_link(site):
    member_make(email="rita@example.com")
    site.post("/join/", {**GOOD, "email": "rita@example.com"})
    site.post("/join/", {**GOOD, "email": "rita@example.com", "password": "another-long-pass-26"})
    first, second = mail.outbox
    assert site.get(verify_link(first)).status_code == 400
    assert site.get(verify_link(second)).status_code == 200
    assert Member.objects.get(email="rita@example.com").user.check_password("another-long-pass-26")


def test_an_address_with_a_login_is_told_to_log_in_and_the_page_reveals_nothing(site):
    site.post("/join/", GOOD)
    mail.outbox.clear()
    other = Client(HTTP_HOST=site.defaults["HTTP_HOST"])
    response = other.post("/join/", {**GOOD, "password": "a-different-pass-26"})
    assert response.status_code == 302 and response["Location"] == "/join/sent/"
    assert "_auth_user_id" not in other.session
    assert Member.objects.filter(email="jeanne.martin@example.com").count() == 1 and logins() == 1
    (message,) = mail.outbox
    assert "already has an account" in message.body
    assert "/accounts/password-reset/" in message.body and "/accounts/login/" in message.body
    assert not Member.objects.get(email="jeanne.martin@example.com").user.check_password(
        "a-different-pass-26"
    )


def test_the_password_reset_works_for_a_member_who_joined(site):
    site.post("/join/", GOOD)
    mail.outbox.clear()
    assert (
        Client(HTTP_HOST=site.defaults["HTTP_HOST"])
        .post("/accounts/password-reset/", {"email": "jeanne.martin@example.com"})
        .status_code
        == 302
    )
    assert len(mail.outbox) == 1 and "/accounts/password-reset/" in mail.outbox[0].body


@pytest.mark.parametrize("tamper", ["expired", "tampered", "other-purpose"])
def test_an_expired_or_tampered_verification_link_fails(site, tamper):
    site.post("/join/", GOOD)
    path = verify_link(mail.outbox[0])
    later = timezone.now()
    if tamper == "expired":
        later += timedelta(days=3, minutes=1)
    elif tamper == "tampered":
        path = path.replace("/join/verify/", "/join/verify/x")
    else:
        path = path.replace("/join/verify/", "/join/invitation/")
    with time_machine.travel(later):
        page = site.get(path)
    assert page.status_code == 400
    assert ("expired" if tamper == "expired" else "does not work") in page.content.decode()
    assert Member.objects.get(email="jeanne.martin@example.com").email_verified_at is None


def test_two_sign_ups_of_one_address_racing_make_one_login_and_one_member(fresh_brand):
    connection.set_tenant(fresh_brand)
    member_make("RACE-1", email="race@example.com")

    def join(index):
        connection.set_tenant(fresh_brand)
        return signup_create(
            first_name="Race",
            last_name=f"R{index}",
            email="race@example.com",
            password=PASSWORD,
            consents={},
            terms=True,
            ip=None,
            base_url="http://x.localhost/",
        ).outcome

    results = run_concurrently(4, join)
    assert sorted(results) == ["pending", "pending", "pending", "pending"], results
    connection.set_tenant(fresh_brand)
    assert get_user_model().objects.filter(username="race@example.com").count() == 1
    assert Member.objects.filter(email="race@example.com").count() == 1

    def join_new(index):
        connection.set_tenant(fresh_brand)
        return signup_create(
            first_name="New",
            last_name="N",
            email="new@example.com",
            password=PASSWORD,
            consents={},
            terms=True,
            ip=None,
            base_url="http://x.localhost/",
        ).outcome

    results = run_concurrently(4, join_new)
    assert sorted(results) == ["created", "registered", "registered", "registered"], results
    connection.set_tenant(fresh_brand)
    assert Member.objects.filter(email="new@example.com").count() == 1


def test_an_address_gets_five_sign_up_e_mails_an_hour_at_most(site):
    for _ in range(7):
        assert site.post("/join/", {**GOOD, "email": "flood@example.com"}).status_code == 302
        site.logout()
    assert len(mail.outbox) == 5
    assert Member.objects.filter(email="flood@example.com").count() == 1
