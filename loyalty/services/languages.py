"""A member's language, chosen on the site (the language switcher, loyalty.languages)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput
from loyalty.models import Member
from loyalty.selectors.languages import site_languages


def member_language_set(*, member: Member, language: str) -> str:
    """Store `language`, one of the site's (README.md, Languages), as `member`'s; returns it."""
    code = site_languages().pick(language)
    if code is None:
        raise InvalidInput({"language": [f"'{language}' is not a language of this site"]})
    with transaction.atomic():
        Member.objects.filter(pk=member.pk).update(language=code, updated_at=timezone.now())
    member.language = code
    return code
