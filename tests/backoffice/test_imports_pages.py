"""The import pages: upload, the dry run's preview with its per-row errors, then "Import the N good
rows" as a job (a real Celery worker); each refused without the kind's permission."""

from __future__ import annotations

import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from core.models import Job
from loyalty.models import Member
from tests.conftest import TEST_PASSWORD
from tests.factories import staff_make

pytestmark = pytest.mark.usefixtures("celery_worker")

MEMBERS = b"external_id,kind,company_name\nR-1,reseller,Garage\nR-2,reseller,\nR-3,customer,\n"


def _done(job_id: int) -> Job:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.state in (Job.State.DONE, Job.State.FAILED):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} is still {job.state}")


def _login(client_for, brand, role: str):
    user = staff_make(role)
    client = client_for(brand)
    assert (
        client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD}).status_code
        == 302
    )
    return client


def test_upload_preview_then_import_the_good_rows(fresh_brand, client_for, staff_for):
    connection.set_tenant(fresh_brand)
    client = staff_for(fresh_brand)
    page = client.get("/backoffice/loyalty/member/").content.decode()
    assert "/backoffice/imports/members/" in page and "/backoffice/imports/events/" in page
    assert client.get("/backoffice/imports/members/").status_code == 200

    response = client.post("/backoffice/imports/members/", {"file": SimpleUploadedFile("m.csv", MEMBERS)})

    assert response.status_code == 302
    dry_run = int(re.search(r"/imports/check/(\d+)/", response["Location"]).group(1))
    assert _done(dry_run).counts == {"created": 2, "invalid": 1}
    preview = client.get(response["Location"]).content.decode()
    assert "Import the 2 good rows" in preview and "company_name" in preview
    assert not Member.objects.exists()

    started = client.post(f"/backoffice/imports/check/{dry_run}/import/")

    assert started.status_code == 302
    job = _done(int(re.search(r"/jobs/(\d+)/", started["Location"]).group(1)))
    assert (job.kind, job.params["dry_run"]) == ("loyalty.members_import", False)
    assert job.counts == Job.objects.get(pk=dry_run).counts
    assert sorted(Member.objects.values_list("external_id", flat=True)) == ["R-1", "R-3"]
    assert client.get(started["Location"]).status_code == 200


def test_the_import_pages_are_refused_without_the_permission(fresh_brand, client_for):
    connection.set_tenant(fresh_brand)
    client = _login(client_for, fresh_brand, "sales_rep")

    assert client.get("/backoffice/imports/members/").status_code == 403
    assert (
        client.post("/backoffice/imports/gifts/", {"file": SimpleUploadedFile("g.csv", b"x")}).status_code
        == 403
    )
    assert "/backoffice/imports/" not in client.get("/backoffice/loyalty/member/").content.decode()
    assert not Job.objects.exists()


def test_a_voucher_code_import_needs_a_voucher_gift_of_the_brand(fresh_brand, staff_for):
    connection.set_tenant(fresh_brand)
    client = staff_for(fresh_brand)

    assert client.get("/backoffice/imports/codes/?gift=999999").status_code == 404
    assert client.get("/backoffice/imports/nothing/").status_code == 404
