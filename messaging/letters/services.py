"""Launch mailings (README, "Messaging > Letters"): a batch is created with its members
(`letter_batch_create`), rendered chunk by chunk in Celery tasks (`letter_chunk_render`, then
`letter_batch_assemble`), downloaded by the print house, and marked as posted (`letter_batch_post`).

- Each chunk of `CHUNK_SIZE` letters is rendered in one transaction: the activation codes issued
  for it, its PDF written and its letters marked rendered commit together. The code in clear lives
  only in that transaction's memory and in the PDF: a crash before the commit leaves no code issued
  (the chunk is rendered again, with new codes), a commit leaves the chunk done (it is never
  rendered again), so a member gets one code per batch however often the tasks run.
- Chunks are independent: the batch's task queues one task per chunk left, and the Celery workers
  render them in parallel (one process per core); the last chunk done joins the chunks' PDFs in
  order (pypdf) and writes the manifest. A batch whose tasks were lost is queued again by the
  outbox sweeper (`requeue_at`, moved on by each chunk done: `RENDER_STALL`).
- Every letter is a `Message` of channel post too (the member's message log shows it): built by
  `message_build`, so the platform's checks (standing, an address, consent) skip a member with a
  reason, written without the code (`CODE_MASK` in its place), never sent by the outbox (no
  `requeue_at`); it becomes `sent` when the batch is posted.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from pypdf import PdfWriter

from catalog.selectors import gift_search
from core.errors import Conflict, DomainError, InvalidInput, NotFound
from core.formats import date_format, number_format
from core.outbox import enqueue_on_commit, requeue_after
from loyalty.models import ActivationCode, Member
from loyalty.selectors.programme import programme_settings
from loyalty.selectors.segments import segment_get, segment_members
from loyalty.services.activation import activation_code_issue
from messaging.letters.address import address_lines, member_address_parts
from messaging.letters.render import (
    CatalogueGift,
    LetterContent,
    Letterhead,
    catalogue_html,
    catalogue_pdf,
    file_url,
    letter_body_html,
    letters_html,
    letters_pdf,
    qr_data_uri,
)
from messaging.models import Channel, ChannelSettings, Letter, LetterBatch, Message, MessageTemplate
from messaging.rendering import TemplateRefused, template_render, template_variables
from messaging.selectors.templates import channel_settings_get, template_pick
from messaging.selectors.variables import message_variables, site_url
from messaging.services.jobs import letter_batch_job_advance, letter_batch_job_end, letter_batch_job_open
from messaging.services.sending import message_build
from tenants.selectors import brand_timezone, schema_current
from themes.selectors import theme_data

logger = logging.getLogger(__name__)

CHUNK_SIZE = 250  # letters rendered as one document by one task
MEMBERS_MAX = 50_000  # letters in one batch
CODE_MASK = "••••-••••-••"  # what the message log shows in place of a code
# A rendering batch none of whose chunks was done for this long is queued again by the outbox's
# sweeper (its tasks were lost, or its worker died): each chunk done moves its `requeue_at` on.
RENDER_STALL = timedelta(minutes=5)


def _letters_folder(batch: LetterBatch) -> str:
    return f"letters/{batch.pk}"


def _chunk_name(batch: LetterBatch, chunk: int) -> str:
    return f"{_letters_folder(batch)}/chunk-{chunk:05d}.pdf"


# --- creating a batch ------------------------------------------------------------------------------


def _members_of(*, segment_id: int | None, external_ids: Sequence[str] | None) -> list[int]:
    """The ids of the batch's members, sorted by postcode (the print house sorts mail so) and
    external id; `InvalidInput` naming `segment` or `members` for what cannot be mailed."""
    if (segment_id is None) == (external_ids is None):
        raise InvalidInput("give either a segment or a list of members, not both", field="segment")
    if segment_id is not None:
        segment = segment_get(segment_id=segment_id)
        if segment is None:
            raise InvalidInput(f"no segment with id {segment_id}", field="segment")
        rows = segment_members(segment=segment)
        field = "segment"
    else:
        wanted = list(dict.fromkeys(str(value).strip() for value in external_ids or []))
        if not wanted or not all(wanted):
            raise InvalidInput("give at least one member's external id, none empty", field="members")
        if len(wanted) > MEMBERS_MAX:
            raise InvalidInput(f"at most {MEMBERS_MAX} members per batch", field="members")
        rows = Member.objects.filter(external_id__in=wanted)
        found = set(rows.values_list("external_id", flat=True))
        unknown = [value for value in wanted if value not in found]
        if unknown:
            shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            raise InvalidInput(f"no member with external id {shown}", field="members")
        field = "members"
    ids = list(
        rows.exclude(status=Member.Status.ANONYMISED)
        .order_by("postal_code", "external_id")
        .values_list("pk", flat=True)
    )
    if not ids:
        raise InvalidInput("no member to write to", field=field)
    if len(ids) > MEMBERS_MAX:
        raise InvalidInput(f"at most {MEMBERS_MAX} members per batch", field=field)
    return ids


def letter_batch_create(
    *,
    template: str,
    segment_id: int | None = None,
    external_ids: Sequence[str] | None = None,
    issue_codes: bool = True,
    include_catalogue: bool = False,
    name: str = "",
    by: Any = None,
    start: bool = True,
) -> LetterBatch:
    """A batch of letters of the post template `template` to a segment's members or to members by
    external id, one `Letter` each; rendering starts after commit unless `start` is False (a
    draft the backoffice shows before starting it with `letter_batch_start`)."""
    template = (template or "").strip()
    if not template:
        raise InvalidInput("name a message template of channel post", field="template")
    if not template_pick(code=template, channel=Channel.POST, language=programme_settings().default_language):
        raise InvalidInput(f"no template '{template}' of channel post", field="template")
    member_ids = _members_of(segment_id=segment_id, external_ids=external_ids)
    with transaction.atomic():
        batch = LetterBatch.objects.create(
            name=name[:120],
            segment_id=segment_id,
            template_code=template,
            issue_codes=issue_codes,
            include_catalogue=include_catalogue,
            letters_total=len(member_ids),
            created_by=by,
        )
        Letter.objects.bulk_create(
            [
                Letter(batch=batch, member_id=member_id, position=position, chunk=position // CHUNK_SIZE)
                for position, member_id in enumerate(member_ids)
            ],
            batch_size=2000,
        )
        if start:
            _start(batch)
    return batch


def _start(batch: LetterBatch) -> None:
    from messaging.tasks_letters import letter_batch_render_task  # the tasks import this module

    batch.state, batch.requeue_at = LetterBatch.State.RENDERING, timezone.now() + requeue_after()
    batch.save(update_fields=["state", "requeue_at", "updated_at"])
    letter_batch_job_open(batch=batch)
    enqueue_on_commit(letter_batch_render_task, batch.pk, batch.attempts)


def letter_batch_start(*, batch_id: int) -> LetterBatch:
    """Start rendering a draft batch (a batch already started: a Conflict)."""
    with transaction.atomic():
        batch = LetterBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise NotFound(f"no letter batch {batch_id}", field="batch_id")
        if batch.state != LetterBatch.State.DRAFT:
            raise Conflict(f"the batch is {batch.state}, not a draft", code="not_draft")
        _start(batch)
    return batch


# --- rendering ---------------------------------------------------------------------------------


def letterhead_get() -> Letterhead:
    theme = theme_data()
    return Letterhead(
        programme_name=theme.programme_name,
        primary_color=theme.primary_color,
        accent_color=theme.accent_color,
        font_family=theme.font_family,
        logo_url=file_url(theme.logo.path) if theme.logo else "",
        site_url=site_url(),
        language=programme_settings().default_language,
    )


def _printed_gifts() -> list[CatalogueGift]:
    """The gifts flagged for the printed catalogue that members can see now, in catalogue order."""
    gifts = gift_search(printed=True).select_related("category").prefetch_related("photos")
    rows = []
    for gift in gifts:
        photos = list(gift.photos.all())
        rows.append(
            CatalogueGift(
                reference=gift.reference,
                name=gift.name,
                description=gift.description,
                points=number_format(gift.points_price),
                category=gift.category.name if gift.category else "",
                photo_url=file_url(photos[0].image.path) if photos else "",
            )
        )
    return rows


def print_catalogue_pdf() -> bytes:
    """The printed catalogue as a booklet of its own: a cover, then the flagged gifts by category,
    with their photo, points and reference (page numbers at the foot)."""
    letterhead = letterhead_get()
    with translation.override(letterhead.language):
        return catalogue_pdf(
            html=catalogue_html(letterhead=letterhead, gifts=_printed_gifts(), standalone=True)
        )


@dataclass(frozen=True)
class _Prepared:
    letter: Letter
    message: Message
    content: LetterContent | None  # None: skipped
    code: ActivationCode | None


@dataclass
class _Chunk:
    """What every letter of a chunk shares, read once per chunk (the template per language, the
    programme's name and site, the brand's timezone), so a letter costs few queries."""

    batch: LetterBatch
    letterhead: Letterhead
    qr: str
    channel_settings: ChannelSettings
    now: datetime
    zone: tzinfo
    shared: dict[str, object]
    templates: dict[str, MessageTemplate | None] = field(default_factory=dict)

    def names(self, language: str) -> frozenset[str]:
        if language not in self.templates:
            self.templates[language] = template_pick(
                code=self.batch.template_code, channel=Channel.POST, language=language
            )
        template = self.templates[language]
        if template is None:
            raise NotFound(f"no post template '{self.batch.template_code}'", field="template")
        return template_variables(template.subject) | template_variables(template.body)

    def day(self, at: datetime) -> str:
        return date_format(timezone.localtime(at, self.zone).date())


def _prepare(*, letter: Letter, chunk: _Chunk) -> _Prepared:
    """One letter's message row (unsaved) and its page content; its activation code issued."""
    member = letter.member
    variables = message_variables(
        member=member,
        names=chunk.names(member.language),
        extra={**chunk.shared, "activation_code": CODE_MASK},
    )
    message = message_build(
        member=member,
        channel=Channel.POST,
        template_code=chunk.batch.template_code,
        variables=variables,
        trigger="letter",
        channel_settings=chunk.channel_settings,
        now=chunk.now,
    )
    message.requeue_at, message.not_before = None, None  # the outbox never sends a letter
    if message.state == Message.State.SKIPPED:
        return _Prepared(letter=letter, message=message, content=None, code=None)
    try:
        lines = address_lines(
            member_address_parts(
                company=member.company_name,
                first_name=member.first_name,
                last_name=member.last_name,
                address_line1=member.address_line1,
                address_line2=member.address_line2,
                postal_code=member.postal_code,
                city=member.city,
                country=member.country,
            )
        )
        issued = (
            activation_code_issue(member=member, source=ActivationCode.Source.MAILING)
            if chunk.batch.issue_codes
            else None
        )
    except DomainError as error:  # an address that cannot fit; a member the activation refuses
        message.state = Message.State.SKIPPED
        message.skip_reason = "no_address" if isinstance(error, InvalidInput) else error.code[:32]
        message.error = f"{error.field or ''}: {error.message}"[:2000]
        return _Prepared(letter=letter, message=message, content=None, code=None)
    template = message.template
    assert template is not None
    try:
        text = template_render(template.body, {**variables, "activation_code": issued.code if issued else ""})
    except TemplateRefused as error:
        raise InvalidInput({"template": error.errors}) from error
    with translation.override(member.language):
        content = LetterContent(
            anchor=f"letter-{letter.position}",
            address=lines,
            date=chunk.day(chunk.now),
            body=letter_body_html(text),
            code=issued.code if issued else "",
            code_expires=chunk.day(issued.expires_at) if issued else "",
            qr=chunk.qr if issued else "",
            activation_url=str(chunk.shared["activation_url"]),
            language=member.language,
        )
    return _Prepared(
        letter=letter, message=message, content=content, code=issued.activation_code if issued else None
    )


