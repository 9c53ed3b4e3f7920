"""Launch mailings through the real services, read back from the PDF with poppler's `pdftotext
-layout`: the member's code and address, one letter per member matching the manifest, staff text
escaped, one code per member however often the rendering runs, posting, the activation rate, and
the printed catalogue of the flagged gifts only."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess

import pytest

from catalog.models import GiftPhoto
from core.errors import Conflict, InvalidInput
from loyalty.models import ActivationCode, ProgrammeSettings
from loyalty.services.activation import activation_complete, code_digests, code_normalise
from loyalty.services.members import consent_set
from messaging.letters.selectors import letter_batch_activation
from messaging.letters.services import (
    CODE_MASK,
    letter_batch_assemble,
    letter_batch_create,
    letter_batch_post,
    letter_chunk_render,
    letter_chunks_pending,
    print_catalogue_pdf,
)
from messaging.models import Letter, LetterBatch, Message
from tests.catalog.factories import category_make, gift_make, png
from tests.factories import member_make, template_make

pytestmark = pytest.mark.django_db(transaction=False)

CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}\b")
BODY = (
    "Dear {{ name }},\n\nWelcome to {{ programme_name }}: your code is {{ activation_code }}.\n\n"
    "Kind regards,\nThe team"
)


def pdf_text(content: bytes) -> str:
    assert shutil.which("pdftotext"), "poppler-utils is needed: apt-get install poppler-utils"
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode()


def pdf_pages(content: bytes) -> list[str]:
    return pdf_text(content).split("\f")[:-1]


def reseller(external_id: str, **extra):
    values = {
        "kind": "reseller",
        "company_name": "Tabac du Port",
        "first_name": "Camille",
        "last_name": "Martin",
        "address_line1": "12, rue de l'Église",
        "address_line2": "Bâtiment B",
        "postal_code": "29200",
        "city": "Brest",
        "country": "FR",
        "language": "en",
    }
    return member_make(external_id, **{**values, **extra})


def render(batch: LetterBatch) -> LetterBatch:
    """What the batch's tasks do, in this thread: every chunk left, then the join."""
    for chunk in letter_chunks_pending(batch_id=batch.pk):
        letter_chunk_render(batch_id=batch.pk, chunk=chunk)
    letter_batch_assemble(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


@pytest.fixture
def launch_letter(in_a):
    return template_make("launch_letter", channel="post", body=BODY, purpose="service")


def test_a_letter_has_the_members_code_and_the_address_lines_in_order(launch_letter):
    member = reseller("R-1")
    batch = render(letter_batch_create(template="launch_letter", external_ids=["R-1"]))
    assert batch.state == LetterBatch.State.READY and batch.pages == 1

    with batch.pdf.open("rb") as handle:
        text = pdf_text(handle.read())
    codes = set(CODE.findall(text))
    assert len(codes) == 1, text
    code = codes.pop()
    letter = Letter.objects.get(batch=batch)
    assert letter.activation_code.digest in code_digests(code_normalise(code))
    assert letter.activation_code.member_id == member.pk and letter.activation_code.source == "mailing"

    address = ["Tabac du Port", "Camille Martin", "BATIMENT B", "12 RUE DE L'EGLISE", "29200 BREST"]
    rows = [line.strip() for line in text.splitlines() if line.strip()]
    found = [next(i for i, row in enumerate(rows) if row.endswith(line)) for line in address]
    assert found == sorted(found) and found == list(range(found[0], found[0] + 5)), rows
    assert all(len(line) <= 38 for line in address)
    assert f"your code is {code}" in text and "Welcome to " in text
    # The message log has the letter, without the code.
    message = letter.message
    assert message.channel == "post" and message.state == Message.State.QUEUED and message.requeue_at is None
    assert code not in message.body and CODE_MASK in message.body
    assert message.recipient.splitlines()[0] == "Tabac du Port"


def test_a_batch_has_one_letter_per_member_and_the_manifest_matches_its_pages(launch_letter, monkeypatch):
    monkeypatch.setattr("messaging.letters.services.CHUNK_SIZE", 2)
    for number in range(5):
        reseller(f"R-{number}", postal_code=f"2920{number}", company_name=f"Tabac {number}")
    reseller("R-NOADDR", address_line1="", company_name="Sans Adresse")
    ids = ["R-4", "R-NOADDR", "R-0", "R-3", "R-1", "R-2"]
    batch = letter_batch_create(template="launch_letter", external_ids=ids, include_catalogue=False)
    assert sorted(set(batch.letters.values_list("chunk", flat=True))) == [0, 1, 2]
    batch = render(batch)
    assert (batch.letters_total, batch.letters_rendered, batch.letters_skipped) == (6, 5, 1)

    with batch.pdf.open("rb") as handle:
        pages = pdf_pages(handle.read())
    with batch.manifest.open("rb") as handle:
        manifest = list(csv.DictReader(io.StringIO(handle.read().decode())))
    assert [row["external_id"] for row in manifest] == ["R-0", "R-1", "R-2", "R-3", "R-4"]  # by postcode
    assert len(pages) == batch.pages == sum(int(row["pages"]) for row in manifest) == 5
    for row in manifest:
        page = pages[int(row["first_page"]) - 1]
        assert row["name"] in page and len(set(CODE.findall(page))) == 1
    skipped = Letter.objects.get(batch=batch, member__external_id="R-NOADDR")
    assert skipped.skip_reason == "no_address" and skipped.pages == 0 and skipped.activation_code is None
    assert skipped.message.state == Message.State.SKIPPED
    assert ActivationCode.objects.filter(member__external_id="R-NOADDR").count() == 0


def test_staff_text_and_names_are_escaped_not_markup(launch_letter):
    template_make(
        "launch_letter",
        channel="post",
        purpose="service",
        body='<b>Bold</b> <img src="http://127.0.0.1:9/x.png"> & {{ company }}\n\n<script>alert(1)</script>',
    )
    reseller("R-X", company_name="<i>Tabac</i> & Fils")
    ProgrammeSettings.objects.update(programme_name="<u>Club</u> & Co")
    batch = render(letter_batch_create(template="launch_letter", external_ids=["R-X"]))
    with batch.pdf.open("rb") as handle:
        text = pdf_text(handle.read())
    assert '<b>Bold</b> <img src="http://127.0.0.1:9/x.png"> & <i>Tabac</i> & Fils' in text
    assert "<script>alert(1)</script>" in text and "<u>Club</u> & Co" in text


def test_rendering_again_issues_no_second_code(launch_letter):
    reseller("R-A")
    reseller("R-B", postal_code="29201")
    batch = render(letter_batch_create(template="launch_letter", external_ids=["R-A", "R-B"]))
    codes = list(ActivationCode.objects.order_by("member_id").values_list("pk", flat=True))
    assert len(codes) == 2

    assert letter_chunk_render(batch_id=batch.pk, chunk=0) == 0  # the task again: nothing to do
    assert letter_batch_assemble(batch_id=batch.pk) is None
    assert list(ActivationCode.objects.order_by("member_id").values_list("pk", flat=True)) == codes
    assert ActivationCode.objects.filter(revoked_at__isnull=True).count() == 2


def test_without_codes_the_letter_has_none(launch_letter):
    reseller("R-N")
    batch = render(letter_batch_create(template="launch_letter", external_ids=["R-N"], issue_codes=False))
    with batch.pdf.open("rb") as handle:
        assert not CODE.findall(pdf_text(handle.read()))
    assert not ActivationCode.objects.exists()


def test_a_posted_batch_sends_its_messages_and_a_draft_cannot_be_posted(launch_letter):
    reseller("R-P")
    draft = letter_batch_create(template="launch_letter", external_ids=["R-P"], start=False)
    assert draft.state == LetterBatch.State.DRAFT
    with pytest.raises(Conflict) as refused:
        letter_batch_post(batch_id=draft.pk)
    assert refused.value.code == "not_ready"

    batch = render(letter_batch_create(template="launch_letter", external_ids=["R-P"]))
    posted = letter_batch_post(batch_id=batch.pk)
    assert posted.state == LetterBatch.State.POSTED and posted.posted_at is not None
    message = Letter.objects.get(batch=batch).message
    message.refresh_from_db()
    assert message.state == Message.State.SENT and message.provider == "print"
    assert letter_batch_post(batch_id=batch.pk).posted_at == posted.posted_at  # again: no change


def test_the_activation_follow_up_counts_codes_used(launch_letter):
    reseller("R-U")
    reseller("R-V", postal_code="29201")
    batch = render(letter_batch_create(template="launch_letter", external_ids=["R-U", "R-V"]))
    assert letter_batch_activation(batch=batch).rate == 0
    code = Letter.objects.get(batch=batch, member__external_id="R-U").activation_code
    activation_complete(code_id=code.pk, password="a long Passphrase 42!")
    follow = letter_batch_activation(batch=batch)
    assert (follow.issued, follow.activated, follow.rate) == (2, 1, 0.5)
    assert [(day.activated, day.total, day.rate) for day in follow.days] == [(1, 1, 0.5)]


def test_a_member_opted_out_of_post_is_skipped_with_the_reason(launch_letter):
    member = reseller("R-O")
    consent_set(member=member, consents={"post": False}, source="test")
    batch = render(letter_batch_create(template="launch_letter", external_ids=["R-O"]))
    assert (batch.letters_rendered, batch.letters_skipped, batch.state) == (0, 1, LetterBatch.State.READY)
    assert Letter.objects.get(batch=batch).skip_reason == "opted_out"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"template": "launch_letter", "external_ids": ["NOPE"]}, "members"),
        ({"template": "launch_letter", "external_ids": []}, "members"),
        ({"template": "launch_letter", "segment_id": 999999}, "segment"),
        ({"template": "launch_letter"}, "segment"),
        ({"template": "launch_letter", "segment_id": 1, "external_ids": ["R-1"]}, "segment"),
        ({"template": "missing", "external_ids": ["R-1"]}, "template"),
        ({"template": "", "external_ids": ["R-1"]}, "template"),
    ],
)
def test_bad_batches_are_refused_naming_the_field(launch_letter, arguments, field):
    reseller("R-1")
    with pytest.raises(InvalidInput) as refused:
        letter_batch_create(**arguments)
    assert refused.value.field == field
    assert not LetterBatch.objects.exists()


