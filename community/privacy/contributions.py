"""The contributions part of a member's GDPR export and erasure. Erasing replaces the texts the
member wrote and the reference they gave by ERASED and deletes their photos (files included); the
rows stay with their type, state and dates, since an approved one's event paid points."""

from __future__ import annotations

from community.models import Contribution, ContributionPhoto
from core.privacy import ERASED, Person
from loyalty.models import Member


def export(member: Member) -> dict:
    rows = Contribution.objects.filter(member=member).select_related("type").prefetch_related("photos")
    return {
        "contributions": [
            {
                "id": row.pk,
                "type": row.type.code,
                "text": row.text,
                "reference": row.reference,
                "state": row.state,
                "rejection_reason": row.rejection_reason,
                "rejection_note": row.rejection_note,
                "submitted_at": row.created_at,
                "decided_at": row.decided_at,
                "photos": [photo.image.name for photo in row.photos.all()],
            }
            for row in rows.order_by("created_at", "pk")
        ]
    }


def erase(member: Member, person: Person) -> None:
    photos = ContributionPhoto.objects.filter(contribution__member=member)
    for photo in photos:
        photo.image.delete(save=False)
    photos.delete()
    Contribution.objects.filter(member=member).update(text=ERASED, reference="", rejection_note="")
