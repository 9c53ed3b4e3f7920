"""Writes of reviews (README "Community > Reviews"): a member's review of a subject (written or
edited, moderated each time), reports of reviews, the brand's public reply, support's follow-ups of
low ratings, and the invitations to review sent after a purchase.

A review earns nothing: no reward depends on its content, nor on writing one (ISO 20488).

**Lock order**: the review's row (its `select_for_update`), then its follow-up or report rows;
never a member's row nor a subject's, so no writer here can close a cycle with the ledger's
writers. One review per member and subject: the unique constraint `review_once_per_member` decides
between concurrent first submits (the loser's insert waits for the winner's commit, fails in its
savepoint, and edits the winner's row under its lock instead)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from community.models import (
    FollowUp,
    FollowUpState,
    ModerationState,
    RejectionReason,
    Review,
    ReviewInvitation,
    ReviewReport,
    Subject,
    SubjectKind,
)
from community.models.reviews import (
    NAME_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    REPLY_MAX_LENGTH,
    REVIEW_TEXT_MAX_LENGTH,
    REVIEW_TITLE_MAX_LENGTH,
)
from community.selectors.moderation import settings_get
from community.services.moderation import moderation_apply, text_language
from core.errors import InvalidInput, NotFound, Refused
from loyalty.models import ActivityEvent, Member
from messaging.models import TriggerKind
from messaging.selectors.variables import site_url
from messaging.triggers import trigger_fire

RATING_MIN, RATING_MAX = 1, 5
# A rating at or under this opens a follow-up for support.
FOLLOW_UP_RATING = 2
# Purchases are invited to review from `review_invitation_days` after them, for this long.
INVITATION_WINDOW = timedelta(days=7)
DEFAULT_PURCHASE_TYPES = ("purchase",)
NOTE_MAX_LENGTH = 1000
# What a member may report a review for: the reasons a review may be rejected for (published).
REPORT_REASONS = RejectionReason
# The attribute of a purchase event that names a subject of each kind (products also by items).
ATTRIBUTES: tuple[tuple[str, str], ...] = (
    (SubjectKind.PRODUCT, "sku"),
    (SubjectKind.SERVICE, "service"),
    (SubjectKind.PLACE, "place"),
)


# --- what a purchase names ----------------------------------------------------------------------


def purchase_types() -> list[str]:
    """The brand's event types that are purchases (`CommunitySettings.purchase_event_types`)."""
    return list(settings_get().purchase_event_types or DEFAULT_PURCHASE_TYPES)


def _naming(subject: Subject) -> Q:
    """The events whose attributes name `subject`: a product by `sku` or the `sku` of one of
    `items`, a service by `service`, a place by `place`."""
    if subject.kind == SubjectKind.PRODUCT:
        return Q(attributes__sku=subject.reference) | Q(
            attributes__items__contains=[{"sku": subject.reference}]
        )
    return Q(**{f"attributes__{subject.kind}": subject.reference})


def certifying_purchase(*, member: Member, subject: Subject) -> ActivityEvent | None:
    """The member's latest purchase event (not reversed) that names `subject`, if any."""
    return (
        ActivityEvent.objects.filter(member=member, type__in=purchase_types(), reversed_at__isnull=True)
        .filter(_naming(subject))
        .order_by("-occurred_at", "-pk")
        .first()
    )


# --- a member's review ---------------------------------------------------------------------------


class _Words(NamedTuple):
    rating: int
    text: str
    title: str
    experienced_on: date | None


def _review_check(*, rating: object, text: str, title: str, experienced_on: date | None, today: date) -> None:
    errors: dict[str, list[str]] = {}
    if not isinstance(rating, int) or isinstance(rating, bool) or not RATING_MIN <= rating <= RATING_MAX:
        errors["rating"] = [_("a rating from 1 to 5")]
    if not text.strip():
        errors["text"] = [_("Write your review.")]
    elif len(text) > REVIEW_TEXT_MAX_LENGTH:
        errors["text"] = [_("at most %(count)d characters") % {"count": REVIEW_TEXT_MAX_LENGTH}]
    if len(title) > REVIEW_TITLE_MAX_LENGTH:
        errors["title"] = [_("at most %(count)d characters") % {"count": REVIEW_TITLE_MAX_LENGTH}]
    if experienced_on is not None and experienced_on > today:
        errors["experienced_on"] = [_("a date in the past")]
    if errors:
        raise InvalidInput(errors)


