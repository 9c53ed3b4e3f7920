"""The import pages in a real browser, under the CSP: "Import members" on the members' list, the
upload, the dry run's preview (shown again by backoffice/static/backoffice/imports.js once the check
ends) with its bad rows, then "Import the N good rows" and the import's job page. Screenshots go to
SCREENSHOTS_DIR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection

from loyalty.models import Member
from tests.conftest import TEST_PASSWORD

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots"))
pytestmark = pytest.mark.usefixtures("celery_worker")

MEMBERS = (
    "external_id,kind,company_name,siret,city,phone\n"
    "R-1,reseller,Garage Dupont,73282932000074,Paris,+33612345678\n"
    "R-2,reseller,,,Lyon,\n"
    "R-3,reseller,Cycles Martin,123,Lille,\n"
    "C-4,customer,,,Nantes,0612\n"
    "C-5,customer,,,Brest,\n"
)


def test_members_import_from_the_list_to_the_job(fresh_brand, site_server, page, tmp_path):
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(base + "/backoffice/loyalty/member/")
    page.screenshot(path=str(SCREENSHOTS / "backoffice-members-import-button.png"))
    page.click("a[href='/backoffice/imports/members/']")
    page.wait_for_url("**/backoffice/imports/members/")
    page.screenshot(path=str(SCREENSHOTS / "backoffice-import-upload.png"), full_page=True)
    upload = tmp_path / "resellers.csv"
    upload.write_text(MEMBERS)
    page.set_input_files("input[type=file]", str(upload))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url("**/backoffice/imports/check/*/")
    button = page.locator("form[action$='/import/'] button")
    button.wait_for(timeout=30_000)  # the page is shown again once the check has ended
    assert "Import the 2 good rows" in button.inner_text()
    assert "company_name" in page.locator("#job-errors").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "backoffice-import-preview.png"), full_page=True)

    button.click()
    page.wait_for_url("**/backoffice/jobs/*/")
    page.wait_for_function("() => document.querySelector('[data-job-state]').dataset.jobState === 'done'")
    page.screenshot(path=str(SCREENSHOTS / "backoffice-import-done.png"), full_page=True)
    connection.set_tenant(fresh_brand)
    assert sorted(Member.objects.values_list("external_id", flat=True)) == ["C-5", "R-1"]
    assert not [text for text in errors if "Content Security Policy" in text], errors
