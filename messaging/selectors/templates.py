"""Reads of the brand's message templates and channel settings; they create nothing."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from loyalty.selectors.programme import programme_settings
from messaging.models import ChannelSettings, MessageTemplate


def channel_settings_get() -> ChannelSettings:
    """The brand's channel settings; the defaults (development outbox) when none were saved."""
    return ChannelSettings.objects.filter(id=1).first() or ChannelSettings()


def templates_list(*, channel: str | None = None) -> QuerySet[MessageTemplate]:
    rows = MessageTemplate.objects.all()
    return rows.filter(channel=channel) if channel else rows


def template_pick(*, code: str, channel: str, language: str) -> MessageTemplate | None:
    """The template `code` on `channel` in `language`; else in the programme's default language;
    else in any language it exists in."""
    default = programme_settings().default_language
    order = Case(
        When(language=language, then=Value(0)),
        When(language=default, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        MessageTemplate.objects.filter(code=code, channel=channel)
        .annotate(rank=order)
        .order_by("rank", "language")
        .first()
    )
