"""Tenant isolation of the jobs: a job of brand A, its page, its progress and its result file are
never readable on brand B's host, even by a job of B with the same id and the same file name (each
brand's files are in its own private folder); A's staff session is nothing on B's host."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from core.models import Job
from core.storage import private_storage

pytestmark = pytest.mark.django_db


def _job_with_file(*, content: bytes) -> Job:
    job = Job.objects.create(kind="loyalty.members_export", state=Job.State.DONE, total=1, done=1)
    path = f"jobs/{job.pk}/members.csv"
    storage = private_storage()
    if storage.exists(path):
        storage.delete(path)
    storage.save(path, ContentFile(content))
    Job.objects.filter(pk=job.pk).update(
        result_path=path, result_name="members.csv", message=content.decode()
    )
    return Job.objects.get(pk=job.pk)


def test_brand_b_never_reads_a_job_or_a_result_file_of_brand_a(brand_a, brand_b, staff_for):
    connection.set_tenant(brand_a)
    job_a = _job_with_file(content=b"secret of A")
    staff_a = staff_for(brand_a)
    assert staff_a.get(f"/backoffice/jobs/{job_a.pk}/").status_code == 200
    result = staff_a.get(f"/backoffice/jobs/{job_a.pk}/result/")
    assert b"".join(result.streaming_content) == b"secret of A"

    connection.set_tenant(brand_b)
    staff_b = staff_for(brand_b)
    for path in ("", "status.json", "result/"):
        assert staff_b.get(f"/backoffice/jobs/{job_a.pk}/{path}").status_code == 404
    assert b"secret of A" not in staff_b.get("/backoffice/jobs/").content

    # B's own job with A's id and A's file name reads B's folder only.
    Job.objects.create(
        id=job_a.pk,
        kind="loyalty.members_export",
        state=Job.State.DONE,
        result_path=job_a.result_path,
        result_name="members.csv",
    )
    assert staff_b.get(f"/backoffice/jobs/{job_a.pk}/result/").status_code == 404
    page = staff_b.get(f"/backoffice/jobs/{job_a.pk}/")
    assert page.status_code == 200 and b"secret of A" not in page.content
    status = staff_b.get(f"/backoffice/jobs/{job_a.pk}/status.json").json()
    assert status["message"] == "" and status["has_result"]

    # A's session means nothing on B's host: the login page, not A's job.
    staff_a.defaults["HTTP_HOST"] = staff_b.defaults["HTTP_HOST"]
    response = staff_a.get(f"/backoffice/jobs/{job_a.pk}/result/")
    assert response.status_code == 302 and "login" in response["Location"]

    connection.set_tenant(brand_a)
    private_storage().delete(job_a.result_path)