def _written(*, review: Review, words: _Words, language: str, now: datetime) -> Review:
    """`review` with the member's words, moderated and certified again (not saved)."""
    review.rating, review.text, review.title, review.experienced_on = words
    moderation_apply(obj=review, texts=[review.title, review.text], language=language, now=now)
    review.certified_event = certifying_purchase(member=review.member, subject=review.subject)
    return review


def review_submit(
    *,
    member: Member,
    subject_id: int,
    rating: int,
    text: str,
    title: str = "",
    experienced_on: date | None = None,
    language: str | None = None,
    now: datetime | None = None,
) -> Review:
    """The member's review of the subject: written, or their existing one edited (one per member
    and subject, however many submit at once), moderated each time (`moderation_apply`: published
    at once unless held). Certified when the member has a purchase event naming the subject. A
    rating of 1 or 2 opens support's follow-up (one per review). Refuses an unknown or unlisted
    subject, a member who is not active, a rating outside 1-5, an empty text (errors name the
    field)."""
    now = now or timezone.now()
    text, title = (text or "").strip(), (title or "").strip()
    subject = Subject.objects.filter(pk=subject_id, is_active=True).first()
    if subject is None:
        raise NotFound(_("no such item to review"), field="subject")
    if member.status != Member.Status.ACTIVE:
        raise Refused(_("this member cannot write reviews"), code="member_not_active", field="member")
    _review_check(rating=rating, text=text, title=title, experienced_on=experienced_on, today=now.date())
    language = language or text_language(f"{title}\n{text}", default=member.language)
    words = _Words(rating, text, title, experienced_on)
    with transaction.atomic():
        review = Review.objects.select_for_update().filter(member=member, subject=subject).first()
        if review is None:
            new = Review(member=member, subject=subject)
            review = _written(review=new, words=words, language=language, now=now)
            try:
                with transaction.atomic():
                    review.save()
            except IntegrityError:
                # Another submit of the same member and subject committed first: edit it instead.
                review = Review.objects.select_for_update().filter(member=member, subject=subject).first()
                if review is None:
                    raise
            else:
                _follow_up_open(review=review)
                return review
        review = _written(review=review, words=words, language=language, now=now)
        review.edited_at = now
        review.save()
        _follow_up_open(review=review)
    return review


def _follow_up_open(*, review: Review) -> None:
    if review.rating <= FOLLOW_UP_RATING:
        FollowUp.objects.get_or_create(review=review)


def review_report(*, review_id: int, member: Member, reason: str, note: str = "") -> ReviewReport:
    """A member's report of a published review, once per member (reporting again changes nothing):
    the review counts it (`report_count`) and goes to the moderation queue's reported list until
    staff handle it. `reason` is one of the published rejection reasons (`REPORT_REASONS`)."""
    note = (note or "").strip()
    if reason not in REPORT_REASONS.values:
        raise InvalidInput(_("choose one of the listed reasons"), field="reason")
    if len(note) > NOTE_MAX_LENGTH:
        raise InvalidInput(_("at most %(count)d characters") % {"count": NOTE_MAX_LENGTH}, field="note")
    with transaction.atomic():
        review = (
            Review.objects.select_for_update()
            .filter(pk=review_id, state=ModerationState.PUBLISHED, subject__is_active=True)
            .first()
        )
        if review is None:
            raise NotFound(_("no such review"), field="review")
        if review.member_id == member.pk:
            raise Refused(_("you cannot report your own review"), code="own_review", field="review")
        report, created = ReviewReport.objects.get_or_create(
            review=review, member=member, defaults={"reason": reason, "note": note}
        )
        if created:
            Review.objects.filter(pk=review.pk).update(report_count=F("report_count") + 1)
    return report


# --- the brand's side ----------------------------------------------------------------------------


def subject_url(subject: Subject) -> str:
    """The subject's page on the brand's site (its review form), absolute when the site is known."""
    path = reverse("community-review-subject", kwargs={"kind": subject.kind, "reference": subject.reference})
    base = site_url()
    return f"{base.rstrip('/')}{path}" if base else path


def _variables(*, subject: Subject, member: Member) -> dict[str, object]:
    with translation.override(member.language):
        return {"subject_name": subject.name, "review_url": subject_url(subject)}


