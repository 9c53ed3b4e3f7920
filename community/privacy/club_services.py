"""The club_services part of a member's GDPR export and erasure: the member's requests to club
services and the answers they were given; erasing redacts the texts that name the person in both
(the requests stay, as the staff queue's history)."""

from __future__ import annotations

from core.privacy import Person, text_redact
from loyalty.models import Member

from ..models import ServiceRequest
from ..selectors.club_services import member_requests


def export(member: Member) -> dict:
    return {
        "service_requests": list(
            member_requests(member=member).values(
                "service__name", "text", "state", "answer", "created_at", "answered_at"
            )
        )
    }


def erase(member: Member, person: Person) -> None:
    changed = []
    for request in ServiceRequest.objects.filter(member=member).only("pk", "text", "answer"):
        text = text_redact(request.text, texts=person.texts)
        answer = text_redact(request.answer, texts=person.texts)
        if (text, answer) != (request.text, request.answer):
            request.text, request.answer = text, answer
            changed.append(request)
    ServiceRequest.objects.bulk_update(changed, ["text", "answer"])
