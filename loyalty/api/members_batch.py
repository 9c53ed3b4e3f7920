"""`POST /members/batch`: up to 1,000 members created or updated by external id, one answer each."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi
from core.api.errors import domain_error_body, domain_error_status, error_body
from core.api.schema import error_responses
from core.errors import DomainError
from loyalty.api.serializers import ItemErrorSerializer, MemberInputSerializer, StrictSerializer
from loyalty.services.members import member_put

MEMBERS_BATCH_MAX = 1000


class MemberBatchItemSerializer(MemberInputSerializer):
    """A member of the batch: `external_id` and the fields of `PUT /members/{external_id}`."""

    external_id = serializers.CharField(max_length=64, help_text="the brand's own id of the member")


class MemberBatchInputSerializer(StrictSerializer):
    members = MemberBatchItemSerializer(many=True, allow_empty=False, max_length=MEMBERS_BATCH_MAX)


class MemberBatchDoneSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    status = serializers.ChoiceField(choices=[200, 201], help_text="201: created, 200: updated")
    created = serializers.BooleanField()


class MemberBatchErrorSerializer(serializers.Serializer):
    """A member of the batch that was not written (nothing of it): its external id and why."""

    external_id = serializers.CharField(allow_null=True, help_text="null when it is not a string")
    error = ItemErrorSerializer()


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="MemberBatchItemResult",
        serializers=[MemberBatchDoneSerializer, MemberBatchErrorSerializer],
        resource_type_field_name=None,
    )
)
class MemberBatchItemResultField(serializers.DictField):
    """A member's answer: written, or its `error`."""


class MemberBatchResultSerializer(serializers.Serializer):
    results = serializers.ListField(
        child=MemberBatchItemResultField(), help_text="one per member of the batch, in the same order"
    )


def _items(data: Any) -> list:
    """The batch's items, or a 400 naming the field when the body is not `{"members": [...]}` of
    1 to MEMBERS_BATCH_MAX items: nothing is written then."""
    if not isinstance(data, dict):
        raise ValidationError({"body": ['must be an object: {"members": [...]}']})
    unknown = {field: ["is not a known field"] for field in data if field != "members"}
    items = data.get("members")
    if items is None:
        raise ValidationError({"members": ["is required"], **unknown})
    if not isinstance(items, list):
        raise ValidationError({"members": ["must be a list of members"], **unknown})
    if not items:
        raise ValidationError({"members": ["must hold at least one member"], **unknown})
    if len(items) > MEMBERS_BATCH_MAX:
        raise ValidationError(
            {"members": [f"at most {MEMBERS_BATCH_MAX} members per batch, got {len(items)}"]}
        )
    if unknown:
        raise ValidationError(unknown)
    return items


def _error(external_id: Any, body: dict, status_code: int) -> dict:
    return {
        "external_id": external_id if isinstance(external_id, str) else None,
        "error": {**body["error"], "status": status_code},
    }


def _invalid(item: Any, errors: dict) -> dict:
    """An item that does not read, in the one error shape, naming its first bad field."""
    details = {
        field: [str(message) for message in (messages if isinstance(messages, list) else [messages])]
        for field, messages in errors.items()
    }
    field, texts = next(iter(details.items()))
    body = error_body(
        field=None if field == "non_field_errors" else field,
        message=" ".join(texts),
        code="invalid",
        details=details,
    )
    return _error(item.get("external_id") if isinstance(item, dict) else None, body, 400)


class MemberBatchView(BrandApi, APIView):
    api_scope = "members"

    api_scope = "members"

    @extend_schema(
        summary=f"Create or update up to {MEMBERS_BATCH_MAX:,} members by external id, one answer each",
        description=(
            "Each member of `members` holds its `external_id` and the fields of "
            "`PUT /members/{external_id}` (the fields left out keep their value; `consents`; "
            "`sales_rep` by a staff user's e-mail or username). A body that is not an object with a "
            f"list of 1 to {MEMBERS_BATCH_MAX:,} `members`, or that holds another field, is refused "
            "whole with a 400 naming the field, and nothing is written. Otherwise each member is "
            "answered on its own, in the same order: `status` 201 (created) or 200 (updated), or its "
            "`error` in the one error shape with the `status` it would get alone (400 naming its "
            "field: an unknown field, a bad e-mail, phone, SIRET, country or sales rep...; 409 "
            "`member_anonymised`). A member is written whole or not at all; the others are written. "
            "An external id twice in one batch is an error on both. Sending a batch again changes "
            "nothing more."
        ),
        request=MemberBatchInputSerializer,
        responses={200: MemberBatchResultSerializer, **error_responses(400)},
    )
    def post(self, request):
        items = _items(request.data)
        positions: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("external_id"), str):
                positions.setdefault(item["external_id"].strip(), []).append(index)
        results = []
        for item in items:
            serializer = MemberBatchItemSerializer(data=item)
            if not serializer.is_valid():
                results.append(_invalid(item, serializer.errors))
                continue
            data = dict(serializer.validated_data)
            external_id = data.pop("external_id").strip()
            repeated = positions.get(external_id, [])
            if len(repeated) > 1:
                message = f"appears at members {', '.join(map(str, repeated))} of the batch"
                results.append(_invalid(item, {"external_id": [message]}))
                continue
            try:
                with transaction.atomic():
                    _, created = member_put(
                        external_id=external_id, data=data, reason=f"set with the API key {request.auth}"
                    )
            except DomainError as error:
                results.append(_error(external_id, domain_error_body(error), domain_error_status(error)))
                continue
            results.append(
                {"external_id": external_id, "status": 201 if created else 200, "created": created}
            )
        return Response({"results": results})
