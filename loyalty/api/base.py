"""What the loyalty and catalogue APIs share about members (the API base is `core.api.base`)."""

from __future__ import annotations

from core.api.errors import ApiError
from loyalty.models import Member
from loyalty.selectors.members import member_get


def member_or_404(external_id: str) -> Member:
    member = member_get(external_id=external_id)
    if member is None:
        raise ApiError(
            field="external_id", message=f"no member with external id '{external_id}'", status_code=404
        )
    return member