def _chunk_lock(batch_id: int, chunk: int) -> bool:
    """This chunk is ours until commit (False: another task renders it now)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"letters:{schema_current()}:{batch_id}:{chunk}"],
        )
        return bool(cursor.fetchone()[0])


def letter_chunk_render(*, batch_id: int, chunk: int) -> int:
    """Render the letters of one chunk not rendered yet (module docstring): how many were."""
    now = timezone.now()
    with transaction.atomic():
        batch = LetterBatch.objects.filter(pk=batch_id, state=LetterBatch.State.RENDERING).first()
        if batch is None or not _chunk_lock(batch_id, chunk):
            return 0
        letters = list(
            Letter.objects.filter(batch=batch, chunk=chunk, rendered_at__isnull=True)
            .select_related("member", "member__tier")
            .order_by("position")
        )
        if not letters:
            return 0
        letterhead = letterhead_get()
        activation_url = f"{letterhead.site_url}activate/" if letterhead.site_url else ""
        context = _Chunk(
            batch=batch,
            letterhead=letterhead,
            qr=qr_data_uri(activation_url) if batch.issue_codes and activation_url else "",
            channel_settings=channel_settings_get(),
            now=now,
            zone=brand_timezone(),
            shared={
                "programme_name": letterhead.programme_name,
                "site_url": letterhead.site_url,
                "activation_url": activation_url,
            },
        )
        prepared = [_prepare(letter=letter, chunk=context) for letter in letters]
        printed = [item for item in prepared if item.content is not None]
        if printed:
            with translation.override(letterhead.language):
                catalogue = (
                    catalogue_html(letterhead=letterhead, gifts=_printed_gifts(), standalone=False)
                    if batch.include_catalogue
                    else ""
                )
                html = letters_html(letterhead=letterhead, letters=[item.content for item in printed])  # type: ignore[misc]
            rendered = letters_pdf(
                html=html,
                anchors=[item.content.anchor for item in printed],  # type: ignore[union-attr]
                catalogue=catalogue,
            )
            storage = LetterBatch._meta.get_field("pdf").storage
            name = _chunk_name(batch, chunk)
            if storage.exists(name):
                storage.delete(name)  # left by a chunk whose transaction did not commit
            storage.save(name, ContentFile(rendered.pdf))
            for item, (first, pages) in zip(printed, rendered.pages, strict=True):
                item.letter.chunk_page, item.letter.pages = first, pages
        messages = Message.objects.bulk_create([item.message for item in prepared])
        for item, message in zip(prepared, messages, strict=True):
            letter = item.letter
            letter.message, letter.activation_code, letter.rendered_at = message, item.code, now
            letter.skip_reason = message.skip_reason if item.content is None else ""
            if item.content is None:
                letter.pages = 0
        Letter.objects.bulk_update(
            letters, ["message", "activation_code", "rendered_at", "skip_reason", "pages", "chunk_page"]
        )
        skipped = len(prepared) - len(printed)
        LetterBatch.objects.filter(pk=batch.pk).update(
            letters_rendered=F("letters_rendered") + len(printed),
            letters_skipped=F("letters_skipped") + skipped,
            requeue_at=timezone.now() + RENDER_STALL,
            updated_at=now,
        )
        letter_batch_job_advance(batch_id=batch.pk)
    return len(letters)


def letter_chunks_pending(*, batch_id: int) -> list[int]:
    return sorted(
        set(
            Letter.objects.filter(batch_id=batch_id, rendered_at__isnull=True).values_list("chunk", flat=True)
        )
    )


def letter_batch_assemble(*, batch_id: int) -> LetterBatch | None:
    """Once every chunk is rendered: the chunks' PDFs joined in order into the batch's PDF, the
    manifest written, the batch `ready`. None while chunks are left (or another task joins)."""
    with transaction.atomic():
        batch = (
            LetterBatch.objects.select_for_update(skip_locked=True)
            .filter(pk=batch_id, state=LetterBatch.State.RENDERING)
            .first()
        )
        if batch is None or letter_chunks_pending(batch_id=batch_id):
            return None
        storage = LetterBatch._meta.get_field("pdf").storage
        letters = list(
            Letter.objects.filter(batch=batch, pages__gt=0).select_related("member").order_by("position")
        )
        writer = PdfWriter()
        offsets: dict[int, int] = {}
        chunks = sorted({letter.chunk for letter in letters})
        for chunk in chunks:
            offsets[chunk] = len(writer.pages)
            with storage.open(_chunk_name(batch, chunk), "rb") as part:
                writer.append(io.BytesIO(part.read()))
        for letter in letters:
            letter.first_page = offsets[letter.chunk] + (letter.chunk_page or 1)
        Letter.objects.bulk_update(letters, ["first_page"], batch_size=2000)
        output = io.BytesIO()
        writer.write(output)
        manifest = io.StringIO()
        table = csv.writer(manifest)
        table.writerow(["position", "external_id", "name", "postal_code", "pages", "first_page"])
        for letter in letters:
            member = letter.member
            person = f"{member.first_name} {member.last_name}".strip()
            table.writerow(
                [
                    letter.position + 1,
                    member.external_id,
                    member.company_name or person,
                    member.postal_code,
                    letter.pages,
                    letter.first_page,
                ]
            )
        for name in (batch.pdf.name, batch.manifest.name):
            if name and storage.exists(name):
                storage.delete(name)
        batch.pdf.save(
            f"{_letters_folder(batch)}/batch-{batch.pk}.pdf", ContentFile(output.getvalue()), save=False
        )
        batch.manifest.save(
            f"{_letters_folder(batch)}/batch-{batch.pk}.csv",
            ContentFile(manifest.getvalue().encode("utf-8")),
            save=False,
        )
        batch.state, batch.pages, batch.rendered_at = (
            LetterBatch.State.READY,
            len(writer.pages),
            timezone.now(),
        )
        batch.requeue_at, batch.error = None, ""
        batch.save()
        letter_batch_job_end(batch=batch)
        names = [_chunk_name(batch, chunk) for chunk in chunks]
        transaction.on_commit(lambda: _files_delete(storage, names))
    return batch


def _files_delete(storage: Storage, names: list[str]) -> None:
    for name in names:
        if storage.exists(name):
            storage.delete(name)


def letter_batch_fail(*, batch_id: int, error: str) -> None:
    """A chunk that cannot be rendered (a template the sandbox refuses): the batch stops, said why."""
    with transaction.atomic():
        failed = LetterBatch.objects.filter(pk=batch_id, state=LetterBatch.State.RENDERING).update(
            state=LetterBatch.State.FAILED, error=error[:2000], requeue_at=None, updated_at=timezone.now()
        )
        if failed:
            letter_batch_job_end(batch=LetterBatch.objects.get(pk=batch_id))


def letter_batch_requeue(*, batch_id: int) -> LetterBatch | None:
    """The batch's task, queued (or by the sweeper): its `requeue_at` moved on while it renders."""
    rows = LetterBatch.objects.filter(pk=batch_id, state=LetterBatch.State.RENDERING)
    rows.update(requeue_at=timezone.now() + RENDER_STALL, attempts=F("attempts") + 1)
    return rows.first()


# --- posting -----------------------------------------------------------------------------------


def letter_batch_post(*, batch_id: int) -> LetterBatch:
    """The print house has posted the batch: the batch `posted`, its letters' messages `sent`."""
    now = timezone.now()
    with transaction.atomic():
        batch = LetterBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise NotFound(f"no letter batch {batch_id}", field="batch_id")
        if batch.state == LetterBatch.State.POSTED:
            return batch
        if batch.state != LetterBatch.State.READY:
            raise Conflict(f"the batch is {batch.state}: only a ready batch is posted", code="not_ready")
        batch.state, batch.posted_at = LetterBatch.State.POSTED, now
        batch.save(update_fields=["state", "posted_at", "updated_at"])
        Message.objects.filter(Q(letter__batch=batch) & Q(state=Message.State.QUEUED)).update(
            state=Message.State.SENT, sent_at=now, provider="print", updated_at=now
        )
    return batch
