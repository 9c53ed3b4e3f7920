"""GDPR for one member (README.md, "Backoffice", GDPR): `member_export`, everything the brand
holds about them as JSON, and `member_erase`, their personal data removed or replaced in every
app's tables (`core.privacy`: each app erases its own), then the member anonymised. The ledger's
amounts and dates stay, so the books still add up; the consents keep their history without where
they came from. Both are audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import InvalidInput
from core.privacy import Person, privacy_parts, text_redact
from loyalty.models import Member
from loyalty.privacy import member_logins
from loyalty.services.members import member_anonymise


def member_person(*, member: Member) -> Person:
    """The texts that identify the member: name, e-mail, phone, address, and those of their logins."""
    full_name = f"{member.first_name} {member.last_name}".strip()
    logins = member_logins(member=member)
    login_texts = [text for user in logins for text in (user.email, user.first_name, user.last_name)]
    return Person.of(
        texts=[
            member.first_name,
            member.last_name,
            member.address_line2,
            member.city,
            *login_texts,
            *(user.get_full_name() for user in logins),
        ],
        unique_texts=[
            member.email,
            member.phone,
            full_name if " " in full_name else "",
            member.address_line1,
            *(user.email for user in logins),
        ],
    )


def member_export(*, member: Member) -> dict[str, Any]:
    """What every app holds about the member (by app label), audited as an access to their data."""
    export = {
        "external_id": member.external_id,
        "exported_at": timezone.now(),
        "apps": {part.app: part.export(member) for part in privacy_parts()},
    }
    audit_record(
        action="action", obj=member, after={"gdpr": "export"}, object_repr=f"member {member.external_id}"
    )
    return export


def member_erase(*, member: Member, by: Any, reason: str) -> Member:
    """Erase the member's personal data in every app, in one transaction (an app may refuse, as
    billing does while a VIP subscription runs: nothing is erased then), anonymise them if they
    are not yet, and audit it (the reason without the person's texts). Erasing again finds what
    is left (nothing, or what was written since)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a reason is required", field="reason")
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        person = member_person(member=locked)
        reason = text_redact(reason, texts=person.texts)
        parts = privacy_parts()
        for part in parts:
            part.erase(locked, person)
        if locked.status != Member.Status.ANONYMISED:
            locked = member_anonymise(member=locked, by=by, reason=reason)
        audit_record(
            action="action",
            obj=locked,
            after={"gdpr": "erasure", "apps": [part.app for part in parts]},
            reason=reason,
            object_repr=f"member {locked.external_id}",
        )
    return locked
