"""Members: create or update, read with balance/tier/next expiry, ledger, staff-like adjustments."""

from __future__ import annotations

from django.db import IntegrityError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import IDEMPOTENCY_HEADER, BrandApi, idempotency_key_get, replayable_response
from core.api.errors import ApiError
from core.api.schema import error_responses
from loyalty.api.base import member_or_404
from loyalty.api.serializers import (
    AdjustmentInputSerializer,
    LedgerEntrySerializer,
    MemberInputSerializer,
    MemberSerializer,
)
from loyalty.models import LedgerEntry, Member
from loyalty.selectors.members import member_get, member_ledger, member_points_summary
from loyalty.services.ledger import points_adjust_replayable
from loyalty.services.members import member_put

NO_MEMBER = {404: "no member with this external id"}


def _member_response(member: Member, *, status_code: int = status.HTTP_200_OK) -> Response:
    summary = member_points_summary(member=member)
    return Response(MemberSerializer(member, context={"points": summary}).data, status=status_code)


class MemberView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        summary="A member, with balance, tier and the points expiring next",
        description=(
            "The member with this external id (the id the brand's systems know them by): their "
            "details, status, consents, tier, and `points`: balance, what can be spent now, what is "
            "still pending, what is owed, and the points that expire next."
        ),
        responses={200: MemberSerializer, **error_responses(404, why=NO_MEMBER)},
    )
    def get(self, request, external_id: str):
        return _member_response(member_or_404(external_id))

    @extend_schema(
        summary="Create the member with this external id, or update the fields given",
        description=(
            "Creates the member (201) or updates them (200); the fields left out keep their value, "
            "an unknown field is a 400. Consents are set per channel with `true` or `false`. "
            "`sales_rep` names a staff user of the brand by e-mail or username (`GET /sales-reps` "
            "lists them), null for none; the change is kept in the member's audit, with the key."
        ),
        request=MemberInputSerializer,
        responses={
            200: MemberSerializer,
            201: MemberSerializer,
            **error_responses(409, why={409: "the member is anonymised: nothing of theirs changes"}),
        },
    )
    def put(self, request, external_id: str):
        serializer = MemberInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member, created = member_put(
            external_id=external_id,
            data=dict(serializer.validated_data),
            reason=f"set with the API key {request.auth}",
        )
        return _member_response(
            member_get(external_id=member.external_id),
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema(
    summary="The member's ledger, newest first, with the cause of every entry",
    description=(
        "Every change of the member's balance, newest first, paged with `limit` (up to 500) and "
        "`offset`: its kind (earn, redeem, expire, adjust, reverse, transfer), points, the balance "
        "after it, and its cause (the event and rule, the staff user and reason, the order, the "
        "entry it reverses) with the engine's explanation."
    ),
    responses={200: LedgerEntrySerializer(many=True), **error_responses(404, why=NO_MEMBER)},
)
class MemberLedgerView(BrandApi, generics.ListAPIView):
    api_scope = "members"
    serializer_class = LedgerEntrySerializer
    page_max_limit = 500  # pages of the API's paginator (core.api.pagination), up to 500 entries

    def get_queryset(self):
        return member_ledger(member=member_or_404(self.kwargs["external_id"]))


def _adjust(*, member: Member, points: int, reason: str, key: str | None) -> tuple[LedgerEntry, bool]:
    """`points_adjust`, with the API's key namespace, and whether the entry was there before this
    request (a replay); a key reused for another request is a 409."""
    ledger_key = f"api-adjust:{key}" if key else None
    try:
        entry, replayed = points_adjust_replayable(
            member_id=member.pk, points=points, reason=reason, staff_user_id=None, idempotency_key=ledger_key
        )
    except IntegrityError:
        # The same key sent concurrently for *another* member (same-member retries wait on its
        # lock in points_adjust): answer with the entry the other request wrote.
        entry = LedgerEntry.objects.filter(idempotency_key=ledger_key).first() if ledger_key else None
        if entry is None:
            raise
        replayed = True
    if ledger_key and (entry.member_id != member.pk or entry.points != points or entry.reason != reason):
        raise ApiError(
            field=IDEMPOTENCY_HEADER,
            message="this key was already used for a different adjustment",
            status_code=status.HTTP_409_CONFLICT,
            code="idempotency_key_reused",
        )
    return entry, replayed


class MemberAdjustmentView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        summary="Add or take points, with a reason (as staff do in the backoffice)",
        description=(
            "A positive `points` credits the member, a negative one debits them (down to their "
            "overdraft limit at most). With an `Idempotency-Key`, sending the same request again "
            "answers the original 201 and entry with `Idempotent-Replayed: true` and writes nothing; "
            "the same key for a different adjustment is a 409."
        ),
        request=AdjustmentInputSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="a key unique to this adjustment: sent again, the same entry is answered and "
                "nothing is written",
            )
        ],
        responses={
            201: LedgerEntrySerializer,
            **error_responses(
                404,
                409,
                why={
                    **NO_MEMBER,
                    409: "not enough points, the member is not active, or the key was used for "
                    "another adjustment",
                },
                codes={409: ["insufficient_points", "member_not_active", "idempotency_key_reused"]},
            ),
        },
    )
    def post(self, request, external_id: str):
        member = member_or_404(external_id)
        key = idempotency_key_get(request, required=False)
        serializer = AdjustmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        points, reason = serializer.validated_data["points"], serializer.validated_data["reason"]
        # The ledger's errors are domain errors (409 for too few points or an inactive member).
        entry, replayed = _adjust(member=member, points=points, reason=reason, key=key)
        return replayable_response(
            LedgerEntrySerializer(entry).data, status_code=status.HTTP_201_CREATED, replayed=replayed
        )
