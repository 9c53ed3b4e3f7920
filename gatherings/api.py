"""Reads of events with limited seats for the brand's systems, under `/api/v1/gatherings` (not
`/events`: that is loyalty's activity events). Thin: `gatherings.selectors` reads."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.pagination import PagedApi
from core.api.schema import error_responses
from gatherings.models import Gathering, Rsvp
from gatherings.selectors import gathering_rsvps, gatherings_with_counts

NO_GATHERING = {404: "no event with this id (`error.field`: `gathering_id`)"}
GATHERING_ID = OpenApiParameter("gathering_id", int, OpenApiParameter.PATH, description="the event's id")


class GatheringSerializer(serializers.ModelSerializer):
    confirmed = serializers.IntegerField(source="confirmed_count", help_text="RSVPs holding a seat")
    waitlisted = serializers.IntegerField(source="waitlisted_count", help_text="RSVPs on the waiting list")
    segment = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="the id of the segment that sees it, when `visibility` is segment",
    )
    space = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="the slug of the club space whose members see it, when `visibility` is space",
    )

    class Meta:
        model = Gathering
        fields = [
            "id",
            "title",
            "kind",
            "description",
            "starts_at",
            "ends_at",
            "place",
            "capacity",
            "visibility",
            "segment",
            "space",
            "state",
            "confirmed",
            "waitlisted",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "capacity": {"help_text": "seats; confirmed RSVPs may exceed it only after it was lowered"},
            "state": {"help_text": "draft (not shown to members), published or cancelled"},
        }


class RsvpSerializer(serializers.ModelSerializer):
    member = serializers.CharField(source="member.external_id", help_text="the member's external id")
    position = serializers.IntegerField(
        allow_null=True,
        help_text="the order of arrival in the waiting list (the lowest is promoted first); null when "
        "the member never waited",
    )

    class Meta:
        model = Rsvp
        fields = ["id", "member", "state", "position", "created_at", "confirmed_at", "checked_in_at"]
        read_only_fields = fields
        extra_kwargs = {"state": {"help_text": "confirmed (a seat) or waitlisted"}}


class GatheringFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=Gathering.State.choices, required=False, help_text="only the events in this state"
    )


class GatheringsApi(BrandApi, PagedApi, APIView):
    api_scope = "gatherings"


def _gathering_or_404(gathering_id: int) -> Gathering:
    gathering = gatherings_with_counts().filter(pk=gathering_id).first()
    return found_or_404(gathering, field="gathering_id", message=f"no event with id {gathering_id}")


class GatheringListView(GatheringsApi):
    @extend_schema(
        operation_id="gatherings_list",
        summary="The events with limited seats, soonest first",
        description=(
            "The brand's events (tastings, meetups, workshops), by start, with their seats taken and "
            "waiting list counts, paged with `limit` and `offset`; `state` keeps one state."
        ),
        parameters=[GatheringFilterSerializer],
        responses={
            200: GatheringSerializer(many=True),
            **error_responses(400, why={400: "a filter is invalid: `error.field` names it"}),
        },
    )
    def get(self, request: Request) -> Response:
        filters = GatheringFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        gatherings: QuerySet[Gathering] = gatherings_with_counts().order_by("starts_at", "id")
        if "state" in filters.validated_data:
            gatherings = gatherings.filter(state=filters.validated_data["state"])
        return self.paginated(request, gatherings, GatheringSerializer)


class GatheringDetailView(GatheringsApi):
    @extend_schema(
        operation_id="gatherings_retrieve",
        summary="One event with limited seats",
        description="The event, with its seats taken and waiting list counts.",
        parameters=[GATHERING_ID],
        responses={200: GatheringSerializer, **error_responses(404, why=NO_GATHERING)},
    )
    def get(self, request: Request, gathering_id: int) -> Response:
        return Response(GatheringSerializer(_gathering_or_404(gathering_id)).data)


class GatheringRsvpsView(GatheringsApi):
    @extend_schema(
        operation_id="gatherings_rsvps_list",
        summary="The event's RSVPs: the confirmed, then the waiting list in order",
        description=(
            "The live answers (cancelled ones are left out): the confirmed first, then the waiting "
            "list in the order it is promoted, paged with `limit` and `offset`."
        ),
        parameters=[GATHERING_ID],
        responses={200: RsvpSerializer(many=True), **error_responses(404, why=NO_GATHERING)},
    )
    def get(self, request: Request, gathering_id: int) -> Response:
        gathering = _gathering_or_404(gathering_id)
        return self.paginated(request, gathering_rsvps(gathering_id=gathering.pk), RsvpSerializer)


urlpatterns = [
    path("gatherings", GatheringListView.as_view(), name="api-gatherings"),
    path("gatherings/<int:gathering_id>", GatheringDetailView.as_view(), name="api-gathering"),
    path("gatherings/<int:gathering_id>/rsvps", GatheringRsvpsView.as_view(), name="api-gathering-rsvps"),
]
