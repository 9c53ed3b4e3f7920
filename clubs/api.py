"""The club spaces in the API (reads): the brand's spaces with their entry condition, and which of
them a member may enter now (`clubs.selectors.space_may_enter`, as the site decides it). Spaces
are written in the backoffice."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from clubs.models import Space
from clubs.selectors import space_get, spaces_for
from core.api.base import BrandApi
from core.api.errors import ApiError
from core.api.schema import error_responses
from loyalty.models import Member

SLUG = OpenApiParameter(
    "slug", str, OpenApiParameter.PATH, description="the space's slug, as in /club/<slug>/"
)


class SpaceSerializer(serializers.ModelSerializer):
    tier = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="`entry` tier: this tier's code or a higher tier's"
    )
    segment = serializers.PrimaryKeyRelatedField(read_only=True, help_text="`entry` segment: its id")

    class Meta:
        model = Space
        fields = [
            "slug", "name", "teaser", "how_to_enter", "entry", "tier", "segment", "attribute_event_type",
            "attribute_name", "attribute_operator", "attribute_value", "position",
        ]  # fmt: skip
        read_only_fields = fields


class MemberSpaceSerializer(serializers.Serializer):
    slug = serializers.CharField(source="space.slug")
    name = serializers.CharField(source="space.name")
    may_enter = serializers.BooleanField(help_text="the member meets the space's condition now")


class SpaceListView(BrandApi, APIView):
    api_scope = "clubs"

    @extend_schema(
        operation_id="club_spaces_list",
        summary="The brand's active club spaces",
        description="Each active space with its entry condition (`entry`: vip, tier, segment, "
        "attribute of the member's latest event of a type, or code). Pages and offers are the "
        "members' only: the site shows them.",
        responses={200: SpaceSerializer(many=True)},
    )
    def get(self, request):
        return Response(SpaceSerializer([view.space for view in spaces_for(member=None)], many=True).data)


class SpaceDetailView(BrandApi, APIView):
    api_scope = "clubs"

    @extend_schema(
        operation_id="club_spaces_read",
        summary="One club space",
        description="An active space and its entry condition.",
        parameters=[SLUG],
        responses={200: SpaceSerializer, **error_responses(404, why={404: "no active space with this slug"})},
    )
    def get(self, request, slug: str):
        space = space_get(slug=slug)
        if space is None:
            raise ApiError(field="slug", message=f"no active space '{slug}'", status_code=404)
        return Response(SpaceSerializer(space).data)


class MemberSpacesView(BrandApi, APIView):
    api_scope = "clubs"

    @extend_schema(
        operation_id="members_club_spaces",
        summary="The club spaces a member may enter",
        description="Every active space, and whether the member meets its condition now (as the "
        "member site decides who sees a space's content and its gifts).",
        parameters=[OpenApiParameter("external_id", str, OpenApiParameter.PATH, description="the member")],
        responses={
            200: MemberSpaceSerializer(many=True),
            **error_responses(404, why={404: "no member with this external id"}),
        },
    )
    def get(self, request, external_id: str):
        member = Member.objects.select_related("tier").filter(external_id=external_id).first()
        if member is None:
            raise ApiError(field="external_id", message=f"no member '{external_id}'", status_code=404)
        return Response(MemberSpaceSerializer(spaces_for(member=member), many=True).data)
