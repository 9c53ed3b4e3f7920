"""Reads of the launch mailings: batches, their skipped letters, and the activation follow-up (how
many of the codes a batch printed were used, and when)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate

from messaging.models import Letter, LetterBatch
from tenants.selectors import brand_timezone


def letter_batches_list() -> QuerySet[LetterBatch]:
    return LetterBatch.objects.select_related("segment").order_by("-created_at", "-id")


def letter_batch_get(*, batch_id: int) -> LetterBatch | None:
    return letter_batches_list().filter(pk=batch_id).first()


def letter_batch_skips(*, batch: LetterBatch) -> dict[str, int]:
    """Letters not printed, by reason (`messaging.checks.SKIP_REASONS` and the activation's codes)."""
    rows = (
        Letter.objects.filter(batch=batch, rendered_at__isnull=False)
        .exclude(skip_reason="")
        .values("skip_reason")
        .annotate(count=Count("id"))
        .order_by("skip_reason")
    )
    return {row["skip_reason"]: row["count"] for row in rows}


@dataclass(frozen=True)
class ActivationDay:
    day: date
    activated: int  # codes used that day
    total: int  # codes used up to that day
    rate: float  # total / codes issued


@dataclass(frozen=True)
class ActivationFollowUp:
    issued: int
    activated: int
    rate: float  # 0 to 1; 0 when no code was issued
    days: list[ActivationDay]


def letter_batch_activation(*, batch: LetterBatch) -> ActivationFollowUp:
    """The codes the batch printed, how many were used (activated) and the rate, day by day in the
    brand's timezone since the first activation."""
    codes = Letter.objects.filter(batch=batch, activation_code__isnull=False)
    issued = codes.count()
    per_day = (
        codes.filter(activation_code__used_at__isnull=False)
        .annotate(day=TruncDate("activation_code__used_at", tzinfo=brand_timezone()))
        .values("day")
        .annotate(count=Count("id"))
        .order_by("day")
    )
    days, total = [], 0
    for row in per_day:
        total += row["count"]
        days.append(ActivationDay(day=row["day"], activated=row["count"], total=total, rate=total / issued))
    return ActivationFollowUp(
        issued=issued, activated=total, rate=(total / issued) if issued else 0.0, days=days
    )
