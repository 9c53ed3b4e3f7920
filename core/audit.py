"""The audit trail's one writer: `audit_record` stores who changed what, when, from where, and the
values before and after (`core.models.AuditEntry`, in the brand's schema).

Who, through what and from where come from the context, not from the callers:

- a backoffice or site request: `AuditContextMiddleware` keeps the request; its staff user and its
  client address (`core.lockout.client_ip`, which reads X-Forwarded-For behind
  `TRUSTED_PROXY_COUNT` proxies) are read when an entry is written;
- an API request: the same request carries the API key its authentication set (`request.auth`,
  `core.api.auth.ApiKeyAuthentication`), so the entry names the key;
- otherwise (a management command, a Celery task) "command" or "system", or what `audit_as(...)`
  says around the work.

Secrets never reach `before`/`after`: a field whose name says it holds one (passwords, API key
hashes, TOTP secrets and recovery codes, provider credentials and tokens, a prize draw's seed) is
written masked, with only whether it is set."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Model, Q
from django.db.models.fields.files import FieldFile
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from core.lockout import client_ip
from core.models import ApiKey, AuditEntry
from tenants.selectors import schema_current

MASK = "********"
_OBJECT_ACTIONS = {AuditEntry.Action.CREATE, AuditEntry.Action.CHANGE, AuditEntry.Action.DELETE}
# Field (or key) names that hold a secret: their values are never written, only whether one is set.
_SECRET_NAME = re.compile(r"password|secret|token|hash|credential|recovery|account_sid|seed", re.I)


@dataclass(frozen=True)
class AuditSource:
    """Who acts, through what, from where."""

    via: str
    actor: Any = None  # a user of the brand's schema, or None
    actor_label: str = ""
    ip: str | None = None


_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_source: ContextVar[AuditSource | None] = ContextVar("audit_source", default=None)
# The objects created, changed or deleted with an entry during the request (content type id, id):
# the backoffice's generic entry (core.admin_base) is not written again after a service's own.
_recorded: ContextVar[set[tuple[int, str]] | None] = ContextVar("audit_recorded", default=None)


class AuditContextMiddleware:
    """Keeps the request for the audit entries written while it is served (after the authentication
    middleware: its user is read when an entry is written, so a request that writes none costs
    nothing)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        recorded = _recorded.set(set())
        try:
            return self.get_response(request)
        finally:
            _recorded.reset(recorded)
            _request.reset(token)


@contextmanager
def audit_as(*, via: str, actor: Any = None, actor_label: str = "") -> Iterator[None]:
    """Entries written inside are by `actor` (or `actor_label`) through `via`, whatever the request:
    for commands and tasks that act for someone."""
    label = actor_label or (actor.get_username() if actor is not None else "")
    token = _source.set(AuditSource(via=via, actor=actor, actor_label=label))
    try:
        yield
    finally:
        _source.reset(token)


def _in_celery_task() -> bool:
    from celery import current_task

    return bool(current_task and current_task.request.id)


def audit_source() -> AuditSource:
    """Who is acting now, through what and from where (see the module's docstring)."""
    source = _source.get()
    if source is not None:
        return source
    request = _request.get()
    if request is None:
        return AuditSource(via=AuditEntry.Via.SYSTEM if _in_celery_task() else AuditEntry.Via.COMMAND)
    ip = client_ip(request)
    api_key = getattr(request, "auth", None)
    if isinstance(api_key, ApiKey):
        return AuditSource(
            via=AuditEntry.Via.API, actor_label=f"API key {api_key.name} ({api_key.prefix})", ip=ip
        )
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return AuditSource(via=AuditEntry.Via.BACKOFFICE, actor=user, actor_label=user.get_username(), ip=ip)
    return AuditSource(via=AuditEntry.Via.BACKOFFICE, ip=ip)


