"""Personalised offers (list, create, read, change, delete): shown once per member on the member
site's dashboard to the members of a segment, between their dates. Validated by
`loyalty.services.offers`, as the backoffice's form is."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.errors import ApiError
from core.api.schema import error_responses
from loyalty.api.programme import body_object
from loyalty.models import Offer, Segment
from loyalty.selectors.offers import offer_get, offers_list
from loyalty.services.offers import offer_delete, offer_save

INVALID = {
    400: "invalid offer, nothing written: `error.field` names the field (`ends_at` before `starts_at`, "
    "a `link` that is not http(s), an unknown `segment`...)"
}
NO_OFFER = {404: "no offer with this id (`error.field`: `offer_id`)"}
OFFER_ID = OpenApiParameter("offer_id", int, OpenApiParameter.PATH, description="the offer's id")


class OfferSerializer(serializers.ModelSerializer):
    segment = serializers.PrimaryKeyRelatedField(
        queryset=Segment.objects.all(),
        allow_null=True,
        required=False,
        help_text="the id of the segment whose members see the offer; null: every member",
    )
    image_url = serializers.SerializerMethodField(
        help_text="the offer's image (uploaded in the backoffice), or null"
    )

    class Meta:
        model = Offer
        fields = ["id", "segment", "title", "text", "link", "starts_at", "ends_at", "image_url", "created_at"]
        read_only_fields = ["id", "image_url", "created_at"]
        extra_kwargs = {
            "title": {"help_text": "the offer's heading, at most 120 characters"},
            "text": {"help_text": "its text (plain text, shown escaped), at most 2000 characters"},
            "link": {"help_text": "where its button leads: an http:// or https:// address, or empty"},
            "starts_at": {"help_text": "when members start seeing it"},
            "ends_at": {"help_text": "when it stops being shown (after `starts_at`)"},
        }

    def get_image_url(self, offer: Offer) -> str | None:
        return offer.image.url if offer.image else None


def _offer_data(request: Request, offer: Offer | None = None) -> dict:
    """The body's fields, their JSON types checked by the serializer: the service validates them."""
    body = body_object(request)
    unknown = sorted(set(body) - set(OfferSerializer().fields))
    if unknown:
        raise ApiError(field=unknown[0], message="is not an offer field")
    types = OfferSerializer(offer, data=body, partial=offer is not None)
    if not types.is_valid():
        raise exceptions.ValidationError(types.errors)
    return dict(types.validated_data)


def _offer_or_404(offer_id: int) -> Offer:
    offer = offer_get(offer_id=offer_id)
    return found_or_404(offer, field="offer_id", message=f"no offer with id {offer_id}")


class OfferListView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        operation_id="offers_list",
        summary="Every personalised offer, latest first",
        description="The brand's offers, the latest to start first. Each is shown once per member, on "
        "their dashboard, to the members of its segment (every member without one) between its dates.",
        responses={200: OfferSerializer(many=True)},
    )
    def get(self, request):
        return Response(OfferSerializer(offers_list(), many=True).data)

    @extend_schema(
        operation_id="offers_create",
        summary="Create a personalised offer",
        description="Creates an offer (`title`, `starts_at` and `ends_at` required), validated as the "
        "backoffice's form is. Its image is uploaded in the backoffice.",
        request=OfferSerializer,
        responses={201: OfferSerializer, **error_responses(400, why=INVALID)},
    )
    def post(self, request):
        offer = offer_save(data=_offer_data(request))
        return Response(OfferSerializer(offer).data, status=status.HTTP_201_CREATED)


class OfferDetailView(BrandApi, APIView):
    api_scope = "programme"

    @extend_schema(
        operation_id="offers_read",
        summary="One personalised offer",
        description="The offer with this id.",
        parameters=[OFFER_ID],
        responses={200: OfferSerializer, **error_responses(404, why=NO_OFFER)},
    )
    def get(self, request, offer_id: int):
        return Response(OfferSerializer(_offer_or_404(offer_id)).data)

    @extend_schema(
        operation_id="offers_update",
        summary="Change a personalised offer (the fields given)",
        description="Sets the fields given; the others keep their value. Members who saw the offer "
        "do not see it again.",
        parameters=[OFFER_ID],
        request=OfferSerializer,
        responses={200: OfferSerializer, **error_responses(400, 404, why={**INVALID, **NO_OFFER})},
    )
    def put(self, request, offer_id: int):
        offer = _offer_or_404(offer_id)
        offer = offer_save(data=_offer_data(request, offer), offer=offer)
        return Response(OfferSerializer(offer).data)

    @extend_schema(
        operation_id="offers_delete",
        summary="Delete a personalised offer",
        description="Deletes the offer and the record of who saw it.",
        parameters=[OFFER_ID],
        responses={204: OpenApiResponse(description="deleted"), **error_responses(404, why=NO_OFFER)},
    )
    def delete(self, request, offer_id: int):
        offer_delete(offer=_offer_or_404(offer_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
