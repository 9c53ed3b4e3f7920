"""GDPR: what the brand holds about one person, exported and erased (README.md, "Backoffice",
GDPR). Each app knows its own tables: it registers, in a `privacy.py` of its own,
`export(member) -> dict` (what it holds, as JSON) and `erase(member, person) -> None` (the
personal data of its tables removed or replaced, the figures and dates kept).
`loyalty.services.privacy` runs them all, in one transaction, and audits the erasure.

The person's texts (name, e-mail, phone, address) may have been copied anywhere a text is free
(an event's attributes, a ledger reason, a webhook's body, an audit entry): `Person` carries
them, and the helpers here replace them in texts and JSON, without touching anything else.
Core's own part (below) does so in the audit trail, the jobs and Django's admin history."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils.module_loading import autodiscover_modules

from core.models import AuditEntry, Job

# What replaces a person's text.
ERASED = "[erased]"
# Shorter texts would match inside unrelated words.
MIN_TEXT_LENGTH = 3


@dataclass(frozen=True)
class Person:
    """The texts that identify the person being erased. `texts`: all of them (names, e-mail,
    phone, address lines, city), replaced in the rows that belong to the person; `unique_texts`:
    those that name this person alone (e-mail, phone, full name, street address), which find the
    person's rows in tables shared by everyone (the audit trail, the jobs, webhook deliveries)."""

    texts: tuple[str, ...]
    unique_texts: tuple[str, ...]

    @classmethod
    def of(cls, *, texts: Iterable[str], unique_texts: Iterable[str]) -> Person:
        def kept(values: Iterable[str]) -> tuple[str, ...]:
            found = {value.strip() for value in values if len((value or "").strip()) >= MIN_TEXT_LENGTH}
            return tuple(
                sorted(found, key=len, reverse=True)
            )  # the longest first: "Ada Lovelace", then "Ada"

        unique = kept(unique_texts)
        return cls(texts=kept([*texts, *unique]), unique_texts=unique)


@dataclass(frozen=True)
class PrivacyPart:
    app: str
    export: Callable[[Any], dict]
    erase: Callable[[Any, Person], None]


_PARTS: dict[str, PrivacyPart] = {}
_discovered = False


def privacy_register(
    *, app: str, export: Callable[[Any], dict], erase: Callable[[Any, Person], None]
) -> None:
    """Register an app's part (once per app: registering again replaces it)."""
    _PARTS[app] = PrivacyPart(app=app, export=export, erase=erase)


def privacy_parts() -> list[PrivacyPart]:
    """Every app's part (each installed app's `privacy` module imported once), by app label."""
    global _discovered
    if not _discovered:
        autodiscover_modules("privacy")
        _discovered = True
    return [_PARTS[app] for app in sorted(_PARTS)]


def _pattern(texts: Iterable[str]) -> re.Pattern[str] | None:
    texts = [text for text in texts if text]
    return re.compile("|".join(re.escape(text) for text in texts), re.IGNORECASE) if texts else None


def text_redact(text: str, *, texts: Iterable[str]) -> str:
    """`text` with each of `texts` (any case) replaced by ERASED."""
    pattern = _pattern(texts)
    return pattern.sub(ERASED, text) if pattern and text else text


def json_redact(value: Any, *, texts: Iterable[str]) -> Any:
    """`value` (decoded JSON) with each of `texts` replaced in every string it holds, keys included."""
    pattern = _pattern(texts)
    if pattern is None:
        return value

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return pattern.sub(ERASED, item)
        if isinstance(item, list):
            return [walk(inner) for inner in item]
        if isinstance(item, dict):
            return {walk(key): walk(inner) for key, inner in item.items()}
        return item

    return walk(value)


def rows_mentioning(queryset: QuerySet, *, fields: Iterable[str], texts: Iterable[str]) -> QuerySet:
    """The rows of `queryset` where one of `fields` (texts or JSON, read as text) holds one of
    `texts`, in any case (none when there are no texts)."""
    fields, texts = list(fields), list(texts)
    if not texts:
        return queryset.none()
    casts = {f"_privacy_{field}": Cast(field, TextField()) for field in fields}
    found = Q()
    for name in casts:
        for text in texts:
            found |= Q(**{f"{name}__icontains": text})
    return queryset.annotate(**casts).filter(found)


def rows_redact(queryset: QuerySet, *, fields: Iterable[str], texts: Iterable[str]) -> int:
    """Replace `texts` in `fields` (texts or JSON) of the rows of `queryset`; the rows changed are
    saved (those fields only). How many."""
    fields, texts = list(fields), list(texts)
    changed = []
    for row in queryset.only("pk", *fields):
        touched = False
        for field in fields:
            value = getattr(row, field)
            redacted = (
                text_redact(value, texts=texts) if isinstance(value, str) else json_redact(value, texts=texts)
            )
            if redacted != value:
                setattr(row, field, redacted)
                touched = True
        if touched:
            changed.append(row)
    if changed:
        queryset.model.objects.bulk_update(changed, fields, batch_size=500)
    return len(changed)


def object_history_redact(*, obj: Model, fields: Iterable[str], object_repr: str) -> None:
    """The object's audit entries and admin history, its personal `fields` written ERASED (every
    value they held, not only the current one) and the object named `object_repr`."""
    content_type = ContentType.objects.get_for_model(obj)
    entries = AuditEntry.objects.filter(content_type=content_type, object_id=str(obj.pk))
    fields = set(fields)
    changed = []
    for entry in entries.only("pk", "before", "after", "object_repr"):
        entry.before = {key: ERASED if key in fields else value for key, value in entry.before.items()}
        entry.after = {key: ERASED if key in fields else value for key, value in entry.after.items()}
        entry.object_repr = object_repr
        changed.append(entry)
    AuditEntry.objects.bulk_update(changed, ["before", "after", "object_repr"], batch_size=500)
    LogEntry.objects.filter(content_type=content_type, object_id=str(obj.pk)).update(object_repr=object_repr)


# --- core's own part: the audit trail, the jobs, the admin's history --------------------------

_AUDIT_TEXTS = ["before", "after", "object_repr", "reason"]
_JOB_TEXTS = ["params", "errors", "message", "result_name"]
_LOG_TEXTS = ["object_repr", "change_message"]


def _audit_export(member: Model) -> dict:
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(member), object_id=str(member.pk)
    ).order_by("at", "pk")
    return {
        "audit": [
            {
                "at": entry.at.isoformat(),
                "action": entry.action,
                "by": entry.actor_label,
                "before": entry.before,
                "after": entry.after,
                "reason": entry.reason,
            }
            for entry in entries
        ]
    }


def _core_erase(member: Model, person: Person) -> None:
    for model, fields in ((AuditEntry, _AUDIT_TEXTS), (Job, _JOB_TEXTS), (LogEntry, _LOG_TEXTS)):
        found = rows_mentioning(model.objects.all(), fields=fields, texts=person.unique_texts)
        rows_redact(model.objects.filter(pk__in=found.values("pk")), fields=fields, texts=person.texts)


privacy_register(app="core", export=_audit_export, erase=_core_erase)
