"""The moderation part of a member's GDPR export and erasure: nothing personal is kept in the
moderation's own tables. `ModerationTerm` holds the brand's words (a "name" word is one the brand
typed itself, not linked to any member) and `CommunitySettings` the brand's settings. What the
moderation writes on a member's text (`held_because`, which may quote a surname found in it, and the
rejection's reason and note) lives on that text's row: the part owning the text exports and erases
it with the text."""

from __future__ import annotations

from core.privacy import Person
from loyalty.models import Member


def export(member: Member) -> dict:
    """Nothing: no row of the moderation's tables belongs to a member."""
    return {}


def erase(member: Member, person: Person) -> None:
    """Nothing to erase here (see the module's docstring)."""
    return None
