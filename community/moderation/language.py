"""A light guess of a text's language (no Django): the language whose stopwords it uses most,
among those that ship a list (fr, en); none when no stopword decides."""

from __future__ import annotations

from functools import cache

from .lists import shipped, shipped_languages
from .normalise import fold


@cache
def _stopwords() -> dict[str, frozenset[str]]:
    sets = {
        language: frozenset(fold(w) for w in shipped(language).get("stopwords", ()))
        for language in shipped_languages()
    }
    # A word that is a stopword of two languages decides nothing.
    return {
        language: words - frozenset().union(*(o for k, o in sets.items() if k != language))
        for language, words in sets.items()
    }


def language_guess(text: str) -> str:
    """The language, "fr" or "en"; "" when the text's stopwords do not decide (none, a tie)."""
    counts = dict.fromkeys(_stopwords(), 0)
    for word in fold(text).replace("'", " ").replace("\u2019", " ").split():
        word = word.strip('.,;:!?"()«»…')
        for language, stopwords in _stopwords().items():
            if word in stopwords:
                counts[language] += 1
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return ""
    return ranked[0][0]
