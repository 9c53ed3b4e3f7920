"""Isolation of the imports: a batch of members with brand A's key writes nothing in brand B (and
is refused on B's host); an import job of brand A writes only in A, and B's staff can neither see
its preview nor import its file."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from core.models import Job
from loyalty.imports import import_start
from loyalty.models import Member
from tests.support import ApiClient, error_of

pytestmark = pytest.mark.usefixtures("celery_worker")


def test_a_members_batch_stays_in_the_brand_of_its_key(api_a, api_b):
    assert api_b.put("/api/v1/members/ISO-B1", {"first_name": "Bob"}).status_code == 201

    results = api_a.post(
        "/api/v1/members/batch", {"members": [{"external_id": "ISO-B1", "first_name": "Ann"}]}
    )
    a_key_on_b = ApiClient(brand=api_b.brand, key=api_a.key)

    assert results.json()["results"] == [{"external_id": "ISO-B1", "status": 201, "created": True}]
    error_of(
        a_key_on_b.post("/api/v1/members/batch", {"members": [{"external_id": "ISO-B1", "city": "X"}]}), 401
    )
    connection.set_tenant(api_b.brand)
    member = Member.objects.get(external_id="ISO-B1")
    assert (member.first_name, member.city) == ("Bob", "")


def test_an_import_job_writes_in_its_brand_and_is_hidden_from_another(fresh_brand, brand_b, staff_for):
    connection.set_tenant(fresh_brand)
    job = import_start(
        kind="loyalty.members_import",
        content=b"external_id,first_name\nISO-J1,Ann\n",
        filename="m.csv",
        dry_run=True,
        by=None,
    )
    deadline = time.monotonic() + 30
    while Job.objects.get(pk=job.pk).state != Job.State.DONE and time.monotonic() < deadline:
        time.sleep(0.05)
    b_staff = staff_for(brand_b)
    connection.set_tenant(brand_b)
    assert not Job.objects.filter(pk=job.pk).exists()

    assert b_staff.get(f"/backoffice/imports/check/{job.pk}/").status_code == 404
    assert b_staff.post(f"/backoffice/imports/check/{job.pk}/import/").status_code == 404
    assert not Job.objects.exists() and not Member.objects.filter(external_id="ISO-J1").exists()
    connection.set_tenant(fresh_brand)
    assert Job.objects.get(pk=job.pk).counts == {"created": 1}