def review_reply(*, review_id: int, text: str, user: Any, now: datetime | None = None) -> Review:
    """The brand's public reply to a review, written or edited (an empty text takes it back). The
    author is told the first time (`review_replied`), after commit. A rejected review takes none."""
    now = now or timezone.now()
    text = (text or "").strip()
    if len(text) > REPLY_MAX_LENGTH:
        raise InvalidInput(_("at most %(count)d characters") % {"count": REPLY_MAX_LENGTH}, field="reply")
    with transaction.atomic():
        review = (
            Review.objects.select_for_update()
            .select_related("member", "subject")
            .filter(pk=review_id)
            .first()
        )
        if review is None:
            raise NotFound(_("no such review"), field="review")
        if review.state == ModerationState.REJECTED and text:
            raise Refused(_("a rejected review takes no reply"), code="review_rejected", field="reply")
        if text == review.reply:
            return review
        review.reply = text
        review.replied_at, review.replied_by = (now, user) if text else (None, None)
        review.save(update_fields=["reply", "replied_at", "replied_by", "updated_at"])
        if text:
            variables = _variables(subject=review.subject, member=review.member)
            transaction.on_commit(
                lambda: trigger_fire(
                    kind=TriggerKind.REVIEW_REPLIED,
                    member=review.member,
                    variables=variables,
                    dedupe_key=f"review:{review.pk}",
                )
            )
    return review


def follow_up_validate(*, follow_up: FollowUp, state: str, outcome: str) -> FollowUp:
    """`follow_up` moved to `state` with `outcome` (not saved): closing needs the outcome."""
    outcome = (outcome or "").strip()
    if state not in FollowUpState.values:
        raise InvalidInput(
            _("one of %(states)s") % {"states": ", ".join(FollowUpState.values)}, field="state"
        )
    if state == FollowUpState.CLOSED and not outcome:
        raise InvalidInput(_("Say how it ended before closing it."), field="outcome")
    follow_up.state, follow_up.outcome = state, outcome
    return follow_up


def follow_up_update(
    *,
    follow_up_id: int,
    state: str,
    outcome: str,
    user: Any,
    assigned_to: Any = None,
    now: datetime | None = None,
) -> FollowUp:
    """Support's follow-up of a low rating moved on: contacted, closed (which needs the outcome),
    or open again; given to `assigned_to`, else to the user who moves it when nobody has it."""
    now = now or timezone.now()
    with transaction.atomic():
        follow_up = FollowUp.objects.select_for_update().filter(pk=follow_up_id).first()
        if follow_up is None:
            raise NotFound(_("no such follow-up"), field="follow_up")
        was = follow_up.state
        follow_up = follow_up_validate(follow_up=follow_up, state=state, outcome=outcome)
        if follow_up.state != was:
            follow_up.closed_at = now if follow_up.state == FollowUpState.CLOSED else None
        if assigned_to is not None:
            follow_up.assigned_to = assigned_to
        elif follow_up.assigned_to_id is None and getattr(user, "pk", None) is not None:
            follow_up.assigned_to = user
        follow_up.save()
    return follow_up


# --- subjects and invitations --------------------------------------------------------------------


SUBJECT_FIELDS = ("kind", "reference", "name", "description", "image_url", "is_active")


def subject_validate(*, data: Mapping[str, Any], subject: Subject | None = None) -> Subject:
    """`subject` (or a new one) with `data` applied and checked, not saved: the one validation of
    the backoffice and the API. Its kind and reference are unique together."""
    unknown = sorted(set(data) - set(SUBJECT_FIELDS))
    if unknown:
        raise InvalidInput({field: [_("is not a field of a reviewed item")] for field in unknown})
    subject = subject or Subject()
    for name, value in data.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(subject, name, "" if value is None and name != "is_active" else value)
    errors: dict[str, list[str]] = {}
    try:
        subject.full_clean(validate_constraints=False)
    except ValidationError as error:
        errors = {name: list(texts) for name, texts in error.message_dict.items()}
    clash = Subject.objects.filter(kind=subject.kind, reference=subject.reference).exclude(pk=subject.pk)
    if not errors.keys() & {"kind", "reference"} and clash.exists():
        errors["reference"] = [_("another item of this kind has this reference")]
    if errors:
        raise InvalidInput(errors)
    return subject


