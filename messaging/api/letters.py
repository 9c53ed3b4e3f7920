"""Launch mailings through the API (README, "Messaging > Letters"): a batch of printed letters
created for a segment or a list of members, followed while it renders, its PDF and manifest
downloaded for the print house, marked as posted; and the printed catalogue as one PDF. Thin:
`messaging.letters.services` and `selectors` do the work."""

from __future__ import annotations

from dataclasses import asdict

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.errors import ApiError
from core.api.schema import error_responses
from messaging.letters.selectors import letter_batch_activation, letter_batch_get, letter_batch_skips
from messaging.letters.services import letter_batch_create, letter_batch_post, print_catalogue_pdf
from messaging.models import LetterBatch

NO_BATCH = {404: "no letter batch with this id"}
NOT_READY = {409: "the batch is not rendered yet (`not_ready`): follow `state` until `ready`"}


class _FileRenderer(BaseRenderer):
    """Lets a client ask for the file's type (`Accept: application/pdf`); the view answers the bytes."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class PdfRenderer(_FileRenderer):
    media_type, format = "application/pdf", "pdf"


class CsvRenderer(_FileRenderer):
    media_type, format = "text/csv", "csv"


class LetterBatchCreateSerializer(serializers.Serializer):
    segment = serializers.IntegerField(
        required=False, min_value=1, help_text="a segment's id: its members now (either this or `members`)"
    )
    members = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=50_000,
        help_text="members' external ids (either this or `segment`), at most 50,000",
    )
    template = serializers.CharField(
        max_length=64, help_text="the code of a message template of channel post"
    )
    issue_codes = serializers.BooleanField(
        default=True,
        help_text="issue each member a new activation code, printed on the letter (with a QR code "
        "to the activation page, which asks the code and the postcode)",
    )
    include_catalogue = serializers.BooleanField(
        default=False, help_text="follow each letter with the printed catalogue's pages"
    )
    name = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="letters in the batch")
    rendered = serializers.IntegerField(help_text="letters printed in the PDF so far")
    skipped = serializers.IntegerField(help_text="members not written to (no address, opted out...)")
    done = serializers.FloatField(help_text="share of the letters rendered or skipped, 0 to 1")
    skipped_by_reason = serializers.DictField(child=serializers.IntegerField())


class ActivationDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="in the brand's timezone")
    activated = serializers.IntegerField(help_text="codes used that day")
    total = serializers.IntegerField(help_text="codes used up to that day")
    rate = serializers.FloatField(help_text="`total` over the codes issued")


class ActivationSerializer(serializers.Serializer):
    issued = serializers.IntegerField(help_text="activation codes printed by the batch")
    activated = serializers.IntegerField(help_text="of them, used to activate an account")
    rate = serializers.FloatField(help_text="`activated` over `issued`, 0 to 1")
    days = ActivationDaySerializer(many=True)


class LetterBatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=LetterBatch.State.choices)
    template = serializers.CharField(source="template_code")
    segment = serializers.IntegerField(source="segment_id", allow_null=True)
    issue_codes = serializers.BooleanField()
    include_catalogue = serializers.BooleanField()
    pages = serializers.IntegerField(help_text="pages of the PDF once ready")
    error = serializers.CharField(help_text="why a `failed` batch stopped")
    progress = ProgressSerializer()
    activation = ActivationSerializer()
    created_at = serializers.DateTimeField()
    rendered_at = serializers.DateTimeField(allow_null=True)
    posted_at = serializers.DateTimeField(allow_null=True)


def _answer(batch: LetterBatch, *, status_code: int = status.HTTP_200_OK) -> Response:
    total = batch.letters_total
    progress = {
        "total": total,
        "rendered": batch.letters_rendered,
        "skipped": batch.letters_skipped,
        "done": ((batch.letters_rendered + batch.letters_skipped) / total) if total else 1.0,
        "skipped_by_reason": letter_batch_skips(batch=batch),
    }
    activation = letter_batch_activation(batch=batch)
    data = {
        "id": batch.pk,
        "name": batch.name,
        "state": batch.state,
        "template_code": batch.template_code,
        "segment_id": batch.segment_id,
        "issue_codes": batch.issue_codes,
        "include_catalogue": batch.include_catalogue,
        "pages": batch.pages,
        "error": batch.error,
        "progress": progress,
        "activation": {
            "issued": activation.issued,
            "activated": activation.activated,
            "rate": activation.rate,
            "days": [asdict(day) for day in activation.days],
        },
        "created_at": batch.created_at,
        "rendered_at": batch.rendered_at,
        "posted_at": batch.posted_at,
    }
    return Response(LetterBatchSerializer(data).data, status=status_code)


def _batch(batch_id: int) -> LetterBatch:
    return found_or_404(
        letter_batch_get(batch_id=batch_id), field="batch_id", message=f"no letter batch {batch_id}"
    )


class LetterBatchListView(BrandApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        summary="Start a launch mailing: a batch of printed letters",
        description=(
            "One letter per member of the segment (as it is now) or of the `members` listed, from the "
            "message template `template` of channel post, on the brand's letterhead, the address placed "
            "for a French window envelope (NF Z10-011). With `issue_codes`, each member is issued a new "
            "activation code (their older ones revoked), printed large on the letter; its clear text is "
            "in the PDF only. Rendering runs in the background: answered 202 with the batch, follow it "
            "with `GET /letter-batches/{id}`. Members the platform would not write to (no address, an "
            "address that cannot fit the window, opted out of post, blocked) are skipped with a reason."
        ),
        request=LetterBatchCreateSerializer,
        responses={
            202: LetterBatchSerializer,
            **error_responses(
                400,
                why={
                    400: "`segment` unknown or empty, `members` empty or naming unknown external ids, "
                    "both or neither given, or `template` not a post template of the brand: "
                    "`error.field` names it; nothing written"
                },
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = LetterBatchCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        batch = letter_batch_create(
            template=data["template"],
            segment_id=data.get("segment"),
            external_ids=data.get("members"),
            issue_codes=data["issue_codes"],
            include_catalogue=data["include_catalogue"],
            name=data["name"],
        )
        return _answer(batch, status_code=status.HTTP_202_ACCEPTED)


class LetterBatchDetailView(BrandApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        summary="A launch mailing's state, progress and activations",
        description=(
            "`state`: draft, rendering, ready (the PDF and manifest can be downloaded), posted, or failed "
            "(`error` says why). `progress` counts the letters rendered and skipped (by reason); "
            "`activation` how many of the codes printed were used, in all and day by day."
        ),
        responses={200: LetterBatchSerializer, **error_responses(404, why=NO_BATCH)},
    )
    def get(self, request: Request, batch_id: int) -> Response:
        return _answer(_batch(batch_id))


def _file(batch_id: int, field: str, content_type: str) -> HttpResponse:
    batch = _batch(batch_id)
    stored = getattr(batch, field)
    if batch.state not in (LetterBatch.State.READY, LetterBatch.State.POSTED) or not stored:
        raise ApiError(
            field="batch_id",
            message=f"the batch is {batch.state}, not ready",
            status_code=409,
            code="not_ready",
        )
    with stored.open("rb") as handle:
        content = handle.read()
    response = HttpResponse(content, content_type=content_type)
    extension = "pdf" if field == "pdf" else "csv"
    response["Content-Disposition"] = f'attachment; filename="letters-{batch.pk}.{extension}"'
    response["Cache-Control"] = "no-store"
    return response


class LetterBatchPdfView(BrandApi, APIView):
    api_scope = "messaging"
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        summary="A launch mailing's print-ready PDF",
        description=(
            "Every letter of the batch in order, each starting on a new page (A4; the manifest gives each "
            "letter's first page and number of pages). It holds the activation codes in clear: hand it to "
            "the print house only."
        ),
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="the PDF"),
            **error_responses(404, 409, why={**NO_BATCH, **NOT_READY}, codes={409: ["not_ready"]}),
        },
    )
    def get(self, request: Request, batch_id: int) -> HttpResponse:
        return _file(batch_id, "pdf", "application/pdf")


class LetterBatchManifestView(BrandApi, APIView):
    api_scope = "messaging"
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        summary="A launch mailing's manifest (CSV)",
        description=(
            "One line per letter printed, in the PDF's order: `position`, the member's `external_id`, "
            "`name` (company or person), `postal_code`, `pages`, `first_page` (in the PDF, from 1)."
        ),
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="the CSV, UTF-8"),
            **error_responses(404, 409, why={**NO_BATCH, **NOT_READY}, codes={409: ["not_ready"]}),
        },
    )
    def get(self, request: Request, batch_id: int) -> HttpResponse:
        return _file(batch_id, "manifest", "text/csv; charset=utf-8")


class LetterBatchPostedView(BrandApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        summary="Mark a launch mailing as posted",
        description=(
            "The print house posted the letters: the batch becomes `posted` and each letter's message, in "
            "the member's message log, `sent`. Marking it again changes nothing."
        ),
        request=None,
        responses={
            200: LetterBatchSerializer,
            **error_responses(
                404,
                409,
                why={
                    **NO_BATCH,
                    409: "the batch is not ready (`not_ready`): only a rendered batch is posted",
                },
                codes={409: ["not_ready"]},
            ),
        },
    )
    def post(self, request: Request, batch_id: int) -> Response:
        _batch(batch_id)
        return _answer(letter_batch_post(batch_id=batch_id))


class PrintCatalogueView(BrandApi, APIView):
    api_scope = "catalog"
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        summary="The printed catalogue (PDF)",
        description=(
            "A booklet of the gifts flagged for the printed catalogue (`in_printed_catalogue`) that "
            "members can see now, by category, with a photo, the points and the reference; rendered "
            "when asked (a few seconds for some forty gifts)."
        ),
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="the PDF")},
    )
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(print_catalogue_pdf(), content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="catalogue.pdf"'
        return response
