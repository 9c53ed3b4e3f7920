"""Segments: saved filters over members, listed, created (the backoffice's validation, the
service's) and previewed (how many members now, and a sample of them)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi
from core.api.errors import ApiError
from core.api.schema import error_responses
from loyalty.api.programme import body_object
from loyalty.models import Segment
from loyalty.selectors.segments import (
    KEYS,
    SegmentFilterError,
    filter_field,
    segment_get,
    segment_preview,
    segments_list,
)
from loyalty.services.segments import segment_save

FILTERS_HELP = (
    "the members the segment holds: every key given must hold (all optional; anonymised members never "
    f"match). Keys: {', '.join(KEYS)}. `tiers`: tier codes, null for no tier; `balance`: "
    '{"min", "max"} points, inclusive; `last_activity`: {"within_days": N} or {"not_within_days": N}; '
    '`tags`: {"any", "all", "none"} lists; `kind`: customer or reseller; `consents`: {channel: true or '
    'false}; `joined`: {"after", "before"} local dates (YYYY-MM-DD); `sales_rep`: a staff user id or '
    "null; `vip`: true or false; `status`: a list of active, blocked. An error names the key at fault "
    "(`filters.balance.min`)"
)


class SegmentSerializer(serializers.ModelSerializer):
    filters = serializers.JSONField(required=False, help_text=FILTERS_HELP)

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "filters", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"name": {"help_text": "unique in the brand"}}


class SampleMemberSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField(
        source="display_name", help_text="as the backoffice shows the member: name, company, or external id"
    )


class SegmentPreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="members in the segment now")
    sample = SampleMemberSerializer(many=True, help_text="the first of them by external id")


class PreviewQuerySerializer(serializers.Serializer):
    sample = serializers.IntegerField(
        min_value=0, max_value=100, default=10, help_text="how many members to show (0 to 100)"
    )


def _segment_body(request: Request) -> dict:
    """The segment in the body, its JSON types checked first: the segments service then validates it
    as it validates the backoffice form."""
    body = body_object(request)
    types = SegmentSerializer(data=body, partial=True)
    if not types.is_valid():
        raise exceptions.ValidationError(types.errors)
    return body


class SegmentListView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        operation_id="segments_list",
        summary="Every segment, by name",
        description="The brand's segments with their filters (their members: `/segments/{id}/preview`).",
        responses={200: SegmentSerializer(many=True)},
    )
    def get(self, request):
        return Response(SegmentSerializer(segments_list(), many=True).data)

    @extend_schema(
        operation_id="segments_create",
        summary="Create a segment",
        description="Creates a segment, validated as the backoffice's segment form is: a unique name, "
        "and filters whose every key and value are known (a tier code of the brand, a staff user id...).",
        request=SegmentSerializer,
        responses={
            201: SegmentSerializer,
            **error_responses(
                400,
                why={
                    400: "invalid segment, nothing written: `error.field` names the field, a filter by "
                    "its path (`filters.balance.min`)"
                },
            ),
        },
    )
    def post(self, request):
        segment = segment_save(data=_segment_body(request))
        return Response(SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentPreviewView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        operation_id="segments_preview",
        summary="How many members a segment holds now, and a sample of them",
        description="The segment's members as of now: their count and the first `sample` of them by "
        "external id, each with their external id and name.",
        parameters=[
            OpenApiParameter("segment_id", int, OpenApiParameter.PATH, description="the segment's id"),
            PreviewQuerySerializer,
        ],
        responses={
            200: SegmentPreviewSerializer,
            **error_responses(
                400,
                404,
                422,
                codes={422: ["segment_filters_invalid"]},
                why={
                    400: "a bad `sample` (`error.field`: `sample`)",
                    404: "no segment with this id (`error.field`: `id`)",
                    422: "the segment's saved filters no longer hold (a tier deleted since): "
                    "`error.field` names the filter",
                },
            ),
        },
    )
    def get(self, request, segment_id: int):
        segment = segment_get(segment_id=segment_id)
        if segment is None:
            raise ApiError(field="id", message=f"no segment with id {segment_id}", status_code=404)
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            preview = segment_preview(segment=segment, sample=query.validated_data["sample"])
        except SegmentFilterError as error:
            key, messages = next(iter(error.errors.items()))
            raise ApiError(
                field=filter_field(key),
                message=f"the saved filters no longer hold: {' '.join(messages)}; change the segment",
                status_code=422,
                code="segment_filters_invalid",
            ) from None
        return Response(SegmentPreviewSerializer(preview).data)
