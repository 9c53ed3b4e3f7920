"""Writes of contributions (README "Community > Contributions"): the types the brand defines, a
member's submission with its photos, staff's decision.

An approved contribution becomes one activity event of its type's `event_type`, recorded through
the events pipeline (`event_record`) with the idempotency key `community:contribution:<id>`, so the
brand's rules pay it and badges count it ("Vigie" at 10 approved damage reports: the event carries
`attributes.status == "approved"`). **Approving twice earns once**: the decision locks the
contribution's row and reads its state first (a second approval, even a concurrent one, finds it
approved and changes nothing), and the key would answer a replay anyway.

Decisions: a rejected contribution earns nothing; staff may still approve it later (a mistake
corrected), and only then it earns. An approved one cannot be rejected any more (its points are
paid: reverse them in the member's account if needed).

**Lock order**: the contribution's row, then the member's row (taken by the pipeline). Nothing else
locks a contribution, so no cycle. Messages (`contribution_approved`, `community_rejected`) go
after commit."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from catalog.services import gift_photo_check
from community.models import (
    Contribution,
    ContributionPhoto,
    ContributionState,
    ContributionType,
    RejectionReason,
    Subject,
    SubjectKind,
)
from community.models.contributions import CONTRIBUTION_TEXT_MAX_LENGTH, PHOTOS_MAX
from community.services.moderation import rejection_tell, text_language
from core.errors import Conflict, InvalidInput, NotFound, Refused
from core.limits import field_max_length
from loyalty.models import ActivityEvent, EventType, Member
from loyalty.services.events.checks import EventInput
from loyalty.services.events.pipeline import event_record
from messaging.models import TriggerKind
from messaging.selectors.variables import site_url
from messaging.triggers import trigger_fire

CONTRIBUTION_TYPE_FIELDS = (
    "code",
    "name",
    "description",
    "event_type",
    "photos_required",
    "reference_label",
    "reference_required",
    "subject_kind",
    "is_public",
    "is_active",
    "position",
)


def contribution_event_key(contribution_id: int) -> str:
    return f"community:contribution:{contribution_id}"


# --- types -----------------------------------------------------------------------------------------


def contribution_type_validate(
    *, data: Mapping[str, Any], contribution_type: ContributionType | None = None
) -> ContributionType:
    """`contribution_type` (or a new one) with `data` applied and checked, not saved."""
    unknown = sorted(set(data) - set(CONTRIBUTION_TYPE_FIELDS))
    if unknown:
        raise InvalidInput({field: ["is not a contribution type field"] for field in unknown})
    kind = contribution_type or ContributionType()
    for field, value in data.items():
        setattr(kind, field, value.strip() if isinstance(value, str) else value)
    errors: dict[str, list[str]] = {}
    for field in ("code", "name", "event_type"):
        value = getattr(kind, field)
        limit = field_max_length(model=ContributionType, field=field)
        if not isinstance(value, str) or not value or len(value) > limit:
            errors[field] = [f"is required, at most {limit} characters"]
    if "code" not in errors:
        clash = ContributionType.objects.filter(code=kind.code).exclude(pk=kind.pk)
        if clash.exists():
            errors["code"] = ["another type has this code"]
    photos = kind.photos_required
    if not isinstance(photos, int) or isinstance(photos, bool) or not 0 <= photos <= PHOTOS_MAX:
        errors["photos_required"] = [f"from 0 to {PHOTOS_MAX}"]
    if kind.subject_kind and kind.subject_kind not in SubjectKind.values:
        errors["subject_kind"] = [f"empty or one of {', '.join(SubjectKind.values)}"]
    if kind.reference_required and not kind.reference_label:
        errors["reference_label"] = ["is required when a reference is required"]
    if errors:
        raise InvalidInput(errors)
    return kind


def contribution_type_save(
    *, data: Mapping[str, Any], contribution_type: ContributionType | None = None
) -> ContributionType:
    """Create or change a type; its event type exists afterwards (created with the type's name if the
    programme has none), so the brand's rules and badges can name it."""
    with transaction.atomic():
        if contribution_type is not None and contribution_type.pk is not None:
            contribution_type = ContributionType.objects.select_for_update().get(pk=contribution_type.pk)
        kind = contribution_type_validate(data=data, contribution_type=contribution_type)
        kind.save()
        EventType.objects.get_or_create(
            code=kind.event_type,
            defaults={"name": kind.name[: field_max_length(model=EventType, field="name")]},
        )
    return kind


# --- submissions -----------------------------------------------------------------------------------


def _photos_checked(photos: Sequence[File], *, required: int) -> list[tuple[File, str]]:
    """Each photo checked as a gift photo is (a real JPEG, PNG or WebP, its size and sides), with the
    name to store it under: random, so its address cannot be guessed from another's."""
    if len(photos) > PHOTOS_MAX:
        raise InvalidInput(f"at most {PHOTOS_MAX} photos", field="photos")
    if len(photos) < required:
        raise InvalidInput(f"at least {required} photo(s) required", field="photos")
    checked = []
    for photo in photos:
        try:
            name = gift_photo_check(image=photo)
        except InvalidInput as error:
            raise InvalidInput(f"{photo.name}: {error.message}", field="photos") from None
        checked.append((photo, f"{uuid.uuid4().hex}{PurePosixPath(name).suffix}"))
    return checked


