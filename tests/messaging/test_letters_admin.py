"""The launch mailing's wizard in the backoffice: a segment or an imported file of resellers, a
draft batch, rendered, downloaded, posted, with its activation figures; a bad file imports nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from loyalty.models import Member, Segment
from messaging.letters.services import letter_batch_assemble, letter_chunk_render, letter_chunks_pending
from messaging.models import LetterBatch
from tests.factories import member_make, template_make

pytestmark = pytest.mark.django_db(transaction=False)

CSV = (
    "external_id,company_name,siret,first_name,last_name,address_line1,postal_code,city,phone,sales_rep\n"
    "R-10,Tabac du Port,,Camille,Martin,1 rue de la Paix,29200,Brest,+33612345678,admin@alpha.example\n"
    "R-11,Bar des Sports,,Louis,Durand,2 place du Marché,44000,Nantes,,\n"
)


@pytest.fixture
def staff(in_a, staff_for):
    template_make("launch_letter", channel="post", body="Hello {{ name }}", purpose="service")
    return staff_for(in_a)


def test_a_segment_mailing_from_the_wizard_to_posted(staff, in_a):
    member_make(
        "R-1",
        kind="reseller",
        company_name="Tabac",
        address_line1="1 rue X",
        postal_code="75002",
        city="Paris",
    )
    segment = Segment.objects.create(name="Resellers", filters={"kind": "reseller"})
    page = staff.get("/backoffice/messaging/letterbatch/add/")
    assert page.status_code == 200 and b"launch_letter" in page.content

    created = staff.post(
        "/backoffice/messaging/letterbatch/add/",
        {"name": "Launch", "segment": segment.pk, "template": "launch_letter", "issue_codes": "on"},
    )
    assert created.status_code == 302, created.content
    batch = LetterBatch.objects.get()
    assert batch.state == LetterBatch.State.DRAFT and batch.letters_total == 1
    assert staff.get(f"/backoffice/messaging/letterbatch/{batch.pk}/file/pdf/").status_code == 409

    assert staff.post(f"/backoffice/messaging/letterbatch/{batch.pk}/render/").status_code == 302
    batch.refresh_from_db()
    assert batch.state == LetterBatch.State.RENDERING
    assert (
        b'http-equiv="refresh"' in staff.get(f"/backoffice/messaging/letterbatch/{batch.pk}/change/").content
    )
    connection.set_tenant(in_a)
    for chunk in letter_chunks_pending(batch_id=batch.pk):
        letter_chunk_render(batch_id=batch.pk, chunk=chunk)
    letter_batch_assemble(batch_id=batch.pk)

    page = staff.get(f"/backoffice/messaging/letterbatch/{batch.pk}/change/")
    assert page.status_code == 200 and b"Download the PDF" in page.content and b"Codes issued" in page.content
    pdf = staff.get(f"/backoffice/messaging/letterbatch/{batch.pk}/file/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert staff.get(f"/backoffice/messaging/letterbatch/{batch.pk}/file/manifest/").status_code == 200
    assert staff.post(f"/backoffice/messaging/letterbatch/{batch.pk}/posted/").status_code == 302
    batch.refresh_from_db()
    assert batch.state == LetterBatch.State.POSTED
    listing = staff.get("/backoffice/messaging/letterbatch/")
    assert listing.status_code == 200 and b"Printed catalogue" in listing.content
    catalogue = staff.get("/backoffice/messaging/letterbatch/print-catalogue/")
    assert catalogue.status_code == 200 and catalogue.content.startswith(b"%PDF")


def test_a_file_of_resellers_is_imported_with_their_sales_rep(staff):
    upload = SimpleUploadedFile("resellers.csv", CSV.encode(), content_type="text/csv")
    created = staff.post(
        "/backoffice/messaging/letterbatch/add/", {"file": upload, "template": "launch_letter"}
    )
    assert created.status_code == 302, created.content.decode()[:3000]
    batch = LetterBatch.objects.get()
    assert batch.letters_total == 2 and batch.issue_codes is False
    port = Member.objects.get(external_id="R-10")
    assert (port.kind, port.company_name, port.phone) == ("reseller", "Tabac du Port", "+33612345678")
    assert port.sales_rep.email == "admin@alpha.example"


def test_a_bad_row_imports_nothing_and_says_why(staff):
    bad = CSV + "R-12,,,,,3 rue Y,75001,Paris,,nobody@nowhere.example\n"
    upload = SimpleUploadedFile("resellers.csv", bad.encode(), content_type="text/csv")
    page = staff.post("/backoffice/messaging/letterbatch/add/", {"file": upload, "template": "launch_letter"})
    assert page.status_code == 200 and b"import-errors" in page.content and b"company_name" in page.content
    assert not LetterBatch.objects.exists()
    assert not Member.objects.filter(external_id__in=["R-10", "R-11", "R-12"]).exists()


def test_the_wizard_wants_a_segment_or_a_file(staff):
    page = staff.post("/backoffice/messaging/letterbatch/add/", {"template": "launch_letter"})
    assert page.status_code == 200 and b"Choose a segment or upload a file" in page.content
    assert not LetterBatch.objects.exists()