def subject_save(*, data: Mapping[str, Any], subject_id: int | None = None) -> Subject:
    """A subject written (new, or `subject_id` changed under its lock). Its reviews stay with it;
    an item no longer listed (`is_active` false) is hidden and closed to reviews, not deleted."""
    with transaction.atomic():
        subject = None
        if subject_id is not None:
            subject = Subject.objects.select_for_update().filter(pk=subject_id).first()
            if subject is None:
                raise NotFound(_("no such reviewed item"), field="subject")
        subject = subject_validate(data=data, subject=subject)
        try:
            with transaction.atomic():
                subject.save()
        except IntegrityError:
            raise InvalidInput(_("another item of this kind has this reference"), field="reference") from None
    return subject


def subject_ensure(*, kind: str, reference: str, name: str = "") -> Subject:
    """The subject of `kind` and `reference`, created (named `name`, else its reference) if the
    brand has none; an existing one is left as staff wrote it."""
    reference = (reference or "").strip()
    if kind not in SubjectKind.values:
        raise InvalidInput(_("one of %(kinds)s") % {"kinds": ", ".join(SubjectKind.values)}, field="kind")
    if not reference or len(reference) > REFERENCE_MAX_LENGTH:
        raise InvalidInput(
            _("a reference of 1 to %(count)d characters") % {"count": REFERENCE_MAX_LENGTH}, field="reference"
        )
    name = (name or "").strip()[:NAME_MAX_LENGTH] or reference
    subject, _created = Subject.objects.get_or_create(kind=kind, reference=reference, defaults={"name": name})
    return subject


def _named_subjects(event: ActivityEvent) -> Iterator[Subject]:
    """The listed subjects `event` names; its items' products are created on the way."""
    attributes = event.attributes if isinstance(event.attributes, dict) else {}
    listed: list[tuple[str, str]] = []
    for kind, key in ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str) and value.strip():
            listed.append((kind, value.strip()))
    items = attributes.get("items")
    for item in items if isinstance(items, list) else []:
        sku = item.get("sku") if isinstance(item, dict) else None
        if isinstance(sku, str) and sku.strip() and len(sku.strip()) <= REFERENCE_MAX_LENGTH:
            name = item.get("name")
            subject_ensure(
                kind=SubjectKind.PRODUCT, reference=sku, name=name if isinstance(name, str) else ""
            )
            listed.append((SubjectKind.PRODUCT, sku.strip()))
    seen: set[int] = set()
    for kind, reference in listed:
        subject = Subject.objects.filter(kind=kind, reference=reference, is_active=True).first()
        if subject is not None and subject.pk not in seen:
            seen.add(subject.pk)
            yield subject


def review_invitations_send(*, now: datetime | None = None) -> int:
    """Invite members to review what they bought: each purchase event from
    `review_invitation_days` to that plus 7 days ago, once per (event, subject) it names
    (`ReviewInvitation`, then the `review_invitation` trigger after commit), never for a subject the
    member reviewed already, nor for a member who is not active. How many invitations were written."""
    now = now or timezone.now()
    days = settings_get().review_invitation_days
    if not days:
        return 0
    latest = now - timedelta(days=days)
    events = (
        ActivityEvent.objects.filter(
            type__in=purchase_types(),
            occurred_at__gt=latest - INVITATION_WINDOW,
            occurred_at__lte=latest,
            reversed_at__isnull=True,
            member__status=Member.Status.ACTIVE,
        )
        .exclude(Exists(ReviewInvitation.objects.filter(event=OuterRef("pk"))))
        .select_related("member")
        .order_by("pk")
    )
    written = 0
    for event in events.iterator(chunk_size=500):
        with transaction.atomic():
            for subject in _named_subjects(event):
                if Review.objects.filter(member=event.member, subject=subject).exists():
                    continue
                _invitation, created = ReviewInvitation.objects.get_or_create(
                    event=event, subject=subject, defaults={"member": event.member}
                )
                if created:
                    written += 1
                    _invite_on_commit(event=event, subject=subject)
    return written


def _invite_on_commit(*, event: ActivityEvent, subject: Subject) -> None:
    variables = _variables(subject=subject, member=event.member)
    transaction.on_commit(
        lambda: trigger_fire(
            kind=TriggerKind.REVIEW_INVITATION,
            member=event.member,
            variables=variables,
            dedupe_key=f"{event.pk}:{subject.pk}",
        )
    )
