"""Activation codes (README.md, Activation codes): their format and storage, issuing (service, API,
backoffice), the attempts and their limits per code and per address, and `/activate/` end to end
with the test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from core.errors import Conflict, InvalidInput, Refused
from loyalty.models import ActivationAttempt, ActivationCode, Member
from loyalty.services.activation import (
    ALPHABET,
    ATTEMPTS_KEPT,
    CODE_LENGTH,
    activation_attempt,
    activation_attempts_purge,
    activation_code_issue,
    activation_complete,
    code_digests,
    code_normalise,
)
from loyalty.services.members import member_anonymise, member_block
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import error_of, run_concurrently

PASSWORD = "plume-verte-2026"
WRONG = "This code or postcode is wrong"


def reseller(external_id: str = "R-1001", **data) -> Member:
    fields = {"kind": "reseller", "company_name": "Tabac du Centre", "postal_code": "75011", **data}
    return member_make(external_id, **fields)


def attempt(code: str, postal_code: str = "75011", ip: str = "198.51.100.1"):
    return activation_attempt(code=code, postal_code=postal_code, ip=ip)


def refusal(code: str, postal_code: str = "75011", ip: str = "198.51.100.1") -> Refused:
    with pytest.raises(Refused) as caught:
        attempt(code, postal_code, ip)
    return caught.value


# --- format, storage ------------------------------------------------------------------------------


def test_codes_are_crockford_base32_grouped_with_50_bits(in_a):
    assert len(set(ALPHABET)) == 32 and not set("ILOU") & set(ALPHABET)
    assert CODE_LENGTH * 5 >= 40
    member = reseller()
    codes = {activation_code_issue(member=member).code for _ in range(50)}
    assert len(codes) == 50
    assert all(
        re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}", c) for c in codes
    )


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("K7QM-2XPD-9R", "K7QM2XPD9R"),
        ("k7qm 2xpd 9r", "K7QM2XPD9R"),
        (" k7qm\u20132xpd\u20139r ", "K7QM2XPD9R"),  # en dashes, as a word processor writes them
        ("OOII-LLAB-CD", "001111ABCD"),
        ("K7QM-2XPD-9", None),
        ("K7QM-2XPD-9RX", None),
        ("K7QM-2XPD-9U", None),
        ("K7QM-2XPD-9#", None),
        ("", None),
    ],
)
def test_typed_codes_are_normalised(typed, normalised):
    assert code_normalise(typed) == normalised


def test_only_an_hmac_is_stored_nothing_readable(in_a):
    issued = activation_code_issue(member=reseller())
    plain = issued.code.replace("-", "")
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(c)::text FROM loyalty_activationcode c")
        (row,) = cursor.fetchone()
    assert plain not in row.upper() and issued.code not in row
    stored = ActivationCode.objects.get()
    assert stored.digest == code_digests(plain)[0] and len(stored.digest) == 64
    attempt(issued.code)
    with connection.cursor() as cursor:
        cursor.execute("SELECT string_agg(row_to_json(a)::text, '') FROM loyalty_activationattempt a")
        (attempts,) = cursor.fetchone()
    assert plain not in attempts.upper()


def test_issuing_revokes_the_older_code_and_one_code_is_in_force(in_a):
    member = reseller()
    first = activation_code_issue(member=member)
    second = activation_code_issue(member=member)
    rows = {row.pk: row for row in ActivationCode.objects.all()}
    assert rows[first.activation_code.pk].revoked_at is not None
    assert rows[second.activation_code.pk].revoked_at is None
    assert second.expires_at - timezone.now() > timedelta(days=89, hours=23)
    assert refusal(first.code).code == "revoked"
    assert attempt(second.code).member == member
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivationCode.objects.create(
            member=member, digest="0" * 64, source="api", issued_at=timezone.now(),
            expires_at=timezone.now() + timedelta(days=1),
        )  # fmt: skip


def test_the_validity_is_the_programmes_setting(api_a, in_a):
    assert api_a.send("patch", "/api/v1/programme", {"activation_code_days": 10}).status_code == 200
    connection.set_tenant(in_a)
    issued = activation_code_issue(member=reseller())
    assert timedelta(days=9, hours=23) < issued.expires_at - timezone.now() <= timedelta(days=10)
    error = error_of(api_a.send("patch", "/api/v1/programme", {"activation_code_days": 0}), 400)
    assert error["field"] == "activation_code_days"


@pytest.mark.parametrize("change", ["no postcode", "blocked", "anonymised"])
def test_no_code_for_a_member_without_postcode_blocked_or_anonymised(in_a, change):
    member = reseller(postal_code="" if change == "no postcode" else "75011")
    if change == "blocked":
        member_block(member=member, by=None, reason="unpaid")
    if change == "anonymised":
        member_anonymise(member=member, by=None, reason="asked")
    with pytest.raises(Refused) as caught:
        activation_code_issue(member=member)
    codes = {
        "no postcode": "postal_code_missing",
        "blocked": "member_blocked",
        "anonymised": "member_anonymised",
    }
    assert caught.value.code == codes[change]
    assert not ActivationCode.objects.exists()


# --- attempts -------------------------------------------------------------------------------------


def test_each_way_of_failing_has_its_message(in_a, time_machine):
    member = reseller(email="tabac@example.com")
    unknown = refusal("ZZZZ-ZZZZ-ZZ")
    assert unknown.code == "unknown" and unknown.message.startswith(WRONG)
    issued = activation_code_issue(member=member)
    wrong_postcode = refusal(issued.code, "75012")
    # A real code with a wrong postcode reads exactly as a code that does not exist.
    assert wrong_postcode.message == unknown.message
    # Postcodes compare without spaces and case.
    accepted = attempt(issued.code.lower().replace("-", " "), " 75 011 ")
    activation_complete(code_id=accepted.pk, password=PASSWORD)
    used = refusal(issued.code)
    assert used.code == "used" and "already used" in used.message and "Log in" in used.message
    # The state is said with the right postcode only: a guesser without it learns nothing.
    assert refusal(issued.code, "99999").message == unknown.message

    revoked = activation_code_issue(member=member)
    activation_code_issue(member=member)
    assert refusal(revoked.code).code == "revoked"
    assert "replaced by a newer one" in refusal(revoked.code).message

    expired = activation_code_issue(member=member)
    time_machine.move_to(timezone.now() + timedelta(days=91))
    error = refusal(expired.code)
    assert error.code == "expired" and "expired on" in error.message


def test_malformed_input_names_the_field_and_counts_nothing(in_a):
    with pytest.raises(InvalidInput) as caught:
        attempt("K7QM")
    assert caught.value.field == "code"
    with pytest.raises(InvalidInput) as caught:
        attempt("K7QM-2XPD-9R", "  ")
    assert caught.value.field == "postal_code"
    assert not ActivationAttempt.objects.exists()


def test_five_wrong_postcodes_lock_the_code_the_right_one_included_for_15_minutes(in_a, time_machine):
    issued = activation_code_issue(member=reseller())
    time_machine.move_to(timezone.now())
    answers = [refusal(issued.code, "99999", ip=f"198.51.100.{n}").code for n in range(5)]
    assert answers == ["wrong_postcode"] * 4 + ["code_locked"]
    locked = refusal(issued.code, "75011")
    assert locked.code == "code_locked" and "even with the right one" in locked.message
    assert "15 minutes" in locked.message
    time_machine.shift(timedelta(minutes=14))
    assert refusal(issued.code).code == "code_locked"
    time_machine.shift(timedelta(minutes=1, seconds=1))
    assert attempt(issued.code).pk == issued.activation_code.pk


def test_twenty_failures_from_an_address_refuse_its_next_attempts_right_code_included(in_a, time_machine):
    issued = activation_code_issue(member=reseller())
    time_machine.move_to(timezone.now())
    for n in range(20):
        assert refusal(f"ZZZZ-ZZZZ-{ALPHABET[n]}Z", ip="192.0.2.9").code == "unknown"
        time_machine.shift(timedelta(seconds=10))
    blocked = refusal(issued.code, ip="192.0.2.9")
    assert blocked.code == "ip_locked" and "Too many failed attempts from your connection" in blocked.message
    # Another address is not concerned; refusals do not prolong the lock.
    assert attempt(issued.code, ip="192.0.2.10").pk == issued.activation_code.pk
    time_machine.shift(timedelta(minutes=7))  # the first failure leaves the 10-minute window
    assert attempt(issued.code, ip="192.0.2.9").pk == issued.activation_code.pk


def test_the_nightly_run_purges_attempts_older_than_what_is_kept(in_a, time_machine):
    issued = activation_code_issue(member=reseller())
    time_machine.move_to(timezone.now())
    refusal(issued.code, "99999")
    time_machine.shift(ATTEMPTS_KEPT - timedelta(days=1))
    refusal(issued.code, "99999")
    assert activation_attempts_purge() == 0
    time_machine.shift(timedelta(days=1, seconds=1))
    assert activation_attempts_purge() == 1
    assert ActivationAttempt.objects.filter(code=issued.activation_code).count() == 1


def test_two_completions_at_once_use_a_code_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    member = reseller()
    code = attempt(activation_code_issue(member=member).code)

    def complete(index: int):
        connection.set_tenant(fresh_brand)
        return activation_complete(code_id=code.pk, password=f"{PASSWORD}-{index}")

    results = run_concurrently(4, complete)
    connection.set_tenant(fresh_brand)
    users = [result for result in results if not isinstance(result, Exception)]
    refused = [result for result in results if isinstance(result, Refused)]
    assert len(users) == 1 and len(refused) == 3, results
    assert {error.code for error in refused} == {"used"}
    assert get_user_model().objects.count() == 2  # the brand's admin and the member's login
    assert Member.objects.get(pk=member.pk).user_id == users[0].pk


def test_attempts_at_once_on_one_code_lock_it_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    issued = activation_code_issue(member=reseller())

    def wrong(index: int):
        connection.set_tenant(fresh_brand)
        return activation_attempt(code=issued.code, postal_code="99999", ip=f"198.51.100.{index}")

    results = run_concurrently(8, wrong)
    connection.set_tenant(fresh_brand)
    codes = sorted(result.code for result in results)
    assert codes == ["code_locked"] * 4 + ["wrong_postcode"] * 4, codes
    assert ActivationAttempt.objects.filter(outcome="wrong_postcode").count() == 5


# --- the brand API --------------------------------------------------------------------------------


def test_the_api_issues_a_code_shown_once(api_a, in_a):
    member = reseller()
    response = api_a.post(f"/api/v1/members/{member.external_id}/activation-codes")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"code", "expires_at"} and code_normalise(body["code"]) is not None
    connection.set_tenant(in_a)
    assert attempt(body["code"]).member == member
    again = api_a.post(f"/api/v1/members/{member.external_id}/activation-codes").json()
    connection.set_tenant(in_a)
    assert again["code"] != body["code"] and refusal(body["code"]).code == "revoked"


def test_the_api_refuses_unknown_members_and_those_who_cannot_activate(api_a, in_a):
    error = error_of(api_a.post("/api/v1/members/nobody/activation-codes"), 404)
    assert error["field"] == "external_id"
    connection.set_tenant(in_a)
    reseller("R-2", postal_code="")
    error = error_of(api_a.post("/api/v1/members/R-2/activation-codes"), 422)
    assert (error["code"], error["field"]) == ("postal_code_missing", "postal_code")
    connection.set_tenant(in_a)
    member_block(member=reseller("R-3"), by=None, reason="unpaid")
    assert error_of(api_a.post("/api/v1/members/R-3/activation-codes"), 422)["code"] == "member_blocked"
    connection.set_tenant(in_a)
    assert not ActivationCode.objects.exists()


def test_the_operation_is_described_with_its_errors():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/members/{external_id}/activation-codes"]["post"]
    assert operation["summary"] and operation["description"]
    assert {"201", "404", "422", "401"} <= set(operation["responses"])
    assert "postal_code_missing" in operation["responses"]["422"]["description"]
    assert set(operation["responses"]["201"]["content"]["application/json"]["schema"]) >= {"$ref"}


# --- the backoffice -------------------------------------------------------------------------------


def test_the_backoffice_issues_a_code_shows_it_once_and_the_states(staff_a):
    member = reseller()
    page = staff_a.get(f"/backoffice/loyalty/member/{member.pk}/change/")
    assert b"Issue a new activation code" in page.content
    url = f"/backoffice/loyalty/member/{member.pk}/activation-code/"
    assert staff_a.get(url).status_code == 200 and not ActivationCode.objects.exists()
    response = staff_a.post(url)
    code = re.search(r'id="activation-code">([^<]+)<', response.content.decode()).group(1)
    assert "no-store" in response["Cache-Control"]
    assert attempt(code).member == member
    row = ActivationCode.objects.get()
    assert (row.source, row.issued_by.username) == ("backoffice", "admin@alpha.example")
    page = staff_a.get(f"/backoffice/loyalty/member/{member.pk}/change/").content.decode()
    assert "active until" in page and code not in page
    staff_a.post(url)
    page = staff_a.get(f"/backoffice/loyalty/member/{member.pk}/change/").content.decode()
    assert "revoked on" in page and "active until" in page


def test_the_backoffice_says_why_it_cannot_issue(staff_a):
    member = reseller(postal_code="")
    response = staff_a.post(f"/backoffice/loyalty/member/{member.pk}/activation-code/")
    assert b"no postcode" in response.content and not ActivationCode.objects.exists()


# --- /activate/ -----------------------------------------------------------------------------------


@pytest.fixture
def site(in_a):
    return Client(HTTP_HOST=host_of(in_a), REMOTE_ADDR="203.0.113.40")


def test_activation_sets_the_password_and_logs_the_member_in(site, in_a):
    member = reseller(email="Tabac@Example.com")
    issued = activation_code_issue(member=member)
    page = site.get("/activate/")
    assert page.status_code == 200
    assert b'name="code"' in page.content and b'name="postal_code"' in page.content
    response = site.post("/activate/", {"code": issued.code.lower(), "postal_code": "75011"})
    assert (response.status_code, response["Location"]) == (302, "/activate/password/")
    page = site.get("/activate/password/")
    assert b"tabac@example.com" in page.content and b'name="new_password2"' in page.content
    mismatch = site.post("/activate/password/", {"new_password1": PASSWORD, "new_password2": "other"})
    assert b"not the same" in mismatch.content
    weak = site.post("/activate/password/", {"new_password1": "12345678", "new_password2": "12345678"})
    assert b"too common" in weak.content or b"entirely numeric" in weak.content
    assert not Member.objects.get(pk=member.pk).user_id
    done = site.post("/activate/password/", {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert done.status_code == 302 and done["Location"] in {"/", "/account/"}
    member.refresh_from_db()
    assert site.session["_auth_user_id"] == str(member.user_id)
    assert member.user.username == "tabac@example.com" and member.user.check_password(PASSWORD)
    assert ActivationCode.objects.get().used_at is not None
    # Logged out, the member logs in with that login and password; the code now says it was used.
    other = Client(HTTP_HOST=host_of(in_a))
    assert (
        other.post("/accounts/login/", {"username": "tabac@example.com", "password": PASSWORD}).status_code
        == 302
    )
    again = other.post("/activate/", {"code": issued.code, "postal_code": "75011"})
    assert b"already used" in again.content and b"/accounts/password-reset/" in again.content


def test_a_member_with_a_login_keeps_it_and_gets_the_new_password(site, in_a):
    member = member_make("R-9", login=True, postal_code="13001")
    site.post("/activate/", {"code": activation_code_issue(member=member).code, "postal_code": "13001"})
    site.post("/activate/password/", {"new_password1": PASSWORD, "new_password2": PASSWORD})
    member.refresh_from_db()
    assert member.user.username == "R-9@example.com" and member.user.check_password(PASSWORD)
    assert get_user_model().objects.filter(username__iexact="r-9").count() == 0


def test_the_page_says_plainly_why_an_attempt_is_refused(site, in_a):
    issued = activation_code_issue(member=reseller())
    wrong = site.post("/activate/", {"code": "ZZZZ-ZZZZ-ZZ", "postal_code": "75011"})
    assert wrong.status_code == 200 and WRONG.encode() in wrong.content
    short = site.post("/activate/", {"code": "ZZZZ", "postal_code": "75011"})
    assert b"10 letters and digits" in short.content
    for _ in range(5):
        site.post("/activate/", {"code": issued.code, "postal_code": "00000"})
    locked = site.post("/activate/", {"code": issued.code, "postal_code": "75011"})
    assert locked.status_code == 429 and b"This code is locked" in locked.content
    assert "activation" not in site.session


def test_step_two_needs_step_one_and_expires(site, in_a, time_machine):
    assert b"type your code and postcode again" in site.get("/activate/password/").content
    issued = activation_code_issue(member=reseller())
    time_machine.move_to(timezone.now())
    site.post("/activate/", {"code": issued.code, "postal_code": "75011"})
    time_machine.shift(timedelta(minutes=16))
    late = site.post("/activate/password/", {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert b"type your code and postcode again" in late.content
    assert ActivationCode.objects.get().used_at is None


def test_a_code_replaced_between_the_steps_is_refused_at_step_two(site, in_a):
    member = reseller()
    site.post("/activate/", {"code": activation_code_issue(member=member).code, "postal_code": "75011"})
    activation_code_issue(member=member)
    response = site.post("/activate/password/", {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert b"replaced by a newer one" in response.content
    assert Member.objects.get(pk=member.pk).user_id is None


def test_a_staff_login_is_never_set_by_a_code_and_a_blocked_member_is_refused(in_a):
    member = reseller()
    staff = get_user_model().objects.create_user(
        username="rep@alpha.example", password=PASSWORD, is_staff=True
    )
    Member.objects.filter(pk=member.pk).update(user=staff)
    code = attempt(activation_code_issue(member=member).code)
    with pytest.raises(Conflict) as caught:
        activation_complete(code_id=code.pk, password="another-pass-2026")
    assert caught.value.code == "staff_login"
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD) and ActivationCode.objects.get().used_at is None

    other = reseller("R-BLOCKED")
    issued = activation_code_issue(member=other)
    member_block(member=other, by=None, reason="unpaid")
    assert refusal(issued.code).code == "member_blocked"
