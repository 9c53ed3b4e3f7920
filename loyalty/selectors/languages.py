"""The member site's languages (README.md, Languages): those the brand offers, its default, and the
language of one member, used for their pages and for everything sent to them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.utils import translation

from loyalty.models import Member, ProgrammeSettings


@dataclass(frozen=True)
class SiteLanguages:
    offered: tuple[str, ...]
    default: str

    def pick(self, code: str | None) -> str | None:
        """`code` (or its base language: fr for fr-CA) if the site offers it, else None."""
        if not code:
            return None
        code = code.lower()
        for candidate in (code, code.split("-")[0]):
            if candidate in self.offered:
                return candidate
        return None


def site_languages() -> SiteLanguages:
    """The active brand's site languages and default (the programme settings)."""
    offered, default = ProgrammeSettings.objects.values_list("site_languages", "default_language").get(id=1)
    return SiteLanguages(offered=tuple(offered), default=default)


def member_language(*, member: Member, languages: SiteLanguages | None = None) -> str:
    """The language of everything shown or sent to `member`: theirs if the site offers it, else the
    site's default."""
    languages = languages or site_languages()
    return languages.pick(member.language) or languages.default


@contextmanager
def member_translation(*, member: Member) -> Iterator[str]:
    """Within the block, gettext and the formats (core.formats) speak `member`'s language:
    `with member_translation(member=m): render_to_string(...)`. Yields the language."""
    language = member_language(member=member)
    with translation.override(language):
        yield language
