"""Catalogue endpoints for the brand's systems and fulfilment partners (thin: selectors and services
do the work). Authentication, permission and rate limit are the API's defaults (API keys)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Order
from catalog.selectors import (
    gift_search,
    member_spendable_points,
    orders_with_details,
)
from catalog.services import RedeemItem, ShippingAddress, order_place, order_status_set
from core.api.base import BrandApi, idempotency_key_get, replayable_response
from core.api.pagination import PagedApi
from core.api.schema import error_responses
from loyalty.api.base import member_or_404

from .serializers import (
    GiftFilterSerializer,
    MemberGiftSerializer,
    OrderSerializer,
    OrderStatusRequestSerializer,
    RedemptionRequestSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="a key unique to this redemption: sent again, the same order is answered",
)
NO_MEMBER = {404: "no member with this external id"}
# Why a well-formed redemption is refused (catalog.services.RedemptionRefused, catalog.selectors.Refusal).
REDEMPTION_REFUSALS = [
    "insufficient_points",
    "out_of_stock",
    "limit_reached",
    "not_your_tier",
    "not_your_space",
    "unavailable",
    "member_not_active",
]


class CatalogApiView(BrandApi, PagedApi, APIView):
    api_scope = "catalog"
    page_max_limit = 200  # the catalogue's lists (`self.paginated`): at most 200 a page


class GiftListView(CatalogApiView):
    @extend_schema(
        summary="The gifts of the catalogue, filtered; as one member sees them with `member`",
        description=(
            "The gifts available now, paged with `limit` (up to 200) and `offset`, filtered by "
            "category, kind, points price, search text, featured or printed. With `member`, each "
            "gift also says how many points that member is missing and why they cannot redeem it, "
            "if so (`refusal.code`); `affordable=true` keeps only the gifts they can redeem now."
        ),
        parameters=[GiftFilterSerializer],
        responses={
            200: MemberGiftSerializer(many=True),
            **error_responses(
                400, 404, why={**NO_MEMBER, 400: "a filter is invalid: `error.field` names it"}
            ),
        },
    )
    def get(self, request: Request) -> Response:
        filters = GiftFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        external_id, affordable = data.pop("member", None), data.pop("affordable")
        if external_id is None:
            return self.paginated(request, gift_search(**data), MemberGiftSerializer, member=None)
        member = member_or_404(external_id)
        gifts = gift_search(
            spendable=member_spendable_points(member_id=member.pk), affordable_only=affordable, **data
        )
        return self.paginated(request, gifts, MemberGiftSerializer, member=member)


class MemberRedemptionsView(CatalogApiView):
    api_scope = "orders"

    @extend_schema(
        summary="The member's redemptions (orders), newest first",
        description="The member's orders with their lines, voucher codes and status history, paged "
        "with `limit` (up to 200) and `offset`.",
        responses={200: OrderSerializer(many=True), **error_responses(404, why=NO_MEMBER)},
    )
    def get(self, request: Request, external_id: str) -> Response:
        member = member_or_404(external_id)
        return self.paginated(request, orders_with_details().filter(member=member), OrderSerializer)

    @extend_schema(
        summary="Redeem gifts for the member's points",
        description=(
            "Places an order for the gifts and takes their points from the member's spendable points "
            "(never an overdraft), all or nothing: a gift out of stock, over its limit per member, "
            "reserved to other tiers, or not enough points refuses the whole order (422, `error.code` "
            "says why). Gifts shipped need a `shipping_address`. Sending the same `Idempotency-Key` "
            "again answers the original 201 and order with `Idempotent-Replayed: true`; the same key "
            "with other items is a 409."
        ),
        request=RedemptionRequestSerializer,
        responses={
            201: OrderSerializer,
            **error_responses(
                400,
                404,
                409,
                422,
                why={
                    **NO_MEMBER,
                    409: "this `Idempotency-Key` was already used for a different redemption",
                },
                codes={
                    400: ["invalid", "required", "duplicate", "not_found", "too_long"],
                    409: ["idempotency_conflict"],
                    422: REDEMPTION_REFUSALS,
                },
            ),
        },
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request: Request, external_id: str) -> Response:
        key = idempotency_key_get(request, required=True)
        member = member_or_404(external_id)
        body = RedemptionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        address = body.validated_data["shipping_address"]
        order, created = order_place(
            member_id=member.pk,
            items=[RedeemItem(**item) for item in body.validated_data["items"]],
            shipping=ShippingAddress(**address) if address else None,
            idempotency_key=key,
            actor=f"api:{request.auth.prefix}",
        )
        order = orders_with_details().get(pk=order.pk)
        return replayable_response(
            OrderSerializer(order).data, status_code=status.HTTP_201_CREATED, replayed=not created
        )


class OrderDetailView(CatalogApiView):
    api_scope = "orders"

    @extend_schema(
        summary="One order",
        description="An order with its member, lines, voucher codes, shipping address and status history.",
        responses={200: OrderSerializer, **error_responses(404, why={404: "no order with this id"})},
    )
    def get(self, request: Request, order_id: int) -> Response:
        return Response(OrderSerializer(get_object_or_404(orders_with_details(), pk=order_id)).data)


class OrderStatusView(CatalogApiView):
    """Fulfilment partners move orders along: confirmed, shipped (tracking_ref), delivered, cancelled."""

    api_scope = "orders"

    @extend_schema(
        summary="Move an order along: confirmed, shipped, delivered, cancelled",
        description=(
            "For fulfilment partners. Shipping needs a `tracking_ref`; cancelling gives the points "
            "back. A move the order's status does not allow (a delivered order shipped again) is a 409."
        ),
        request=OrderStatusRequestSerializer,
        responses={
            200: OrderSerializer,
            **error_responses(
                404, 409, why={404: "no order with this id"}, codes={409: ["invalid_transition"]}
            ),
        },
    )
    def post(self, request: Request, order_id: int) -> Response:
        body = OrderStatusRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        get_object_or_404(Order, pk=order_id)
        order_status_set(order_id=order_id, actor=f"api:{request.auth.prefix}", **body.validated_data)
        return Response(OrderSerializer(orders_with_details().get(pk=order_id)).data)
