"""The loyalty app's part of GDPR exports and erasures (`core.privacy`): the member, their
consents and their history, sign-ups and login, events, ledger, tiers, badges, offers seen,
activation codes, the member audit. Erasing replaces the person's texts and addresses; amounts,
balances, dates and the consents given (channel, yes or no, when, how) stay."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core.privacy import Person, object_history_redact, privacy_register, rows_mentioning, rows_redact
from loyalty.models import (
    ActivationAttempt,
    ActivationCode,
    ActivityEvent,
    Consent,
    ConsentChange,
    LedgerEntry,
    Member,
    MemberAudit,
    Signup,
)
from loyalty.selectors.activation import activation_code_state
from loyalty.selectors.explanations import entry_in_words
from loyalty.selectors.members import member_points_summary
from loyalty.services.members import MEMBER_CONTACT_FIELDS, MEMBER_PERSONAL_FIELDS, _login_close


def member_logins(*, member: Member) -> list[Any]:
    """The member's login and the sign-ups' logins not linked yet (an e-mail waiting to be
    verified), found by their member or their e-mail."""
    email = member.email.strip()
    wanted = Q(member=member) | Q(signup__member=member)
    if email:
        wanted |= Q(email__iexact=email) | Q(username__iexact=email)
    return list(get_user_model().objects.filter(wanted).distinct())


def _export(member: Member) -> dict:
    points = member_points_summary(member=member)
    return {
        "member": {
            "external_id": member.external_id,
            "kind": member.kind,
            "status": member.status,
            **{field: getattr(member, field) for field in MEMBER_CONTACT_FIELDS},
            "tags": member.tags,
            "tier": member.tier.code if member.tier else None,
            "is_vip": member.is_vip,
            "vip_source": member.vip_source,
            "vip_since": member.vip_since,
            "sales_rep": member.sales_rep.get_username() if member.sales_rep else None,
            "joined_at": member.joined_at,
            "last_activity_at": member.last_activity_at,
            "email_verified_at": member.email_verified_at,
        },
        "points": {
            "balance": points.balance,
            "spendable": points.spendable,
            "pending": points.pending,
            "owed": points.owed,
        },
        "consents": list(
            Consent.objects.filter(member=member).values("channel", "granted", "changed_at", "source")
        ),
        "consent_history": list(
            ConsentChange.objects.filter(member=member)
            .order_by("changed_at", "pk")
            .values("channel", "granted", "changed_at", "source", "ip_address")
        ),
        "logins": [
            {
                "username": user.get_username(),
                "email": user.email,
                "date_joined": user.date_joined,
                "last_login": user.last_login,
            }
            for user in member_logins(member=member)
        ],
        "signups": list(
            Signup.objects.filter(member=member).values(
                "phone", "consents", "ip_address", "terms_accepted_at", "created_at", "verified_at"
            )
        ),
        "events": list(
            ActivityEvent.objects.filter(member=member)
            .order_by("occurred_at", "pk")
            .values(
                "type", "occurred_at", "amount", "currency", "attributes", "points_awarded", "reversed_at"
            )
        ),
        "ledger": [
            {
                "at": entry.created_at,
                "kind": entry.kind,
                "points": entry.points,
                "balance_after": entry.balance_after,
                "why": entry_in_words(entry=entry),
            }
            for entry in LedgerEntry.objects.filter(member=member)
            .select_related("rule", "event", "staff_user")
            .order_by("created_at", "pk")
        ],
        "tier_history": [
            {
                "at": change.changed_at,
                "from": getattr(change.from_tier, "code", None),
                "to": getattr(change.to_tier, "code", None),
                "reason": change.reason,
            }
            for change in member.tier_changes.select_related("from_tier", "to_tier").order_by(
                "changed_at", "pk"
            )
        ],
        "badges": [
            {"badge": held.badge.code, "name": held.badge.name, "awarded_at": held.awarded_at}
            for held in member.badges.select_related("badge").order_by("awarded_at", "pk")
        ],
        "offers_seen": list(member.offers_seen.order_by("seen_at").values("offer__title", "seen_at")),
        "activation_codes": [
            {
                "issued_at": code.issued_at,
                "expires_at": code.expires_at,
                "state": activation_code_state(code=code),
            }
            for code in ActivationCode.objects.filter(member=member).order_by("issued_at", "pk")
        ],
        "audit": list(
            MemberAudit.objects.filter(member=member)
            .order_by("at", "pk")
            .values("at", "action", "reason", "before", "after")
        ),
    }


def _ledger_texts_redact(*, member: Member, person: Person) -> None:
    """The ledger's reasons and explanations (a staff member may have typed the person's name):
    the append-only trigger lets this transaction replace those two columns, nothing else
    (migration 0022)."""
    entries = rows_mentioning(
        LedgerEntry.objects.filter(member=member), fields=["reason", "explanation"], texts=person.texts
    )
    ids = list(entries.values_list("pk", flat=True))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL loyalty.erasure = 'on'")
        rows_redact(
            LedgerEntry.objects.filter(pk__in=ids), fields=["reason", "explanation"], texts=person.texts
        )
        cursor.execute("SET LOCAL loyalty.erasure = 'off'")


def _erase(member: Member, person: Person) -> None:
    now = timezone.now()
    for user in member_logins(member=member):
        Signup.objects.filter(user=user).update(phone="", ip_address=None)
        _login_close(user)
    Signup.objects.filter(member=member).update(phone="", ip_address=None)
    # Consents keep their history (which channel, yes or no, when, how), not where from.
    Consent.objects.filter(member=member).update(ip_address=None)
    ConsentChange.objects.filter(member=member).update(ip_address=None)
    codes = ActivationCode.objects.filter(member=member)
    codes.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    ActivationAttempt.objects.filter(code__in=codes).update(ip=None)
    events = ActivityEvent.objects.filter(member=member)
    rows_redact(
        rows_mentioning(events, fields=["attributes", "result"], texts=person.texts),
        fields=["attributes", "result"],
        texts=person.texts,
    )
    _ledger_texts_redact(member=member, person=person)
    rows_redact(
        MemberAudit.objects.filter(member=member), fields=["reason", "before", "after"], texts=person.texts
    )
    object_history_redact(
        obj=member, fields=[*MEMBER_PERSONAL_FIELDS, "user"], object_repr=f"member {member.external_id}"
    )


privacy_register(app="loyalty", export=_export, erase=_erase)
