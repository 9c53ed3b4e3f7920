"""Sales reps: the brand's staff users who can look after members, with their number of members."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi
from loyalty.selectors.sales_reps import sales_reps


class SalesRepSerializer(serializers.Serializer):
    username = serializers.CharField(source="get_username")
    email = serializers.CharField(help_text="what `sales_rep` of a member names (or the username)")
    name = serializers.CharField(source="get_full_name")
    members = serializers.IntegerField(help_text="how many members have this sales rep")


class SalesRepListView(BrandApi, APIView):
    api_scope = "members"

    @extend_schema(
        summary="The staff users who can be sales reps, with their number of members",
        description=(
            "Every active staff user of the brand, by e-mail: each can be a member's sales rep "
            "(`sales_rep` in `PUT /members/{external_id}`, by e-mail or username), and rules whose "
            "beneficiary is the sales rep credit the rep's own member account `staff:<username>`."
        ),
        responses={200: SalesRepSerializer(many=True)},
    )
    def get(self, request):
        return Response(SalesRepSerializer(sales_reps(), many=True).data)
