"""`{% load community_challenges %}`: `{% challenges_progress member as items %}` the running
challenges the member takes part in, with their progress (the dashboard's card)."""

from __future__ import annotations

from django import template

from community.selectors.challenges import ChallengeProgress, challenges_for
from loyalty.models import Member

register = template.Library()


@register.simple_tag
def challenges_progress(member: Member | None) -> list[ChallengeProgress]:
    return challenges_for(member=member) if member is not None else []
