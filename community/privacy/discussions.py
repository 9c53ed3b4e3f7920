"""The discussions part of a member's GDPR export and erasure: the threads and replies they wrote.
Erasing replaces their own texts (titles too) by the erased mark, so that the other members'
replies keep their place in the thread, and redacts the person's name, e-mail or phone where
another member's text quotes it."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from community.models import Reply, Thread
from community.selectors.discussions import replies_of, threads_of
from core.privacy import ERASED, Person, text_redact
from loyalty.models import Member

EXPORTED = ("kind", "space__name", "state", "rejection_reason", "created_at", "published_at")


def export(member: Member) -> dict:
    return {
        "threads": list(threads_of(member=member).values("title", "text", *EXPORTED)),
        "replies": list(
            replies_of(member=member).values(
                "thread__title", "text", "state", "rejection_reason", "created_at"
            )
        ),
    }


def erase(member: Member, person: Person) -> None:
    with transaction.atomic():
        mine = {"text": ERASED, "held_because": [], "rejection_note": ""}
        Thread.objects.filter(member=member).update(title=ERASED, **mine)
        Reply.objects.filter(member=member).update(**mine)
        texts = person.unique_texts
        if not texts:
            return
        quoting = Q(*(Q(text__icontains=text) for text in texts), _connector=Q.OR)
        for thread in Thread.objects.filter(
            quoting | Q(*(Q(title__icontains=t) for t in texts), _connector=Q.OR)
        ).exclude(member=member):
            thread.title = text_redact(thread.title, texts=texts)
            thread.text = text_redact(thread.text, texts=texts)
            thread.save(update_fields=["title", "text"])
        for reply in Reply.objects.filter(quoting).exclude(member=member):
            reply.text = text_redact(reply.text, texts=texts)
            reply.save(update_fields=["text"])
