"""Confidential codes of a space: made in clear once and stored as a keyed digest, a right code
grants the space (recorded with the code, once), a revoked one no longer does, and wrong codes
are limited as activation codes are: per member and space, and per address, answered 429 on the
site with when to try again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from billing.tasks_vip import vip_brand_nightly_task
from clubs.models import SpaceCode, SpaceCodeAttempt, SpaceGrant
from clubs.selectors import space_may_enter
from clubs.services import space_code_attempt, space_code_issue, space_code_revoke
from core.errors import InvalidInput, Refused
from loyalty.selectors.activation import IP_FAILURES
from loyalty.services.activation import ATTEMPTS_KEPT, CODE_FAILURES
from tests.conftest import host_of
from tests.factories import member_make

from .factories import content_make, space_make

pytestmark = pytest.mark.django_db(transaction=False)
WRONG = "AAAA-AAAA-AA"


def test_a_code_is_stored_as_a_digest_and_grants_the_space_once(in_a):
    space = space_make("pharma", entry="code")
    issued = space_code_issue(space=space, label="Pharmacie du Parc")
    row = SpaceCode.objects.get()
    assert issued.code.replace("-", "") not in row.digest and len(row.digest) == 64
    member = member_make()
    grant = space_code_attempt(
        space=space, member=member, code=issued.code.lower().replace("-", " "), ip="10.0.0.1"
    )
    assert (grant.member_id, grant.code_id) == (member.pk, row.pk)
    assert space_may_enter(space=space, member=member)
    again = space_code_attempt(space=space, member=member, code=issued.code, ip="10.0.0.1")
    assert again.pk == grant.pk and SpaceGrant.objects.count() == 1


def test_a_code_of_another_space_or_a_revoked_one_does_nothing(in_a):
    space, other = space_make("pharma", entry="code"), space_make("golf", entry="code")
    issued = space_code_issue(space=other)
    member = member_make()
    with pytest.raises(Refused) as refused:
        space_code_attempt(space=space, member=member, code=issued.code, ip=None)
    assert refused.value.code == "wrong"
    revoked = space_code_issue(space=space)
    space_code_revoke(space_code=revoked.space_code)
    with pytest.raises(Refused):
        space_code_attempt(space=space, member=member, code=revoked.code, ip=None)
    assert not space_may_enter(space=space, member=member)


def test_codes_only_for_code_spaces_and_a_malformed_code_is_not_counted(in_a):
    vip_space = space_make("vip-room", entry="vip")
    with pytest.raises(InvalidInput):
        space_code_issue(space=vip_space)
    space = space_make("pharma", entry="code")
    with pytest.raises(InvalidInput) as error:
        space_code_attempt(space=space, member=member_make(), code="short", ip=None)
    assert error.value.field == "code" and not SpaceCodeAttempt.objects.exists()


def test_wrong_codes_lock_the_member_out_even_with_the_right_code(in_a):
    space = space_make("pharma", entry="code")
    issued = space_code_issue(space=space)
    member = member_make()
    codes = []
    for _attempt in range(CODE_FAILURES):
        with pytest.raises(Refused) as refused:
            space_code_attempt(space=space, member=member, code=WRONG, ip=None)
        codes.append(refused.value.code)
    assert codes == ["wrong"] * (CODE_FAILURES - 1) + ["member_locked"]
    with pytest.raises(Refused) as refused:
        space_code_attempt(space=space, member=member, code=issued.code, ip=None)
    assert refused.value.code == "member_locked" and "Try again in 15 minutes" in refused.value.message
    assert not space_may_enter(space=space, member=member)
    # Another member is not locked by them.
    assert space_code_attempt(space=space, member=member_make(), code=issued.code, ip=None)


def test_an_address_trying_many_members_is_locked(in_a):
    space = space_make("pharma", entry="code")
    issued = space_code_issue(space=space)
    for _attempt in range(IP_FAILURES):
        with pytest.raises(Refused):
            space_code_attempt(space=space, member=member_make(), code=WRONG, ip="203.0.113.9")
    with pytest.raises(Refused) as refused:
        space_code_attempt(space=space, member=member_make(), code=issued.code, ip="203.0.113.9")
    assert refused.value.code == "ip_locked"
    assert space_code_attempt(space=space, member=member_make(), code=issued.code, ip="203.0.113.10")


def test_the_site_form_grants_and_answers_429_when_locked(in_a):
    space = space_make("pharma", entry="code")
    _page, offer = content_make(space)
    issued = space_code_issue(space=space)
    member = member_make(login=True)
    client = Client(HTTP_HOST=host_of(connection.tenant))
    client.force_login(member.user)
    assert "HOTEL-SECRET-10" not in client.get("/club/pharma/").content.decode()
    assert client.get(f"/club/pharma/offers/{offer.pk}/").status_code == 404
    for _attempt in range(CODE_FAILURES - 1):
        response = client.post("/club/pharma/code/", {"code": WRONG})
        assert response.status_code == 200 and "This code is not right." in response.content.decode()
    locked = client.post("/club/pharma/code/", {"code": WRONG})
    assert locked.status_code == 429 and "Too many wrong codes" in locked.content.decode()
    assert client.post("/club/pharma/code/", {"code": issued.code}).status_code == 429
    # Another member with the right code enters and sees the offer.
    other = member_make(login=True)
    client.force_login(other.user)
    response = client.post("/club/pharma/code/", {"code": issued.code})
    assert response.status_code == 302 and response["Location"] == "/club/pharma/"
    assert "HOTEL-SECRET-10" in client.get("/club/pharma/").content.decode()
    assert client.get("/club/pharma/code/").status_code == 302  # already in


def test_the_code_form_needs_a_login_and_a_code_space(in_a):
    space_make("vip-room", entry="vip")
    space_make("pharma", entry="code")
    client = Client(HTTP_HOST=host_of(connection.tenant))
    assert client.get("/club/pharma/code/").status_code == 302  # to the login page
    client.force_login(member_make(login=True).user)
    assert client.get("/club/vip-room/code/").status_code == 404


def test_old_attempts_are_purged_by_the_nightly_run(in_a):
    space = space_make("pharma", entry="code")
    with pytest.raises(Refused):
        space_code_attempt(space=space, member=member_make(), code=WRONG, ip=None)
    SpaceCodeAttempt.objects.update(at=timezone.now() - ATTEMPTS_KEPT - timedelta(days=1))
    with pytest.raises(Refused):
        space_code_attempt(space=space, member=member_make(), code=WRONG, ip=None)
    assert vip_brand_nightly_task(force=True)["club_code_attempts_purged"] == 1
    assert SpaceCodeAttempt.objects.count() == 1
