"""Stage 2, the programme: what recording events needs from the brand (settings, timezone, event
types, compiled rules, tiers, badges), compiled once per process and programme revision."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import tzinfo

from django.db import connection

from loyalty.engine import CompiledRule, rule_compile, rules_compile
from loyalty.models import Badge, EarningRule, EventType, ProgrammeSettings, Tier
from loyalty.selectors.programme import programme_settings
from loyalty.selectors.tiers import tiers_by_id
from tenants.selectors import brand_timezone, schema_current


@dataclass(frozen=True, slots=True)
class Programme:
    """What recording events needs from the brand, read once per call (or once per batch)."""

    settings: ProgrammeSettings
    tz: tzinfo
    event_types: frozenset[str]
    rules: dict[str, list[CompiledRule]]
    tiers: dict[int, Tier]  # by id
    badges: list[Badge]  # the brand's badges: the hooks ask nothing when none counts an event
    revision: tuple | None = None  # (ProgrammeRevision.revision, its table's oid) when compiled

    @property
    def tiers_exist(self) -> bool:
        return bool(self.tiers)


class ProgrammeToCheck(Exception):
    """The event was recorded with this process's compiled programme, which may be out of date:
    the member's lock query found another revision, or the input was refused (by an event type
    created since, say). The caller records it again with the current programme."""


# Per schema: the brand's live programme, with the revision it was compiled at (revision, oid of
# the revision table). The table's oid tells a brand dropped and created again under the same
# schema name from the one cached.
_PROGRAMMES: dict[str, Programme] = {}
_REVISION_SQL = "SELECT revision, 'loyalty_programmerevision'::regclass::oid FROM loyalty_programmerevision"


def programme_current() -> Programme:
    """The live programme of the current brand, compiled once per process and programme revision
    (`ProgrammeRevision`: triggers move it on every change), so a call asks one small query
    instead of four and compiles no rule. The timezone is the brand's, read per call."""
    revision = programme_revision()
    schema = schema_current()
    cached = _PROGRAMMES.get(schema)
    if cached is None or revision is None or cached.revision != revision:
        # The revision is read before the programme: a change committed in between is reloaded next time.
        cached = dataclasses.replace(programme_load(event_type=None), revision=revision)
        _PROGRAMMES[schema] = cached
    return dataclasses.replace(cached, tz=brand_timezone())


def programme_revision() -> tuple | None:
    """The brand's programme revision now, as `Programme.revision` holds it (one small query):
    what else a process caches per revision (messaging's triggers) is checked against it."""
    with connection.cursor() as cursor:
        cursor.execute(_REVISION_SQL)
        return cursor.fetchone()


def programme_revision_cached() -> tuple | None:
    """The revision of the programme this process last compiled for the current brand (no query):
    current for what an event recorded just now wrote, since recording checks it."""
    cached = _PROGRAMMES.get(schema_current())
    return None if cached is None else cached.revision


def programme_cached() -> Programme | None:
    """The programme this process last compiled for the current brand, unchecked (no query); None
    if there is none. The member's lock query checks its revision (`ProgrammeToCheck`)."""
    cached = _PROGRAMMES.get(schema_current())
    if cached is None or cached.revision is None:
        return None
    return dataclasses.replace(cached, tz=brand_timezone())


def programme_load(
    *, event_type: str | None, include_rule: EarningRule | None = None, inactive: bool = False
) -> Programme:
    """The programme as the database holds it now (the simulator's, uncached). With `event_type`,
    only what events of that type need; with `inactive`, inactive rules too (the simulator says
    why they did not apply); `include_rule` is compiled as if it were live."""
    rules = EarningRule.objects.all() if inactive else EarningRule.objects.filter(is_active=True)
    types = EventType.objects.all()
    if event_type is not None:
        rules, types = rules.filter(event_type=event_type), types.filter(code=event_type)
    compiled: dict[str, list[CompiledRule]] = {}
    for one in rules_compile(rule for rule in rules if include_rule is None or rule.pk != include_rule.pk):
        compiled.setdefault(one.rule.event_type, []).append(one)
    if include_rule is not None and include_rule.event_type == event_type:
        listed = compiled.setdefault(include_rule.event_type, [])
        listed.append(rule_compile(include_rule, force_active=True))
        listed.sort(key=lambda c: (c.rule.priority, c.rule.pk or 0))
    # A rule's event type exists (the backoffice keeps a type that rules use): no need to ask.
    known = {event_type} if event_type in compiled else set(types.values_list("code", flat=True))
    return Programme(
        settings=programme_settings(),
        tz=brand_timezone(),
        event_types=frozenset(known),
        rules=compiled,
        tiers=tiers_by_id(),
        badges=list(Badge.objects.filter(event_type=event_type) if event_type else Badge.objects.all()),
    )
