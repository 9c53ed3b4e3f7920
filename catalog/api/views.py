"""Catalogue endpoints for the brand's systems and fulfilment partners (thin: selectors and services
do the work). Authentication, permission and rate limit are the API's defaults (API keys)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Order
from catalog.selectors import (
    gift_search,
    gifts_visible,
    member_spendable_points,
    orders_with_details,
)
from catalog.services import RedeemItem, ShippingAddress, order_place, order_status_set
from core.api.base import BrandApi, idempotency_key_get
from loyalty.api.base import member_or_404

from .serializers import (
    GiftFilterSerializer,
    GiftSerializer,
    MemberGiftSerializer,
    OrderSerializer,
    OrderStatusRequestSerializer,
    RedemptionRequestSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=True, description="same key, same order"
)


class CatalogPagination(LimitOffsetPagination):
    """At most 200 a page; an offset beyond any real list is an empty page, not a database error."""

    max_limit = 200

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), 2**31 - 1)


class CatalogApiView(BrandApi, APIView):
    def paginated(self, request: Request, queryset, serializer_class, **context) -> Response:
        paginator = CatalogPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = serializer_class(page, many=True, context={"request": request, **context}).data
        return paginator.get_paginated_response(data)


class GiftListView(CatalogApiView):
    @extend_schema(parameters=[GiftFilterSerializer], responses=MemberGiftSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = GiftFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        external_id, affordable = data.pop("member", None), data.pop("affordable")
        if external_id is None:
            return self.paginated(request, gift_search(**data), GiftSerializer)
        member = member_or_404(external_id)
        gifts = gift_search(
            spendable=member_spendable_points(member_id=member.pk), affordable_only=affordable, **data
        )
        return self.paginated(request, gifts, MemberGiftSerializer, member=member)


class GiftDetailView(CatalogApiView):
    @extend_schema(responses=GiftSerializer)
    def get(self, request: Request, gift_id: int) -> Response:
        gift = get_object_or_404(gifts_visible(), pk=gift_id)
        return Response(GiftSerializer(gift, context={"request": request}).data)


class MemberRedemptionsView(CatalogApiView):
    @extend_schema(responses=OrderSerializer(many=True))
    def get(self, request: Request, external_id: str) -> Response:
        member = member_or_404(external_id)
        return self.paginated(request, orders_with_details().filter(member=member), OrderSerializer)

    @extend_schema(
        request=RedemptionRequestSerializer, responses={201: OrderSerializer}, parameters=[IDEMPOTENCY_HEADER]
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
        return Response(
            OrderSerializer(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class OrderDetailView(CatalogApiView):
    @extend_schema(responses=OrderSerializer)
    def get(self, request: Request, order_id: int) -> Response:
        return Response(OrderSerializer(get_object_or_404(orders_with_details(), pk=order_id)).data)


class OrderStatusView(CatalogApiView):
    """Fulfilment partners move orders along: confirmed, shipped (tracking_ref), delivered, cancelled."""

    @extend_schema(request=OrderStatusRequestSerializer, responses=OrderSerializer)
    def post(self, request: Request, order_id: int) -> Response:
        body = OrderStatusRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        get_object_or_404(Order, pk=order_id)
        order_status_set(order_id=order_id, actor=f"api:{request.auth.prefix}", **body.validated_data)
        return Response(OrderSerializer(orders_with_details().get(pk=order_id)).data)