def contribution_submit(
    *,
    member: Member,
    type_id: int,
    text: str,
    reference: str = "",
    subject_id: int | None = None,
    photos: Sequence[File] = (),
) -> Contribution:
    """A member's contribution of an open type, waiting for staff (`submitted`), with its photos."""
    kind = ContributionType.objects.filter(pk=type_id, is_active=True).first()
    if kind is None:
        raise NotFound("no open contribution type with this id", field="type")
    if member.status != Member.Status.ACTIVE:
        raise Refused("this account cannot contribute", code="member_not_active")
    errors: dict[str, list[str]] = {}
    text, reference = (text or "").strip(), (reference or "").strip()
    if not text or len(text) > CONTRIBUTION_TEXT_MAX_LENGTH:
        errors["text"] = [f"is required, at most {CONTRIBUTION_TEXT_MAX_LENGTH} characters"]
    limit = field_max_length(model=Contribution, field="reference")
    if len(reference) > limit:
        errors["reference"] = [f"at most {limit} characters"]
    elif kind.reference_required and not reference:
        errors["reference"] = ["is required"]
    subject = None
    if subject_id is not None:
        subject = Subject.objects.filter(pk=subject_id, is_active=True).first()
        if subject is None or (kind.subject_kind and subject.kind != kind.subject_kind):
            errors["subject"] = ["no such product, service or place"]
    if errors:
        raise InvalidInput(errors)
    checked = _photos_checked(list(photos), required=kind.photos_required)
    with transaction.atomic():
        contribution = Contribution.objects.create(
            type=kind,
            member=member,
            text=text,
            reference=reference if kind.reference_label else "",
            subject=subject,
            language=text_language(text, default=member.language),
        )
        for photo, name in checked:
            photo.name = name
            ContributionPhoto.objects.create(contribution=contribution, image=photo)
    return contribution


# --- staff's decision ------------------------------------------------------------------------------


def contribution_decide(
    *,
    contribution_id: int,
    approve: bool,
    user: Any,
    reason: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Contribution:
    """Approve (the event recorded, once) or reject (for one of the published reasons, with a note)
    a contribution; the member is told after commit. Deciding the same again changes nothing."""
    now = now or timezone.now()
    note = (note or "").strip()
    if not approve and reason not in RejectionReason.values:
        raise InvalidInput(f"must be one of {', '.join(RejectionReason.values)}", field="reason")
    if len(note) > 1000:
        raise InvalidInput("at most 1000 characters", field="note")
    with transaction.atomic():
        contribution = (
            Contribution.objects.select_for_update(of=("self",))
            .select_related("type", "member")
            .filter(pk=contribution_id)
            .first()
        )
        if contribution is None:
            raise NotFound("no contribution with this id", field="contribution")
        target = ContributionState.APPROVED if approve else ContributionState.REJECTED
        if contribution.state == target:
            return contribution
        if contribution.state == ContributionState.APPROVED:
            raise Conflict("an approved contribution stays approved (its points are paid)", field="state")
        contribution.state, contribution.decided_by, contribution.decided_at = target, user, now
        if approve:
            contribution.rejection_reason, contribution.rejection_note = "", ""
            contribution.event = _event_record(contribution=contribution, now=now)
        else:
            contribution.rejection_reason, contribution.rejection_note = reason, note
        contribution.save()
        transaction.on_commit(lambda: _tell(contribution=contribution))
    return contribution


def _event_record(*, contribution: Contribution, now: datetime) -> ActivityEvent:
    key = contribution_event_key(contribution.pk)
    attributes: dict[str, Any] = {
        "status": "approved",
        "contribution": contribution.pk,
        "contribution_type": contribution.type.code,
    }
    if contribution.reference:
        attributes["reference"] = contribution.reference
    if contribution.subject_id:
        attributes["subject"] = contribution.subject_id
    event_record(
        data=EventInput(
            member=contribution.member.external_id,
            type=contribution.type.event_type,
            occurred_at=now,
            attributes=attributes,
            idempotency_key=key,
        )
    )
    return ActivityEvent.objects.get(idempotency_key=key)


def _tell(*, contribution: Contribution) -> None:
    member = contribution.member
    if contribution.state == ContributionState.APPROVED:
        event = contribution.event
        trigger_fire(
            kind=TriggerKind.CONTRIBUTION_APPROVED,
            member=member,
            variables={"points_earned": event.points_awarded if event else 0},
            dedupe_key=f"contribution:{contribution.pk}",
        )
        return
    rejection_tell(
        member=member,
        reason=contribution.rejection_reason,
        note=contribution.rejection_note,
        link=f"{site_url().rstrip('/')}{reverse('community-contributions')}",
        dedupe_key=f"contribution:{contribution.pk}:rejected",  # rejected once at most: see above
    )
