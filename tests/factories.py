"""Makers of test data shared by every app's tests, through the real services (no mocks of our
own code): members, points credited and debited through the ledger, API keys."""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from core.apikeys import api_key_create
from loyalty.models import LedgerEntry, Member
from loyalty.services.ledger import EntryCause, member_lock, points_credit, points_debit
from loyalty.services.members import member_upsert
from tests.conftest import TEST_PASSWORD


def member_make(external_id: str | None = None, *, points: int = 0, login: bool = False, **data) -> Member:
    """A member of the current schema (a random id unless given), with points and a login if asked."""
    member, _ = member_upsert(external_id=external_id or f"m-{uuid.uuid4().hex[:10]}", data=data)
    if points:
        credit_make(member, points)
    if login:
        user = get_user_model().objects.create_user(
            username=f"{member.external_id}@example.com", password=TEST_PASSWORD
        )
        Member.objects.filter(pk=member.pk).update(user=user)
    member.refresh_from_db()
    return member


def members_planned_make(count: int = 500) -> None:
    """`count` plain members, the member table analysed and sequential scans off for the rest of
    the transaction: with so many rows, and statistics that know them, a plan that avoids the index
    a test names is a real regression, not the planner's whim on a nearly empty table (where a full
    scan of any other index costs the same)."""
    now = timezone.now()
    Member.objects.bulk_create(
        Member(external_id=f"planned-{uuid.uuid4().hex[:12]}", last_name=f"name{index}", joined_at=now)
        for index in range(count)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Member._meta.db_table}")
        cursor.execute("SET LOCAL enable_seqscan = off")


def credit_make(member: Member, points: int, *, at=None, expires_at=None) -> LedgerEntry:
    """Earned points, credited under the member's lock as the ledger services do."""
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        return points_credit(
            member=locked,
            points=points,
            kind=LedgerEntry.Kind.EARN,
            cause=EntryCause(reason="test"),
            at=at,
            expires_at=expires_at,
        )


def debit_make(member: Member, points: int, **kwargs) -> LedgerEntry | None:
    """Redeemed points, debited under the member's lock (`kwargs` go to `points_debit`)."""
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        return points_debit(
            member=locked,
            points=points,
            kind=LedgerEntry.Kind.REDEEM,
            cause=EntryCause(source="test"),
            **kwargs,
        )


def key_make(brand, *, name: str = "ERP", rate_limit_per_minute: int | None = None) -> str:
    """A new API key of the brand, in clear."""
    with schema_context(brand.schema_name):
        _, key = api_key_create(name=name, rate_limit_per_minute=rate_limit_per_minute)
    return key


def template_make(
    code: str = "news",
    *,
    channel: str = "sms",
    language: str = "en",
    body: str = "Hello {{ first_name }}",
    **extra,
):
    """A message template of the current schema (messaging), saved through the ORM."""
    from messaging.models import MessageTemplate

    values = {"name": code, "body": body, **extra}
    template, _ = MessageTemplate.objects.update_or_create(
        code=code, channel=channel, language=language, defaults=values
    )
    return template


def sending_hours_open(*channels: str) -> None:
    """The current schema's marketing messages on `channels` may leave at any hour, every day
    (`ChannelSettings.quiet_hours`), so a test does not depend on the hour it runs at."""
    from messaging.models import ChannelSettings
    from messaging.quiet_hours import WEEKDAYS

    always = {
        "windows": [{"days": list(WEEKDAYS), "start": "00:00", "end": "24:00"}],
        "public_holidays": True,
    }
    ChannelSettings.objects.update_or_create(id=1, defaults={"quiet_hours": dict.fromkeys(channels, always)})


def staff_make(role: str = "support", *, username: str | None = None, totp_secret: str = ""):
    """A staff login of the current schema with `role` (core.models.StaffProfile) and the test
    password; with `totp_secret`, its two-factor app set up (confirmed)."""
    from django.utils import timezone

    from core.models import StaffProfile

    user = get_user_model().objects.create_user(
        username=username or f"{role}-{uuid.uuid4().hex[:8]}@staff.example",
        password=TEST_PASSWORD,
        is_staff=True,
    )
    user.email = user.username
    user.save(update_fields=["email"])
    StaffProfile.objects.create(
        user=user,
        role=role,
        totp_secret=totp_secret,
        totp_confirmed_at=timezone.now() if totp_secret else None,
    )
    return user
