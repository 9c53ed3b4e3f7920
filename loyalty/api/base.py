"""What the loyalty and catalogue APIs share about members (the API base is `core.api.base`)."""

from __future__ import annotations

from core.api.base import found_or_404
from loyalty.models import Member
from loyalty.selectors.members import member_get


def member_or_404(external_id: str) -> Member:
    message = f"no member with external id '{external_id}'"
    return found_or_404(member_get(external_id=external_id), field="external_id", message=message)
