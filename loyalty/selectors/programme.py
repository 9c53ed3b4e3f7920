"""Reads of the programme settings: one row per brand schema, made by the loyalty migrations in the
brand template (so in every brand cloned from it); written by `loyalty.services.programme`."""

from __future__ import annotations

from loyalty.models import ProgrammeSettings


def programme_settings() -> ProgrammeSettings:
    """The active brand's programme settings; creates nothing."""
    return ProgrammeSettings.objects.get(id=1)
