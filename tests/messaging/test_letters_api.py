"""The launch mailings' API: a batch created (202), followed, its files downloaded once ready (409
before), posted; bad bodies refused naming the field with nothing written; the printed catalogue."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection

from loyalty.models import Segment
from messaging.letters.services import letter_batch_assemble, letter_chunk_render, letter_chunks_pending
from messaging.models import LetterBatch
from tests.catalog.factories import gift_make
from tests.factories import member_make, template_make
from tests.support import error_of

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def setup(api_a):
    connection.set_tenant(api_a.brand)
    template_make("launch_letter", channel="post", body="Hello {{ name }}", purpose="service")
    for number in range(2):
        member_make(
            f"R-{number}",
            kind="reseller",
            company_name=f"Tabac {number}",
            address_line1="1 rue de la Paix",
            postal_code="75002",
            city="Paris",
        )
    return api_a


def _render(batch_id: int) -> None:
    for chunk in letter_chunks_pending(batch_id=batch_id):
        letter_chunk_render(batch_id=batch_id, chunk=chunk)
    letter_batch_assemble(batch_id=batch_id)


def test_a_batch_is_created_followed_downloaded_and_posted(setup):
    api = setup
    created = api.post("/api/v1/letter-batches", {"members": ["R-0", "R-1"], "template": "launch_letter"})
    assert created.status_code == 202, created.content
    body = created.json()
    assert body["state"] == "rendering" and body["progress"]["total"] == 2 and body["issue_codes"] is True
    batch_id = body["id"]
    for suffix in ("pdf", "manifest"):
        assert error_of(api.get(f"/api/v1/letter-batches/{batch_id}/{suffix}"), 409)["code"] == "not_ready"
    assert error_of(api.post(f"/api/v1/letter-batches/{batch_id}/posted"), 409)["code"] == "not_ready"

    _render(batch_id)
    state = api.get(f"/api/v1/letter-batches/{batch_id}").json()
    assert state["state"] == "ready" and state["pages"] == 2
    assert state["progress"] == {
        "total": 2,
        "rendered": 2,
        "skipped": 0,
        "done": 1.0,
        "skipped_by_reason": {},
    }
    assert state["activation"] == {"issued": 2, "activated": 0, "rate": 0.0, "days": []}

    pdf = api.get(f"/api/v1/letter-batches/{batch_id}/pdf", headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf["Cache-Control"] == "no-store"
    manifest = api.get(f"/api/v1/letter-batches/{batch_id}/manifest")
    assert manifest.status_code == 200 and manifest["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(manifest.content.decode())))
    assert [(row["external_id"], row["pages"], row["first_page"]) for row in rows] == [
        ("R-0", "1", "1"),
        ("R-1", "1", "2"),
    ]

    posted = api.post(f"/api/v1/letter-batches/{batch_id}/posted")
    assert posted.status_code == 200 and posted.json()["state"] == "posted" and posted.json()["posted_at"]


def test_a_segment_batch(setup):
    segment = Segment.objects.create(name="Resellers", filters={"kind": "reseller"})
    created = setup.post(
        "/api/v1/letter-batches", {"segment": segment.pk, "template": "launch_letter", "issue_codes": False}
    )
    assert created.status_code == 202 and created.json()["progress"]["total"] == 2
    assert created.json()["segment"] == segment.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"members": ["R-0", "NOPE"], "template": "launch_letter"}, "members"),
        ({"members": [], "template": "launch_letter"}, "members"),
        ({"members": "R-0", "template": "launch_letter"}, "members"),
        ({"segment": 999999, "template": "launch_letter"}, "segment"),
        ({"segment": "x", "template": "launch_letter"}, "segment"),
        ({"template": "launch_letter"}, "segment"),
        ({"members": ["R-0"], "template": "nope"}, "template"),
        ({"members": ["R-0"]}, "template"),
        ({"members": ["R-0"], "template": "launch_letter", "issue_codes": "maybe"}, "issue_codes"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field_and_write_nothing(setup, body, field):
    assert error_of(setup.post("/api/v1/letter-batches", body), 400)["field"] == field
    assert not LetterBatch.objects.exists()


def test_an_unknown_batch_is_a_404(setup):
    for path in ("", "/pdf", "/manifest"):
        assert error_of(setup.get(f"/api/v1/letter-batches/999999{path}"), 404)["field"] == "batch_id"
    assert error_of(setup.post("/api/v1/letter-batches/999999/posted"), 404)["field"] == "batch_id"


def test_the_printed_catalogue_pdf(setup):
    gift_make(name="Cafetière", in_printed_catalogue=True)
    answer = setup.get("/api/v1/print-catalogue.pdf")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
