"""The community's settings and what the moderation reads."""

from __future__ import annotations

from community.models import CommunitySettings


def settings_get() -> CommunitySettings:
    """The brand's community settings: its row, or the defaults (unsaved) while none is saved."""
    return CommunitySettings.objects.filter(pk=1).first() or CommunitySettings(pk=1)