def audit_available() -> bool:
    """Whether the current schema holds an audit trail (a brand's; not the operator's public one)."""
    return schema_current() != get_public_schema_name()


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal | UUID | timedelta):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(item) for item in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def _masked(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if _SECRET_NAME.search(key):
            out[key] = MASK if value not in (None, "", {}, []) else ""
        elif isinstance(value, dict):
            out[key] = _masked(value)
        else:
            out[key] = value
    return out


def audit_snapshot(obj: Model, *, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The object's values by field name (its concrete fields but the "updated at" ones, and its
    many-to-many ids; or only `fields`), ready for `before`/`after`; foreign keys by id."""
    values: dict[str, Any] = {}
    opts = obj._meta
    names = set(fields) if fields is not None else None
    for field in opts.concrete_fields:
        if getattr(field, "auto_now", False):  # "updated at": the entry's own time says it
            continue
        if names is None or field.name in names:
            value = field.value_from_object(obj)
            if isinstance(field, models.DecimalField) and isinstance(value, Decimal | int):
                # As stored: 1500 set from a request is the 1500.00 read back.
                value = Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
            values[field.name] = _jsonable(value)
    if obj.pk is not None:
        for field in opts.many_to_many:
            if names is None or field.name in names:
                values[field.name] = sorted(
                    _jsonable(pk) for pk in getattr(obj, field.name).values_list("pk", flat=True)
                )
    return values


def audit_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, from two snapshots (a key missing from one side counts)."""
    keys = [key for key in {**before, **after} if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys if key in before}, {
        key: after.get(key) for key in keys if key in after
    }


def audit_record(
    *,
    action: str,
    obj: Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
    object_repr: str = "",
) -> AuditEntry:
    """Writes one entry for `obj` (or none: a change of the brand as a whole), by whoever acts now
    (`audit_source`). Call it inside the transaction of the change, so both land or neither."""
    if action not in AuditEntry.Action.values:
        raise ValueError(f"unknown audit action {action!r}")
    source = audit_source()
    actor = source.actor if getattr(source.actor, "pk", None) is not None else None
    content_type = None
    object_id = ""
    if obj is not None:
        content_type = ContentType.objects.get_for_model(obj)
        object_id = "" if obj.pk is None else str(obj.pk)
        object_repr = object_repr or str(obj)
    recorded = _recorded.get()
    if recorded is not None and content_type is not None and action in _OBJECT_ACTIONS:
        recorded.add((content_type.pk, object_id))
    return AuditEntry.objects.create(
        at=timezone.now(),
        actor=actor,
        actor_label=source.actor_label[: AuditEntry._meta.get_field("actor_label").max_length],
        via=source.via,
        ip=source.ip,
        action=action,
        content_type=content_type,
        object_id=object_id,
        object_repr=object_repr[: AuditEntry._meta.get_field("object_repr").max_length],
        before=_masked(_jsonable(before or {})),
        after=_masked(_jsonable(after or {})),
        reason=reason,
    )


def audit_saved(*, obj: Model, before: dict[str, Any] | None, reason: str = "") -> AuditEntry | None:
    """For a service's save: a creation (`before` None) with every value, or a change with the
    fields that differ from `before` (an `audit_snapshot` taken before the change); none if none do."""
    after = audit_snapshot(obj)
    if before is None:
        return audit_record(action=AuditEntry.Action.CREATE, obj=obj, after=after, reason=reason)
    old, new = audit_changes(before, after)
    if not (old or new):
        return None
    return audit_record(action=AuditEntry.Action.CHANGE, obj=obj, before=old, after=new, reason=reason)


def audit_deleting(*, obj: Model, reason: str = "") -> AuditEntry:
    """For a service's delete, called just before it in the same transaction: every value."""
    return audit_record(action=AuditEntry.Action.DELETE, obj=obj, before=audit_snapshot(obj), reason=reason)


def audit_recorded(*, obj: Model | None) -> bool:
    """Whether the object was created, changed or deleted with an entry during this request."""
    recorded = _recorded.get()
    if recorded is None or obj is None:
        return False
    return (ContentType.objects.get_for_model(obj).pk, str(obj.pk)) in recorded


def audit_entries_for(
    *, obj: Model, children: Iterable[tuple[type[Model], str]] = ()
) -> models.QuerySet[AuditEntry]:
    """The object's entries, and those of its rows in `children` (model, field pointing at the
    object: the rows it has now, and the ones created or deleted with it as their parent), newest
    first."""
    wanted = Q(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))
    for model, fk_name in children:
        ids = [str(pk) for pk in model._base_manager.filter(**{fk_name: obj.pk}).values_list("pk", flat=True)]
        parent = (
            Q(object_id__in=ids) | Q(**{f"before__{fk_name}": obj.pk}) | Q(**{f"after__{fk_name}": obj.pk})
        )
        wanted |= Q(content_type=ContentType.objects.get_for_model(model)) & parent
    return AuditEntry.objects.filter(wanted).select_related("actor", "content_type")


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def audit_entry_rows(*, entry: AuditEntry) -> list[tuple[str, str, str]]:
    """The entry's fields as (name, before, after) texts, named as their model names them."""
    model = entry.content_type.model_class() if entry.content_type is not None else None
    rows = []
    for key in dict.fromkeys([*entry.before, *entry.after]):
        try:
            name = str(getattr(model._meta.get_field(key), "verbose_name", key)) if model is not None else key
        except FieldDoesNotExist:
            name = key
        before = _shown(entry.before[key]) if key in entry.before else ""
        after = _shown(entry.after[key]) if key in entry.after else ""
        if before or after:  # an empty field of a new object says nothing
            rows.append((name, before, after))
    return rows
