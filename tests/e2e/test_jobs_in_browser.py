"""The jobs' pages in a real browser, under the CSP: an export started from the members' list opens
its job's page, whose bar moves without a reload (core/static/core/jobs.js polling its JSON) until
the result's download shows; a job held halfway shows 50 % and then its end, live. Screenshots go
to SCREENSHOTS_DIR."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from django.db import connection

from core.jobs import JobProgress, job_kind, job_start
from core.models import Job
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots"))
pytestmark = pytest.mark.usefixtures("celery_worker")

_release = threading.Event()


@job_kind("tests.halfway", permission="core.view_job", label="Halfway")
def halfway_run(job: Job, progress: JobProgress) -> None:
    progress.total(200)
    progress.advance(100)
    progress.error(7, "email", "not an e-mail address")
    progress.advance(1, outcome="invalid")
    progress.write()
    assert _release.wait(60)
    progress.advance(99)


def _login(page, base: str, brand) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", f"admin@{brand.slug}.example")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()
    return errors


def test_an_export_and_a_job_show_their_progress_live(fresh_brand, site_server, page):
    connection.set_tenant(fresh_brand)
    for index in range(30):
        member_make(
            f"B-{index:03d}", first_name=f"Member {index}", email=f"m{index}@example.com", points=index
        )
    connection.set_schema_to_public()
    base = f"http://{fresh_brand.slug}.localhost:{site_server}"
    errors = _login(page, base, fresh_brand)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(base + "/backoffice/loyalty/member/")
    page.screenshot(path=str(SCREENSHOTS / "backoffice-members-export-buttons.png"))
    page.click("form[action='/backoffice/jobs/export/members/'] button")
    page.wait_for_url("**/backoffice/jobs/*/")
    page.wait_for_selector("[data-job=result]:not([hidden])")  # shown by the script, no reload
    assert page.locator("[data-job-state]").inner_text().lower() == "done"
    assert page.locator("#job-bar").get_attribute("value") == "100"
    page.screenshot(path=str(SCREENSHOTS / "backoffice-job-export-done.png"), full_page=True)
    with page.expect_download() as download:
        page.click("[data-job=result] a")
    assert download.value.suggested_filename.startswith("members-")

    _release.clear()
    connection.set_tenant(fresh_brand)
    job = job_start(kind="tests.halfway", params={}, by=None)
    connection.set_schema_to_public()
    try:
        page.goto(f"{base}/backoffice/jobs/{job.pk}/")
        page.wait_for_function("() => document.getElementById('job-bar').value === 50")
        page.wait_for_selector("#job-errors tr")
        assert "not an e-mail address" in page.locator("#job-errors").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "backoffice-job-running.png"), full_page=True)
    finally:
        _release.set()
    page.wait_for_function("() => document.querySelector('[data-job-state]').dataset.jobState === 'done'")
    assert page.locator("[data-job=done]").inner_text() == "200"

    page.goto(base + "/backoffice/jobs/")
    page.wait_for_selector("#jobs-table")
    page.screenshot(path=str(SCREENSHOTS / "backoffice-jobs.png"), full_page=True)
    assert not [text for text in errors if "Content Security Policy" in text], errors
