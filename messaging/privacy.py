"""Messaging's part of GDPR exports and erasures (`core.privacy`): the member's messages and
letters. Erasing clears every message's recipient and texts (`member_messages_erase`, as an
anonymisation does) and cancels those still waiting; the rows stay (channel, state, times)."""

from __future__ import annotations

from core.privacy import Person, privacy_register
from loyalty.models import Member

from .models import Letter, Message
from .services.privacy import member_messages_erase


def _export(member: Member) -> dict:
    return {
        "messages": list(
            Message.objects.filter(member=member)
            .order_by("created_at", "pk")
            .values(
                "channel",
                "purpose",
                "template_code",
                "language",
                "recipient",
                "subject",
                "body",
                "state",
                "skip_reason",
                "created_at",
                "sent_at",
                "delivered_at",
                "failed_at",
            )
        ),
        "letters": list(
            Letter.objects.filter(member=member).order_by("pk").values("batch__name", "skip_reason", "pages")
        ),
    }


def _erase(member: Member, person: Person) -> None:
    member_messages_erase(member_id=member.pk)


privacy_register(app="messaging", export=_export, erase=_erase)
