"""Tenant isolation of the launch mailings: brand B's key reads, downloads and posts nothing of
brand A's batches, cannot write to A's members or segments, and A's files are served by no
/media/ URL (they hold codes in clear), on A's host or B's."""

from __future__ import annotations

import subprocess

import pytest
from django.db import connection

from loyalty.models import Segment
from messaging.letters.services import (
    letter_batch_assemble,
    letter_batch_create,
    letter_chunk_render,
    letter_chunks_pending,
    print_catalogue_pdf,
)
from tests.catalog.factories import gift_make
from tests.factories import member_make, template_make
from tests.support import ApiClient, error_of

pytestmark = pytest.mark.django_db


def test_brand_b_sees_and_writes_nothing_of_brand_as_letters(api_a, api_b, client_for):
    connection.set_tenant(api_a.brand)
    template_make("launch_letter", channel="post", body="Hello {{ name }}", purpose="service")
    member_make("ISO-L", company_name="Tabac A", address_line1="1 rue X", postal_code="75002", city="Paris")
    segment = Segment.objects.create(name="All of A", filters={})
    gift_make(name="Secret gift of A", in_printed_catalogue=True)
    batch = letter_batch_create(template="launch_letter", external_ids=["ISO-L"])
    for chunk in letter_chunks_pending(batch_id=batch.pk):
        letter_chunk_render(batch_id=batch.pk, chunk=chunk)
    batch = letter_batch_assemble(batch_id=batch.pk)
    assert api_a.get(f"/api/v1/letter-batches/{batch.pk}/pdf").status_code == 200

    for path in ("", "/pdf", "/manifest"):
        assert error_of(api_b.get(f"/api/v1/letter-batches/{batch.pk}{path}"), 404)["field"] == "batch_id"
    assert error_of(api_b.post(f"/api/v1/letter-batches/{batch.pk}/posted"), 404)["field"] == "batch_id"
    # A's key on B's host is refused before anything is read.
    error_of(ApiClient(brand=api_b.brand, key=api_a.key).get(f"/api/v1/letter-batches/{batch.pk}"), 401)

    connection.set_tenant(api_b.brand)
    template_make("launch_letter", channel="post", body="Hello", purpose="service")
    body = {"members": ["ISO-L"], "template": "launch_letter"}
    assert error_of(api_b.post("/api/v1/letter-batches", body), 400)["field"] == "members"
    body = {"segment": segment.pk, "template": "launch_letter"}
    assert error_of(api_b.post("/api/v1/letter-batches", body), 400)["field"] == "segment"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=print_catalogue_pdf(), capture_output=True, check=True
    )
    assert b"Secret gift of A" not in text.stdout

    # The files are in A's private folder, which no /media/ URL serves, on either host.
    assert batch.pdf.name and batch.manifest.name
    for brand in (api_a.brand, api_b.brand):
        client = client_for(brand)
        for name in (
            batch.pdf.name,
            batch.manifest.name,
            f"../../private/{connection.schema_name}/{batch.pdf.name}",
        ):
            assert client.get(f"/media/{name}").status_code == 404
