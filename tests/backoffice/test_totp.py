"""Staff two-factor authentication (core.totp): RFC 6238's codes, the code asked after the password
at the backoffice's login (a wrong code, a replayed code, the lock), the setup with its QR code
and recovery codes, and the owner's rule making it mandatory."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from core.models import StaffProfile, StaffSettings
from core.totp import (
    recovery_code_digest,
    totp_code,
    totp_match,
    totp_qr_svg,
    totp_secret_new,
    totp_step,
    totp_uri,
)
from tenants.models import AuthFailure
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import staff_make

# RFC 6238's appendix B: the SHA-1 secret and the 8-digit codes at those times (the last 6 here).
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")]
NOW = datetime(2026, 12, 1, 10, 0, 10, tzinfo=UTC)  # 10 s into a 30-second step
PAGE = "/backoffice/password_change/"  # a backoffice page any staff user may open


@pytest.mark.parametrize(("at", "code"), RFC_VECTORS)
def test_the_codes_are_rfc_6238s(at, code):
    assert totp_code(secret=RFC_SECRET, step=totp_step(at)) == code
    assert totp_match(secret=RFC_SECRET, code=code, after_step=None, at=at) == totp_step(at)


def test_a_code_is_taken_one_step_either_side_and_never_at_or_before_the_last_one():
    secret = totp_secret_new()
    assert len(secret) == 32 and base64.b32decode(secret)
    now = totp_step()
    for step in (now - 1, now, now + 1):
        assert totp_match(secret=secret, code=totp_code(secret=secret, step=step), after_step=None) == step
    assert totp_match(secret=secret, code=totp_code(secret=secret, step=now - 2), after_step=None) is None
    assert totp_match(secret=secret, code=totp_code(secret=secret, step=now), after_step=now) is None
    assert totp_match(secret=secret, code="12345", after_step=None) is None
    assert totp_match(secret=secret, code="abcdef", after_step=None) is None


def test_the_qr_code_is_an_inline_svg_of_the_otpauth_uri_without_style_attributes():
    uri = totp_uri(secret="JBSWY3DPEHPK3PXP", account="ana@staff.example", issuer="Club Été")
    assert uri.startswith("otpauth://totp/Club%20%C3%89t%C3%A9%3Aana@staff.example?secret=JBSWY3DPEHPK3PXP")
    assert "issuer=Club+%C3%89t%C3%A9" in uri and "digits=6" in uri and "period=30" in uri
    svg = totp_qr_svg(uri)
    assert svg.startswith("<svg") and "style=" not in svg


def _login(client: Client, user, next_path: str = "/backoffice/"):
    return client.post(
        f"/backoffice/login/?next={next_path}",
        {"username": user.username, "password": TEST_PASSWORD, "next": next_path},
    )


def _code(user, *, at: datetime = NOW, offset: int = 0) -> str:
    secret = StaffProfile.objects.get(user=user).totp_secret
    return totp_code(secret=secret, step=totp_step(at.timestamp()) + offset)


@pytest.fixture
def with_app(in_a):
    return staff_make("manager", totp_secret=totp_secret_new())


@pytest.fixture
def backoffice(in_a):
    return Client(HTTP_HOST=host_of(in_a))


@time_machine.travel(NOW, tick=False)
def test_the_login_asks_the_apps_code_after_the_password(with_app, backoffice):
    response = _login(backoffice, with_app)
    assert response.status_code == 302
    # The password alone reaches nothing: every page leads to the code, the site's included.
    for path in ("/backoffice/", "/backoffice/loyalty/member/", "/account/"):
        page = backoffice.get(path)
        assert page.status_code == 302 and page["Location"].startswith("/backoffice/two-factor/?next=")
    page = backoffice.get("/backoffice/two-factor/?next=/backoffice/")
    assert page.status_code == 200 and 'name="code"' in page.content.decode()

    wrong = backoffice.post("/backoffice/two-factor/", {"code": "000000", "next": "/backoffice/"})
    assert wrong.status_code == 200 and "This code is wrong or was used already." in wrong.content.decode()
    assert backoffice.get("/backoffice/")["Location"].startswith("/backoffice/two-factor/")

    right = backoffice.post("/backoffice/two-factor/", {"code": _code(with_app), "next": "/backoffice/"})
    assert right.status_code == 302 and right["Location"] == "/backoffice/"
    assert backoffice.get(PAGE).status_code == 200
    assert StaffProfile.objects.get(user=with_app).totp_last_step == totp_step(NOW.timestamp())


@time_machine.travel(NOW, tick=False)
def test_a_code_used_once_is_refused_again_even_within_its_step(with_app, backoffice):
    code = _code(with_app)
    _login(backoffice, with_app)
    assert backoffice.post("/backoffice/two-factor/", {"code": code})["Location"] == "/backoffice/"
    backoffice.post("/backoffice/logout/")

    other = Client(HTTP_HOST=backoffice.defaults["HTTP_HOST"])  # someone who saw the code
    _login(other, with_app)
    replay = other.post("/backoffice/two-factor/", {"code": code})
    assert replay.status_code == 200 and "used already" in replay.content.decode()
    # The previous step's code is older than the one used: refused too; the next step's is taken.
    assert other.post("/backoffice/two-factor/", {"code": _code(with_app, offset=-1)}).status_code == 200
    assert other.post("/backoffice/two-factor/", {"code": _code(with_app, offset=1)}).status_code == 302


@time_machine.travel(NOW, tick=False)
def test_the_sixth_wrong_code_locks_codes_the_right_one_included_and_a_new_password_login_does_not_reset_it(
    with_app, backoffice
):
    _login(backoffice, with_app)
    for _attempt in range(3):
        assert backoffice.post("/backoffice/two-factor/", {"code": "111111"}).status_code == 200
    # Logging in again (the password is right) does not forgive the wrong codes.
    backoffice.post("/backoffice/logout/")
    _login(backoffice, with_app)
    for _attempt in range(2):
        assert backoffice.post("/backoffice/two-factor/", {"code": "111111"}).status_code == 200
    locked = backoffice.post("/backoffice/two-factor/", {"code": "111111"})
    assert locked.status_code == 429 and "Too many wrong codes" in locked.content.decode()
    assert backoffice.get("/backoffice/")["Location"].startswith("/backoffice/login/")  # logged out

    _login(backoffice, with_app)
    refused = backoffice.post("/backoffice/two-factor/", {"code": _code(with_app)})
    assert refused.status_code == 429
    assert StaffProfile.objects.get(user=with_app).totp_last_step is None
    assert AuthFailure.objects.filter(account=f"totp:{with_app.username}").count() == 6

    with time_machine.travel(NOW + timedelta(minutes=16), tick=False):
        _login(backoffice, with_app)
        code = _code(with_app, at=NOW + timedelta(minutes=16))
        assert backoffice.post("/backoffice/two-factor/", {"code": code}).status_code == 302


def _setup_confirm(client: Client, user) -> list[str]:
    page = client.get("/backoffice/two-factor/setup/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and 'name="code"' in body
    own = body[body.index('id="staff-page"') :]
    assert "style=" not in own and "<style>" not in own  # the CSP refuses both
    secret = re.search(r'class="[^"]*totp-secret[^"]*">([A-Z2-7]{32})<', body).group(1)
    assert secret == StaffProfile.objects.get(user=user).totp_secret
    wrong = client.post("/backoffice/two-factor/setup/", {"action": "confirm", "code": "000000"})
    assert wrong.status_code == 200 and StaffProfile.objects.get(user=user).totp_confirmed_at is None
    code = totp_code(secret=secret, step=totp_step())
    done = client.post("/backoffice/two-factor/setup/", {"action": "confirm", "code": code})
    assert done.status_code == 200
    codes = re.findall(r"<li>([0-9A-Z]{5}-[0-9A-Z]{5})</li>", done.content.decode())
    assert len(codes) == 10
    return codes


def test_setup_confirms_with_a_first_code_and_shows_recovery_codes_stored_hashed(in_a, backoffice):
    user = staff_make("support")
    _login(backoffice, user)
    assert backoffice.get(PAGE).status_code == 200  # not mandatory: no second factor yet
    codes = _setup_confirm(backoffice, user)
    profile = StaffProfile.objects.get(user=user)
    assert profile.totp_confirmed_at is not None
    assert profile.recovery_codes == [recovery_code_digest(code) for code in codes]
    assert not any(code in str(profile.recovery_codes) for code in codes)
    assert backoffice.get(PAGE).status_code == 200  # this session passed the code

    # Next login: a recovery code instead of the app's, typed loosely, works once.
    backoffice.post("/backoffice/logout/")
    _login(backoffice, user)
    typed = codes[0].lower().replace("-", " ")
    assert backoffice.post("/backoffice/two-factor/", {"code": typed})["Location"] == "/backoffice/"
    assert len(StaffProfile.objects.get(user=user).recovery_codes) == 9
    backoffice.post("/backoffice/logout/")
    _login(backoffice, user)
    assert backoffice.post("/backoffice/two-factor/", {"code": codes[0]}).status_code == 200


def test_the_owner_makes_it_mandatory_then_a_staff_user_without_an_app_sets_it_up_first(in_a, backoffice):
    StaffSettings.objects.update_or_create(pk=1, defaults={"two_factor_required": True})
    user = staff_make("analyst")
    assert _login(backoffice, user).status_code == 302
    for path in ("/backoffice/", "/backoffice/two-factor/", "/account/"):
        page = backoffice.get(path)
        assert page.status_code == 302 and page["Location"].startswith("/backoffice/two-factor/setup/?next=")
    page = backoffice.get("/backoffice/two-factor/setup/")
    assert "requires a second factor" in page.content.decode()
    assert "Stop using" not in page.content.decode()
    _setup_confirm(backoffice, user)
    assert backoffice.get(PAGE).status_code == 200
    # Mandatory: it cannot be turned off.
    backoffice.post("/backoffice/two-factor/setup/", {"action": "remove"})
    assert StaffProfile.objects.get(user=user).totp_confirmed_at is not None


def test_the_site_login_of_a_staff_user_with_an_app_leads_to_the_code_too(with_app, backoffice):
    response = backoffice.post("/accounts/login/", {"username": with_app.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert backoffice.get("/backoffice/")["Location"].startswith("/backoffice/two-factor/")
