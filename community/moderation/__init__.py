"""The automatic moderation's pure core (no Django): does a text hold a listed word or a person's
name? Owned by the moderation part (README "Community > Moderation"); `community.services.moderation`
calls it with the brand's lists and the names found in its members and staff.

INTERIM version written with the models: exact words, lower case. The moderation part replaces it
(accents, capitals, repeated letters, simple obfuscations, the lists that ship) keeping
`text_check`'s signature."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    category: str  # a TermCategory value: "insult", "hate", "name"
    term: str  # the listed word or name that matched


@dataclass(frozen=True)
class Verdict:
    hits: tuple[Hit, ...]

    @property
    def held(self) -> bool:
        return bool(self.hits)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def text_check(
    text: str,
    *,
    terms: Mapping[str, Iterable[str]],
    names: Callable[[set[str]], Iterable[str]] = lambda candidates: (),
) -> Verdict:
    """The hits of `text`: `terms` maps a category to its words; `names(candidates)` answers which
    of the text's candidate words are names of the brand's people."""
    found = set(words(text))
    hits = [Hit(category, term) for category, listed in terms.items() for term in listed if term in found]
    hits += [Hit("name", name) for name in names(found)]
    return Verdict(tuple(hits))
