"""Staff accounts in a real browser: an owner invites a support user (the staff
list, the invitation form), the invitee chooses a password from the e-mailed link, sets up the
two-factor app from its QR code and logs in again with a code; the owner's staff settings.
Screenshots of each page go to SCREENSHOTS_DIR (the CSP of the frame around them is the look's:
tests/e2e/test_backoffice_in_browser.py; their own part is checked in tests/backoffice/); none of
these pages, the ones outside the backoffice's frame included, logs a violation of the CSP."""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.core import mail
from django.db import connection

from core.totp import totp_code, totp_step
from tests.conftest import TEST_PASSWORD

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots"))
PASSWORD = "an-invited-staff-pass-2026"


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"staff-{name}.png"), full_page=True)


def _code_of(brand, username: str, *, offset: int = 0) -> str:
    from core.models import StaffProfile

    connection.set_tenant(brand)
    secret = StaffProfile.objects.get(user__username=username).totp_secret
    connection.set_schema_to_public()
    return totp_code(secret=secret, step=totp_step() + offset)


def test_an_invitation_a_password_a_second_factor_and_the_settings(fresh_brand, site_server, page, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(f"{page.url}: {m.text}") if "Security Policy" in m.text else None,
    )
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"

    page.goto(base + "/backoffice/login/")
    page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")

    page.goto(base + "/backoffice/auth/user/add/")
    page.fill("input[name=email]", "zoe@staff.example")
    page.select_option("select[name=role]", "support")
    _shot(page, "invite")
    page.click("#staff-form button[type=submit]")
    page.wait_for_url(base + "/backoffice/auth/user/")
    assert "zoe@staff.example" in page.content()
    _shot(page, "list")

    page.goto(base + "/backoffice/staff/settings/")
    _shot(page, "settings")
    page.fill("input[name=idle_minutes]", "45")
    page.click("#staff-form button[type=submit]")
    page.wait_for_selector("text=The staff settings are saved.")

    link = re.search(r"https?://\S+/backoffice/invitation/\S+/", mail.outbox[0].body).group(0)
    page.context.clear_cookies()
    page.goto(link)
    _shot(page, "invitation")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("form:has(input[name=password1]) button[type=submit]")
    page.wait_for_url(re.compile(r".*/backoffice/.*"))

    page.goto(base + "/backoffice/two-factor/setup/")
    page.wait_for_selector(".totp-qr svg")
    _shot(page, "two-factor-setup")
    page.fill("input[name=code]", _code_of(fresh_brand, "zoe@staff.example"))
    page.click("form:has(input[value=confirm]) button[type=submit]")
    page.wait_for_selector(".recovery-codes li")
    assert page.locator(".recovery-codes li").count() == 10
    _shot(page, "recovery-codes")

    page.context.clear_cookies()
    page.goto(base + "/backoffice/login/")
    page.fill("input[name=username]", "zoe@staff.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/backoffice/two-factor/.*"))
    page.fill("input[name=code]", "000000")
    page.click("form:has(input[name=code]) button[type=submit]")
    page.wait_for_selector("text=This code is wrong or was used already.")
    _shot(page, "two-factor-code")
    # The next step's code (one step of drift is taken): the setup's code may be this step's.
    page.fill("input[name=code]", _code_of(fresh_brand, "zoe@staff.example", offset=1))
    page.click("form:has(input[name=code]) button[type=submit]")
    page.wait_for_url(lambda url: "/two-factor/" not in url)
    page.locator("#logout-form").evaluate("(form) => form.submit()")
    page.wait_for_url("**/backoffice/logout/")
    page.wait_for_load_state("networkidle")
    assert violations == [], "\n".join(violations)
