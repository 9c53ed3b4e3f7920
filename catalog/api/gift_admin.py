"""What the backoffice does with gifts, through the API: create, change and archive gifts of every
kind, their categories, photos (multipart upload) and voucher pools (CSV or JSON). Thin: the
serializers check JSON types, `catalog.services` validates and writes, as for the backoffice."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.imports import voucher_codes_read
from catalog.models import Category
from catalog.selectors import gifts_all
from catalog.services import (
    PHOTO_MAX_BYTES,
    VOUCHER_CODES_MAX,
    VoucherCodeInput,
    category_create,
    category_update,
    gift_archive,
    gift_create,
    gift_field_defaults,
    gift_photo_add,
    gift_photo_delete,
    gift_update,
    voucher_codes_add,
)
from core.api.base import ApiJSONParser
from core.api.errors import ApiError
from core.api.parsers import CsvParser, FileUploadParser, file_too_large
from core.api.schema import error_responses

from .serializers import (
    CategorySerializer,
    CategoryWriteSerializer,
    GiftPhotoSerializer,
    GiftPhotoUploadSerializer,
    GiftSerializer,
    GiftWriteSerializer,
    VoucherCodesAddedSerializer,
)
from .views import CatalogApiView, GiftListView


class PhotoParser(FileUploadParser):
    """One gift photo, up to `PHOTO_MAX_BYTES`."""

    field = "image"
    max_bytes = PHOTO_MAX_BYTES


NO_GIFT = {404: "no gift with this id"}
ARCHIVED = {409: "the gift is archived: it no longer changes (`archived`)"}
CHANGE_409 = {
    409: "the gift is archived (`archived`), or another gift with this reference was saved at the "
    "same moment (`duplicate`)"
}
GIFT_400 = {
    400: "a field is missing or invalid (its type, its range, what the gift's kind needs, a reference "
    "already taken, an unknown category or tier): `error.field` names it; nothing written"
}
GIFT_400_CODES = {
    400: ["invalid", "required", "unknown_field", "does_not_exist"],
    409: ["archived", "duplicate"],
}
DUPLICATE = {409: "another gift with this reference was saved at the same moment (`duplicate`)"}


def _gift_body(request: Request, *, partial: bool) -> dict[str, Any]:
    body = GiftWriteSerializer(data=request.data, partial=partial)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


def _gift_answer(request: Request, gift_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    gift = gifts_all().filter(pk=gift_id).first()
    if gift is None:
        raise ApiError(field="gift_id", message=f"no gift with id {gift_id}", status_code=404)
    return Response(GiftSerializer(gift, context={"request": request}).data, status=status_code)


class GiftListCreateView(GiftListView):
    @extend_schema(
        summary="Create a gift",
        description=(
            "A gift of any kind, with its category (slug), price in points, stock, restrictions (tiers, "
            "VIP, availability window, limit per member) and what its kind needs. Checked as the "
            "backoffice's gift form checks it. A voucher gift's stock is its pool: add codes with "
            "`POST /gifts/{id}/vouchers`; photos with `POST /gifts/{id}/photos`."
        ),
        request=GiftWriteSerializer,
        responses={
            201: GiftSerializer,
            **error_responses(
                400, 409, why={**GIFT_400, **DUPLICATE}, codes={**GIFT_400_CODES, 409: ["duplicate"]}
            ),
        },
    )
    def post(self, request: Request) -> Response:
        gift = gift_create(data=_gift_body(request, partial=False))
        return _gift_answer(request, gift.pk, status_code=status.HTTP_201_CREATED)


class GiftDetailView(CatalogApiView):
    @extend_schema(
        summary="One gift, whatever its state",
        description="Any gift of the brand by id, hidden or archived ones included, with its `state`, "
        "price, stock, restrictions and photos.",
        responses={200: GiftSerializer, **error_responses(404, why=NO_GIFT)},
    )
    def get(self, request: Request, gift_id: int) -> Response:
        return _gift_answer(request, gift_id)

    @extend_schema(
        summary="Replace a gift",
        description="The whole gift: `reference`, `name` and `points_price` are required, the fields "
        "left out go back to their defaults (no category, no tiers, no limit, active...). Checked as "
        "the backoffice checks it; an archived gift is a 409.",
        request=GiftWriteSerializer,
        responses={
            200: GiftSerializer,
            **error_responses(400, 404, 409, why={**GIFT_400, **NO_GIFT, **CHANGE_409}, codes=GIFT_400_CODES),
        },
    )
    def put(self, request: Request, gift_id: int) -> Response:
        data = {**gift_field_defaults(), **_gift_body(request, partial=False)}
        gift_update(gift_id=gift_id, data=data)
        return _gift_answer(request, gift_id)

    @extend_schema(
        summary="Change some fields of a gift",
        description='Only the fields sent change (`{"stock": 40}`, `{"is_active": false}`). Checked '
        "as the backoffice checks it; an archived gift is a 409.",
        request=GiftWriteSerializer(partial=True),
        responses={
            200: GiftSerializer,
            **error_responses(400, 404, 409, why={**GIFT_400, **NO_GIFT, **CHANGE_409}, codes=GIFT_400_CODES),
        },
    )
    def patch(self, request: Request, gift_id: int) -> Response:
        gift_update(gift_id=gift_id, data=_gift_body(request, partial=True))
        return _gift_answer(request, gift_id)

    @extend_schema(
        summary="Archive a gift",
        description="Withdraws the gift for good: hidden from the member site and the gift list, never "
        "redeemable again, read-only; still readable here by id (`state: archived`), and its orders "
        "keep it. Archiving it again changes nothing.",
        responses={200: GiftSerializer, **error_responses(404, why=NO_GIFT)},
    )
    def delete(self, request: Request, gift_id: int) -> Response:
        gift_archive(gift_id=gift_id)
        return _gift_answer(request, gift_id)


class GiftPhotosView(CatalogApiView):
    parser_classes = [PhotoParser]

    @extend_schema(
        summary="Upload a photo of a gift",
        description=(
            "`multipart/form-data` with the `image` (JPEG, PNG or WebP, whatever its name says; at most "
            f"{PHOTO_MAX_BYTES // 1024 // 1024} MB), and optionally `alt_text` and `position`. Stored "
            "in the brand's media folder with a thumbnail, as the backoffice stores photos; the "
            "gift's `photos` list it with its URLs."
        ),
        request={"multipart/form-data": GiftPhotoUploadSerializer},
        responses={
            201: GiftPhotoSerializer,
            **error_responses(
                400,
                404,
                409,
                413,
                why={
                    400: "`image` is missing, not a JPEG, PNG or WebP image, or too small or too large "
                    "in pixels; or `alt_text` or `position` is invalid",
                    **NO_GIFT,
                    **ARCHIVED,
                    413: "`image` is over the size limit",
                },
                codes={409: ["archived"]},
            ),
        },
    )
    def post(self, request: Request, gift_id: int) -> Response:
        body = GiftPhotoUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        image = body.validated_data["image"]
        if image.size > PHOTO_MAX_BYTES:
            raise file_too_large(field="image", max_bytes=PHOTO_MAX_BYTES)
        photo = gift_photo_add(
            gift_id=gift_id,
            image=image,
            alt_text=body.validated_data["alt_text"],
            position=body.validated_data["position"],
        )
        return Response(
            GiftPhotoSerializer(photo, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class GiftPhotoDetailView(CatalogApiView):
    @extend_schema(
        summary="Remove a photo of a gift",
        description="The photo leaves the gift's `photos`, and its files the brand's media folder.",
        responses={
            204: None,
            **error_responses(404, 409, why={404: "no such gift, or no such photo of it", **ARCHIVED}),
        },
    )
    def delete(self, request: Request, gift_id: int, photo_id: int) -> Response:
        gift_photo_delete(gift_id=gift_id, photo_id=photo_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _voucher_codes(data: Any) -> list[VoucherCodeInput]:
    if isinstance(data, bytes):
        return voucher_codes_read(content=data)
    if isinstance(data, dict) and set(data) <= {"codes"}:
        data = data.get("codes", [])
    if not isinstance(data, list):
        raise ApiError(field="body", message="a JSON list of codes, or a text/csv body of one code per line")
    for index, code in enumerate(data):
        if not isinstance(code, str):
            raise ApiError(field=f"codes[{index}]", message="a code is a string")
    return [VoucherCodeInput(where=f"codes[{index}]", code=code) for index, code in enumerate(data)]


class GiftVouchersView(CatalogApiView):
    parser_classes = [ApiJSONParser, CsvParser]

    @extend_schema(
        summary="Add codes to a voucher gift's pool",
        description=(
            "A `text/csv` body, one code per line (the first cell of each line; a first line `code` "
            'is a header), or a JSON list of codes (`["A-1", "A-2"]`). All the codes are added, or '
            "none: a code repeated in the upload or already in the pool (used or not), empty, or longer "
            f"than 120 characters is a 400 naming where it is (`line 7`, `codes[6]`, every such line "
            f"in `error.details`), and nothing is written. At most {VOUCHER_CODES_MAX} codes per upload; "
            "each code is handed out once, to one redemption."
        ),
        request={
            "text/csv": OpenApiTypes.STR,
            "application/json": {"type": "array", "items": {"type": "string", "maxLength": 120}},
        },
        responses={
            201: VoucherCodesAddedSerializer,
            **error_responses(
                400,
                404,
                409,
                why={
                    400: "a code is repeated, already in the pool, empty or too long (`error.field`: "
                    "`line 7` or `codes[6]`), or the gift is not a voucher gift (`gift`); nothing written",
                    **NO_GIFT,
                    409: "the gift is archived: its pool is closed",
                },
                codes={400: ["invalid", "duplicate", "required"], 409: ["archived"]},
            ),
        },
    )
    def post(self, request: Request, gift_id: int) -> Response:
        result = voucher_codes_add(gift_id=gift_id, codes=_voucher_codes(request.data or []))
        return Response(VoucherCodesAddedSerializer(result).data, status=status.HTTP_201_CREATED)


class CategoryListView(CatalogApiView):
    @extend_schema(
        summary="The gift categories",
        description="Every category of the catalogue, in their order (`position`, then name); paged "
        "with `limit` and `offset`. Gifts name their category by `slug`.",
        responses={200: CategorySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.paginated(request, Category.objects.all(), CategorySerializer)

    @extend_schema(
        summary="Create a gift category",
        description="Checked as the backoffice checks it: a name, a slug unique in the catalogue.",
        request=CategoryWriteSerializer,
        responses={
            201: CategorySerializer,
            **error_responses(400, why={400: "a field is missing, invalid, or the slug is taken"}),
        },
    )
    def post(self, request: Request) -> Response:
        body = CategoryWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        category = category_create(data=body.validated_data)
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)


class CategoryDetailView(CatalogApiView):
    @extend_schema(
        summary="Change a gift category",
        description="Only the fields sent change; checked as the backoffice checks it. The gifts of a "
        "category renamed or re-slugged stay in it.",
        request=CategoryWriteSerializer(partial=True),
        responses={
            200: CategorySerializer,
            **error_responses(
                400, 404, why={400: "a field is invalid, or the slug is taken", 404: "no such category"}
            ),
        },
    )
    def patch(self, request: Request, slug: str) -> Response:
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            raise ApiError(field="slug", message=f"no category '{slug}'", status_code=404)
        body = CategoryWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        category = category_update(category_id=category.pk, data=body.validated_data)
        return Response(CategorySerializer(category).data)
