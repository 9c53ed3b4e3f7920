"""Message templates through the API: list, create, read, replace, delete, and preview an unsaved
template with a real member. Thin: `messaging.services.templates` checks and writes, as for the
backoffice's template page."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.pagination import PagedApi
from core.api.schema import error_responses
from loyalty.api.programme import body_object
from loyalty.selectors.members import member_get
from messaging.models import Channel, MessageTemplate, Purpose
from messaging.rendering import VARIABLES
from messaging.services.templates import TEMPLATE_FIELDS, template_delete, template_preview, template_save
from messaging.sms_encoding import GSM7, UCS2

VARIABLES_HELP = ", ".join(f"`{variable.name}`" for variable in VARIABLES)
INVALID = {
    400: "invalid template, nothing written: `error.field` names the field (`body` or `subject` for a "
    "variable the catalogue does not name, an attribute starting with `_`, an include, a power, a "
    "filter outside the safe ones or `join`, a loop, a macro, a `{% set %}`, the `%` operator, or a "
    "syntax error; `language` for a language the brand's site does not offer; `subject` for an e-mail "
    "without one)"
}
NOT_FOUND = {404: "no template with this id (`error.field`: `template_id`)"}
CLASH = {409: "another template has the same code, channel and language (`error.field`: `code`)"}
IN_USE = {
    409: "the last template of its code and channel, which a campaign not yet done sends "
    "(`error.field`: `template`)"
}
TEMPLATE_ID = OpenApiParameter("template_id", int, OpenApiParameter.PATH, description="the template's id")


class TemplateSerializer(serializers.ModelSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices, help_text="where its messages go")
    purpose = serializers.ChoiceField(
        choices=Purpose.choices,
        default=Purpose.MARKETING,
        help_text="marketing messages need the member's yes and keep quiet hours and caps; service "
        "messages (an order shipped) go wherever the member has not said no",
    )
    subject = serializers.CharField(
        allow_blank=True, default="", max_length=200, help_text="e-mails (required) and letters only"
    )
    body = serializers.CharField(
        help_text="Jinja2 text rendered in a sandbox: `{{ first_name }}`, `{% if tier %}...{% endif %}`. "
        f"Variables: {VARIABLES_HELP}",
    )

    class Meta:
        model = MessageTemplate
        fields = ["id", "code", "channel", "language", "name", "purpose", "subject", "body", "updated_at"]
        read_only_fields = ["id", "updated_at"]
        # The code, channel and language's uniqueness is the service's: a 409 naming `code`, not a 400.
        validators: list = []
        extra_kwargs = {
            "code": {"help_text": "what triggers and campaigns name it by; one per channel and language"},
            "language": {"help_text": "one of the brand's site languages (programme settings)"},
        }


class TemplateFilterSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    language = serializers.CharField(required=False, max_length=8)
    code = serializers.CharField(required=False, max_length=64)


class PreviewRequestSerializer(serializers.Serializer):
    member = serializers.CharField(
        max_length=200, help_text="the external id of the member it is rendered for"
    )
    channel = serializers.ChoiceField(choices=Channel.choices)
    subject = serializers.CharField(allow_blank=True, default="", max_length=200)
    body = serializers.CharField(help_text="the template's text, saved or not")


class SmsMeasureSerializer(serializers.Serializer):
    encoding = serializers.ChoiceField(choices=[GSM7, UCS2])
    units = serializers.IntegerField(
        help_text="its length: septets in GSM-7 (an extension character counts 2), UTF-16 units in UCS-2"
    )
    segments = serializers.IntegerField(
        help_text="the messages it is billed as: GSM-7 160 in one, 153 a part; UCS-2 70, 67 a part"
    )
    per_segment = serializers.IntegerField()
    unicode_characters = serializers.ListField(
        child=serializers.CharField(), help_text="the characters outside GSM-7 that make it UCS-2"
    )


class PreviewSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    subject = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_blank=True)
    html = serializers.CharField(allow_blank=True, help_text="e-mails: the HTML part, when built")
    sms = SmsMeasureSerializer(allow_null=True, help_text="SMS only: encoding and segments")
    examples = serializers.ListField(
        child=serializers.CharField(),
        help_text="the variables shown with the catalogue's example (only the event knows them, or "
        "the member has none)",
    )


def _template_body(request: Request) -> dict[str, Any]:
    """The template in the body, its JSON types checked; the service then checks the rest."""
    types = TemplateSerializer(data=body_object(request))
    if not types.is_valid():
        raise exceptions.ValidationError(types.errors)
    data = dict(types.validated_data)
    return {name: data.get(name, "") for name in TEMPLATE_FIELDS}


def _template_or_404(template_id: int) -> MessageTemplate:
    found = MessageTemplate.objects.filter(pk=template_id).first()
    return found_or_404(found, field="template_id", message=f"no template with id {template_id}")


class TemplateListView(BrandApi, PagedApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        operation_id="message_templates_list",
        summary="The brand's message templates",
        description="Every template, by code, channel and language, paged with `limit` and `offset`; "
        "filtered by `channel`, `language` or `code`.",
        parameters=[TemplateFilterSerializer],
        responses={
            200: TemplateSerializer(many=True),
            **error_responses(400, why={400: "a bad filter: `error.field` names it"}),
        },
    )
    def get(self, request: Request) -> Response:
        filters = TemplateFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = MessageTemplate.objects.filter(**filters.validated_data)
        return self.paginated(request, rows, TemplateSerializer)

    @extend_schema(
        operation_id="message_templates_create",
        summary="Create a message template",
        description="Checked as the backoffice's template page checks it: a variable the catalogue does "
        "not name, or anything the sandbox keeps out, is refused now, not when a message is sent.",
        request=TemplateSerializer,
        responses={201: TemplateSerializer, **error_responses(400, 409, why={**INVALID, **CLASH})},
    )
    def post(self, request: Request) -> Response:
        template = template_save(**_template_body(request))
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailView(BrandApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        operation_id="message_templates_read",
        summary="One message template",
        description="The template with this id.",
        parameters=[TEMPLATE_ID],
        responses={200: TemplateSerializer, **error_responses(404, why=NOT_FOUND)},
    )
    def get(self, request: Request, template_id: int) -> Response:
        return Response(TemplateSerializer(_template_or_404(template_id)).data)

    @extend_schema(
        operation_id="message_templates_replace",
        summary="Replace a message template",
        description="Sets every field (`subject` empty and `purpose` marketing unless given), checked as "
        "on creation. Messages already sent keep their text.",
        parameters=[TEMPLATE_ID],
        request=TemplateSerializer,
        responses={
            200: TemplateSerializer,
            **error_responses(400, 404, 409, why={**INVALID, **NOT_FOUND, **CLASH}),
        },
    )
    def put(self, request: Request, template_id: int) -> Response:
        template = _template_or_404(template_id)
        template = template_save(**_template_body(request), template=template)
        return Response(TemplateSerializer(template).data)

    @extend_schema(
        operation_id="message_templates_delete",
        summary="Delete a message template",
        description="Deletes the template; the messages sent with it keep their text. The last "
        "template of a code and channel that a campaign still to send uses is not deleted (409).",
        parameters=[TEMPLATE_ID],
        responses={
            204: OpenApiResponse(description="deleted"),
            **error_responses(404, 409, why={**NOT_FOUND, **IN_USE}),
        },
    )
    def delete(self, request: Request, template_id: int) -> Response:
        template_delete(template=_template_or_404(template_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplatePreviewView(BrandApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        operation_id="message_templates_preview",
        summary="Preview a template with a real member",
        description="Renders a template, saved or not, with the member's own values (name, balance, "
        "tier, expiring points) and the catalogue's examples for what only the event sending it "
        "knows (points just earned, the gift, the order). Writes nothing. An SMS also answers its "
        "encoding (GSM-7 or UCS-2) and how many segments it costs.",
        request=PreviewRequestSerializer,
        responses={
            200: PreviewSerializer,
            **error_responses(
                400,
                404,
                why={
                    **INVALID,
                    404: "no member with this external id (`error.field`: `member`)",
                },
            ),
        },
    )
    def post(self, request: Request) -> Response:
        query = PreviewRequestSerializer(data=body_object(request))
        query.is_valid(raise_exception=True)
        data = query.validated_data
        member = found_or_404(
            member_get(external_id=data["member"]),
            field="member",
            message=f"no member with external id '{data['member']}'",
        )
        preview = template_preview(template_data=data, member=member)
        sms = preview.sms
        answer = {
            "channel": preview.channel,
            "subject": preview.subject,
            "text": preview.text,
            "html": preview.html,
            "sms": None
            if sms is None
            else {
                "encoding": sms.encoding,
                "units": sms.units,
                "segments": sms.segments,
                "per_segment": sms.per_segment,
                "unicode_characters": list(sms.unicode_characters),
            },
            "examples": list(preview.examples),
        }
        return Response(PreviewSerializer(answer).data)
