"""The brand's theme through the API: read it, replace it (PUT: every field) or change it (PATCH:
the fields given), upload or remove its logo, favicon and hero image. Thin: `themes.services`
validates and writes, as for the backoffice's theme page."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi
from core.api.errors import ApiError
from core.api.parsers import FileUploadParser
from core.api.schema import error_responses
from themes.models import TEXT_KEYS, TEXT_LANGUAGES
from themes.selectors import theme_data, theme_get
from themes.services import EDITABLE_FIELDS, IMAGE_RULES, ImageRule, theme_image_set, theme_update
from themes.styles import CONTRAST_PAIRS, CUSTOM_CSS_MAX_BYTES, FONTS, MIN_CONTRAST

PAIRS = "; ".join(label for _fg, _bg, label in CONTRAST_PAIRS)
TEXTS_HELP = (
    f"by language ({', '.join(TEXT_LANGUAGES)}), then by text ({', '.join(TEXT_KEYS)}): Markdown, "
    "except `tagline` (plain text). A PATCH or PUT changes the texts it names and keeps the others"
)
INVALID = {
    400: "a field is invalid, nothing written: `error.field` names it (`texts.fr.faq`), `error.details` "
    f"lists every field's messages. Colour pairs under {MIN_CONTRAST}:1 (WCAG AA: {PAIRS}) are refused "
    "with their ratio; custom CSS with `@import`, a `url()` outside the brand's media, `expression()`, "
    f"`behavior`, `-moz-binding`, `javascript:`, `<`, or over {CUSTOM_CSS_MAX_BYTES // 1024} KB is refused"
}
MAX_IMAGE_BYTES = max(rule.max_bytes for rule in IMAGE_RULES.values())
KIND = OpenApiParameter(
    "kind", str, OpenApiParameter.PATH, enum=list(IMAGE_RULES), description="which image of the theme"
)
IMAGE_CAPS = ", ".join(
    f"{kind} at most {rule.max_bytes // 1024} KB, {rule.min_side}-{rule.max_side} px a side"
    for kind, rule in IMAGE_RULES.items()
)


class ThemeSerializer(serializers.Serializer):
    primary_color = serializers.CharField(help_text="`#rrggbb`: header, buttons and links")
    accent_color = serializers.CharField(help_text="`#rrggbb`: highlights and messages, under text")
    background_color = serializers.CharField(help_text="`#rrggbb`: the page, and the buttons' text")
    text_color = serializers.CharField(help_text="`#rrggbb`: body text")
    font = serializers.ChoiceField(
        choices=list(FONTS), help_text="a bundled, self-hosted font or the system's"
    )
    corner_radius = serializers.IntegerField(min_value=0, max_value=32, help_text="pixels")
    programme_name = serializers.CharField(help_text="the programme's name (the programme settings' too)")
    texts = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()), help_text=TEXTS_HELP
    )
    custom_css = serializers.CharField(
        allow_blank=True, help_text=f"at most {CUSTOM_CSS_MAX_BYTES // 1024} KB"
    )


class ThemeReadSerializer(ThemeSerializer):
    texts_html = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="the texts as the site shows them: sanitised HTML (the tagline escaped)",
    )
    logo_url = serializers.CharField(allow_null=True)
    favicon_url = serializers.CharField(allow_null=True)
    hero_url = serializers.CharField(allow_null=True)
    css_url = serializers.CharField(
        help_text="the compiled stylesheet, on the brand's host; its name changes with it"
    )
    updated_at = serializers.DateTimeField()


class ThemeImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text=f"JPEG, PNG or WebP (no SVG): {IMAGE_CAPS}")


def _theme_answer() -> Response:
    row, data = theme_get(), theme_data()
    texts = {
        language: {key: (row.texts.get(language) or {}).get(key, "") for key in TEXT_KEYS}
        for language in TEXT_LANGUAGES
    }
    body: dict[str, Any] = {
        **{
            name: getattr(data, name)
            for name in (
                "primary_color",
                "accent_color",
                "background_color",
                "text_color",
                "font",
                "corner_radius",
                "programme_name",
            )
        },
        "texts": texts,
        "custom_css": row.custom_css,
        "texts_html": {language: dict(by_key) for language, by_key in data.texts.items()},
        **{
            f"{kind}_url": image.url if image else None
            for kind, image in (("logo", data.logo), ("favicon", data.favicon), ("hero", data.hero))
        },
        "css_url": data.css_url,
        "updated_at": row.updated_at,
    }
    return Response(ThemeReadSerializer(body).data)


def _theme_body(request: Request, *, every: bool) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ApiError(field="body", message="must be a JSON object")
    body = dict(request.data)
    if every:
        missing = [name for name in EDITABLE_FIELDS if name not in body]
        if missing:
            raise ApiError(
                field=missing[0], message=f"{missing[0]} is required: PUT sets every field", code="required"
            )
    return body


class ThemeView(BrandApi, APIView):
    api_scope = "themes"

    @extend_schema(
        operation_id="theme_read",
        summary="The brand's theme",
        description="Colours, font, corner radius, programme name, texts (Markdown as written, and the "
        "sanitised HTML the site shows), custom CSS, image URLs and the compiled stylesheet's URL.",
        responses={200: ThemeReadSerializer},
    )
    def get(self, request: Request) -> Response:
        return _theme_answer()

    @extend_schema(
        operation_id="theme_replace",
        summary="Replace the brand's theme (every field)",
        description="Sets every field (a body lacking one is a 400 naming it, code `required`); images "
        "have their own operations. Validated as the backoffice's theme page is; the site links the "
        "new stylesheet at once (a new `css_url`).",
        request=ThemeSerializer,
        responses={200: ThemeReadSerializer, **error_responses(400, why=INVALID)},
    )
    def put(self, request: Request) -> Response:
        theme_update(data=_theme_body(request, every=True))
        return _theme_answer()

    @extend_schema(
        operation_id="theme_update",
        summary="Change some fields of the brand's theme",
        description="Sets the fields given, the others keep their value (`texts` too: the texts given "
        'change, `{"texts": {"fr": {"faq": "..."}}}`). Colour contrast is checked on the result.',
        request=ThemeSerializer(partial=True),
        responses={200: ThemeReadSerializer, **error_responses(400, why=INVALID)},
    )
    def patch(self, request: Request) -> Response:
        theme_update(data=_theme_body(request, every=False))
        return _theme_answer()


class ThemeImageParser(FileUploadParser):
    """One image of the theme, up to the largest image allowed (each kind's own limit is checked
    on the file)."""

    field = "image"
    max_bytes = MAX_IMAGE_BYTES


class ThemeImageView(BrandApi, APIView):
    api_scope = "themes"
    parser_classes = [ThemeImageParser]

    @extend_schema(
        operation_id="theme_image_upload",
        summary="Upload the theme's logo, favicon or hero image",
        description="`multipart/form-data` with the `image`: JPEG, PNG or WebP as its content says "
        f"(whatever its name says; no SVG). {IMAGE_CAPS}. Stored in the brand's media folder; it "
        "replaces the previous one. Answers the theme.",
        parameters=[KIND],
        request={"multipart/form-data": ThemeImageUploadSerializer},
        responses={
            200: ThemeReadSerializer,
            **error_responses(
                400,
                404,
                413,
                why={
                    400: "`image` is missing, not a JPEG, PNG or WebP image, or its sides are out of range",
                    404: "no such image kind (logo, favicon, hero)",
                    413: "`image` is over its size limit",
                },
            ),
        },
    )
    def post(self, request: Request, kind: str) -> Response:
        rule = _rule(kind)
        body = ThemeImageUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        image = body.validated_data["image"]
        if image.size > rule.max_bytes:
            raise ApiError(
                field="image",
                message=f"at most {rule.max_bytes // 1024} KB",
                status_code=413,
                code="too_large",
            )
        theme_image_set(kind=kind, image=image)
        return _theme_answer()

    @extend_schema(
        operation_id="theme_image_remove",
        summary="Remove the theme's logo, favicon or hero image",
        description="The site shows none (the hero falls back to the accent colour). Removing it "
        "again changes nothing.",
        parameters=[KIND],
        responses={
            200: ThemeReadSerializer,
            **error_responses(404, why={404: "no such image kind (logo, favicon, hero)"}),
        },
    )
    def delete(self, request: Request, kind: str) -> Response:
        _rule(kind)
        theme_image_set(kind=kind, image=None)
        return _theme_answer()


def _rule(kind: str) -> ImageRule:
    if kind not in IMAGE_RULES:
        raise ApiError(
            field="kind", message=f"one of {', '.join(IMAGE_RULES)}", status_code=404, code="not_found"
        )
    return IMAGE_RULES[kind]
