"""The live part of a member's GDPR export and erasure: their helper profile, and the conversations
they had as a logged-in visitor or as the helper, with their messages. Erasing replaces the
member's own messages by ERASED and their name and e-mail wherever the other side wrote them, and
makes their helper profile an inactive, nameless one; the conversations stay (a helpful one's event
paid points), as do the ratings."""

from __future__ import annotations

from django.db.models import Q

from community.live import presence_leave
from community.models import Conversation, ConversationMessage, Helper
from core.privacy import ERASED, Person, rows_redact
from loyalty.models import Member

Author = ConversationMessage.Author


def _conversations(member: Member):
    return Conversation.objects.filter(Q(member=member) | Q(helper__member=member))


def _own_messages(member: Member):
    return ConversationMessage.objects.filter(
        Q(conversation__member=member, author=Author.VISITOR)
        | Q(conversation__helper__member=member, author=Author.HELPER)
    )


def export(member: Member) -> dict:
    helper = Helper.objects.filter(member=member).first()
    conversations = _conversations(member).order_by("started_at", "pk").prefetch_related("messages")
    return {
        "helper": (
            {"display_name": helper.display_name, "bio": helper.bio, "is_active": helper.is_active}
            if helper
            else None
        ),
        "conversations": [
            {
                "id": row.pk,
                "as": "visitor" if row.member_id == member.pk else "helper",
                "started_at": row.started_at,
                "closed_at": row.closed_at,
                "state": row.state,
                "rating": row.rating,
                "helpful": row.helpful,
                "messages": [
                    {"author": message.author, "text": message.text, "written_at": message.created_at}
                    for message in row.messages.all()
                ],
            }
            for row in conversations
        ],
    }


def erase(member: Member, person: Person) -> None:
    _own_messages(member).update(text=ERASED, rejection_note="", held_because=[])
    others = ConversationMessage.objects.filter(conversation__in=_conversations(member))
    rows_redact(others, fields=["text"], texts=person.texts)
    Conversation.objects.filter(member=member).update(visitor_name="")
    helper = Helper.objects.filter(member=member).first()
    if helper is not None:
        Helper.objects.filter(pk=helper.pk).update(display_name=ERASED, bio="", is_active=False)
        presence_leave(helper_id=helper.pk)