def test_the_printed_catalogue_has_the_flagged_gifts_only(in_a):
    category = category_make("maison", name="Maison")
    flagged = gift_make(
        name="Cafetière italienne",
        reference="CAF-1",
        points_price=1250,
        category=category,
        in_printed_catalogue=True,
        description="<b>Inox</b>, 6 tasses",
    )
    gift_make(
        name="Théière en fonte",
        reference="THE-1",
        points_price=900,
        category=category,
        in_printed_catalogue=True,
    )
    gift_make(name="Parapluie", reference="PAR-1", points_price=300, in_printed_catalogue=False)
    gift_make(
        name="Ancien bol", reference="BOL-1", points_price=300, in_printed_catalogue=True, is_active=False
    )
    GiftPhoto.objects.create(gift=flagged, image=png(400, 300), position=0)

    text = pdf_text(print_catalogue_pdf())
    assert "Cafetière italienne" in text and "Théière en fonte" in text
    assert "CAF-1" in text and "THE-1" in text and "<b>Inox</b>, 6 tasses" in text
    assert "Parapluie" not in text and "Ancien bol" not in text
    assert re.search(r"1[\s,.\u202f\u00a0]?250", text)


def test_a_letter_can_be_followed_by_the_catalogue(launch_letter):
    gift_make(name="Cafetière italienne", reference="CAF-1", in_printed_catalogue=True)
    reseller("R-C")
    batch = render(
        letter_batch_create(template="launch_letter", external_ids=["R-C"], include_catalogue=True)
    )
    with batch.pdf.open("rb") as handle:
        pages = pdf_pages(handle.read())
    assert batch.pages == len(pages) == 2 and Letter.objects.get(batch=batch).pages == 2
    assert "Cafetière italienne" in pages[1] and CODE.search(pages[0])
