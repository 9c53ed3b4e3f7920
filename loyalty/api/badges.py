"""Badges as code (list, create, read, change, delete: the backoffice's validation, the services'),
the badges a member holds, and the leaderboard."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.schema import error_responses
from loyalty.api.base import member_or_404
from loyalty.api.programme import body_object
from loyalty.api.serializers import MemberBadgeSerializer
from loyalty.models import Badge
from loyalty.selectors.badges import badge_get, badges_list, member_badges
from loyalty.selectors.leaderboard import PERIODS, leaderboard, leaderboard_name, leaderboard_period_start
from loyalty.services.badges import badge_delete, badge_save

INVALID = {
    400: "invalid badge, nothing written: `error.field` names the field (`conditions` with the "
    "condition at fault, such as `[0].op`)"
}
NO_BADGE = {404: "no badge with this code (`error.field`: `code`)"}
HELD = {409: "members hold this badge, so it cannot be deleted (`error.field`: `badge`)"}
CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="the badge's code")


class BadgeSerializer(serializers.ModelSerializer):
    conditions = serializers.JSONField(
        required=False,
        help_text="conditions an event must meet to count, all of them, in the earning rules' language: "
        '`[{"field": "attributes.<key>", "op": "equals", "value": "approved"}]` (only `attributes.*` '
        'fields; the rules\' operators; 5, 5.0 and "5" compare equal)',
    )

    class Meta:
        model = Badge
        fields = ["id", "code", "name", "description", "event_type", "conditions", "count_required"]
        read_only_fields = ["id"]
        extra_kwargs = {
            "code": {"help_text": "the badge's stable identifier (letters, digits, - and _)"},
            "event_type": {"help_text": "the event type counted (trip, review, damage_report...)"},
            "count_required": {"help_text": "how many such events earn the badge (1 or more), once"},
        }


def _badge_body(request: Request, badge: Badge | None = None) -> dict:
    """The badge in the body, its JSON types checked first: the badges service then validates it as
    it validates the backoffice form."""
    body = body_object(request)
    types = BadgeSerializer(badge, data=body, partial=True)
    if not types.is_valid():
        raise exceptions.ValidationError(types.errors)
    return body


def _badge_or_404(code: str) -> Badge:
    return found_or_404(badge_get(code=code), field="code", message=f"no badge with code '{code}'")


class BadgeListView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        operation_id="badges_list",
        summary="Every badge, by code",
        description="The brand's badges: each is earned once by a member who reaches `count_required` "
        "events of `event_type` meeting its `conditions` (over their whole history).",
        responses={200: BadgeSerializer(many=True)},
    )
    def get(self, request):
        return Response(BadgeSerializer(badges_list(), many=True).data)

    @extend_schema(
        operation_id="badges_create",
        summary="Create a badge",
        description="Creates a badge, validated as the backoffice's badge form is. Members already past "
        "the count get it with their next event of its type.",
        request=BadgeSerializer,
        responses={201: BadgeSerializer, **error_responses(400, why=INVALID)},
    )
    def post(self, request):
        badge = badge_save(data=_badge_body(request))
        return Response(BadgeSerializer(badge).data, status=status.HTTP_201_CREATED)


class BadgeDetailView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        operation_id="badges_read",
        summary="One badge",
        description="The badge with this code.",
        parameters=[CODE],
        responses={200: BadgeSerializer, **error_responses(404, why=NO_BADGE)},
    )
    def get(self, request, code: str):
        return Response(BadgeSerializer(_badge_or_404(code)).data)

    @extend_schema(
        operation_id="badges_update",
        summary="Change a badge (the fields given)",
        description="Sets the fields given; the others keep their value. Validated as the backoffice's "
        "badge form is. Badges already earned stay earned.",
        parameters=[CODE],
        request=BadgeSerializer,
        responses={200: BadgeSerializer, **error_responses(400, 404, why={**INVALID, **NO_BADGE})},
    )
    def put(self, request, code: str):
        badge = _badge_or_404(code)
        badge = badge_save(data=_badge_body(request, badge), badge=badge)
        return Response(BadgeSerializer(badge).data)

    @extend_schema(
        operation_id="badges_delete",
        summary="Delete a badge nobody holds",
        description="Deletes the badge. A badge members have earned is part of their history: it "
        "cannot be deleted (409).",
        parameters=[CODE],
        responses={
            204: OpenApiResponse(description="deleted"),
            **error_responses(404, 409, codes={409: ["conflict"]}, why={**NO_BADGE, **HELD}),
        },
    )
    def delete(self, request, code: str):
        badge_delete(badge=_badge_or_404(code))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberBadgesView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        operation_id="members_badges",
        summary="The badges a member holds, with when each was earned",
        description="The member's badges in the order they earned them (the member resource carries "
        "the same list as `badges`).",
        responses={
            200: MemberBadgeSerializer(many=True),
            **error_responses(
                404, why={404: "no member with this external id (`error.field`: `external_id`)"}
            ),
        },
    )
    def get(self, request, external_id: str):
        member = member_or_404(external_id)
        return Response(MemberBadgeSerializer(member_badges(member=member), many=True).data)


# --- the leaderboard -------------------------------------------------------------------------------
class LeaderboardQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=PERIODS,
        default="all",
        help_text="the badges counted: all of them, or those earned since the current year, month or "
        "week (from Monday) began, in the brand's timezone",
    )
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20, help_text="members ranked")


class LeaderRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(
        help_text="1 for the first; a tie goes to who earned their last badge first"
    )
    external_id = serializers.CharField(help_text="the member's external id (the brand's own customer id)")
    name = serializers.CharField(
        allow_null=True,
        help_text='as a public ranking shows a member: first name and last-name initial ("Ana M."), a '
        "reseller's company name; null when the member gave no name",
    )
    badge_count = serializers.IntegerField(help_text="badges earned in the period")
    last_badge_at = serializers.DateTimeField(help_text="when the last of them was earned")


class LeaderboardSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS)
    since = serializers.DateTimeField(allow_null=True, help_text="when the period began (null: `all`)")
    results = LeaderRowSerializer(many=True)


class LeaderboardView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        operation_id="leaderboard",
        summary="The members holding the most badges",
        description="Members ranked by the badges they earned in the period, the first to reach their "
        "count ranking first on a tie; anonymised members are never ranked. Each member is shown by "
        "external id and the short name a public ranking shows, nothing more.",
        parameters=[LeaderboardQuerySerializer],
        responses={
            200: LeaderboardSerializer,
            **error_responses(400, why={400: "a bad `period` or `limit`: `error.field` names it"}),
        },
    )
    def get(self, request):
        query = LeaderboardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period, limit = query.validated_data["period"], query.validated_data["limit"]
        since = leaderboard_period_start(period=period)
        rows = [
            {
                "rank": rank,
                "external_id": member.external_id,
                "name": leaderboard_name(member=member),
                "badge_count": member.badge_count,
                "last_badge_at": member.last_badge_at,
            }
            for rank, member in enumerate(leaderboard(limit=limit, since=since), start=1)
        ]
        return Response(LeaderboardSerializer({"period": period, "since": since, "results": rows}).data)
