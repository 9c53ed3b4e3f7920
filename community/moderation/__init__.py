"""The automatic moderation's pure core (no Django; README "Community > Moderation"): does a text
hold a listed word or a person's name? `community.services.moderation` calls `text_check` with the
brand's own words and a lookup of the names of its members and staff.

How a text is read (`normalise`): accents and capitals folded, letters spaced or dotted joined,
leetspeak read as letters, repeated letters ("connnnard") matched; a listed word matches whole
words only ("Scunthorpe", "concert" and "cone" hold nothing), an expression matches its words in a
row, a plural's "s" is taken off. Lists (`lists`): the insults of the text's language, the hateful
words of every language that ships, the brand's words; `allowed` ones are taken out.

Names: `names(candidates)` answers which candidate words (and pairs of words, for "Le Gall") are
surnames of the brand's people. A surname that is also an ordinary word of the text's language (the
list's [common] section and its stopwords: "Petit", "Blanc", "Brown") holds the text only when
written as a name: capitalised where a sentence does not begin ("le vendeur Petit", "Jean Petit"),
or after a title ("M. petit", "Mme Blanc", "Mr Brown")."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from .lists import shipped, shipped_languages
from .normalise import TITLES, Token, capitalised, fold, has_run3, squeeze1, squeeze2, tokens

NAME_MIN_LENGTH = 3
CANDIDATES_MAX = 600  # distinct words (and pairs) of one text looked up as names


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
    """The text's words as the lists are compared with them."""
    return [token.word for token in tokens(text)]


def _forms(word: str) -> set[str]:
    """What a written word may stand for: itself, repeated letters kept to two, without a plural's
    "s"/"es"."""
    forms = {word, squeeze2(word)}
    for form in list(forms):
        if len(form) > 3 and form.endswith("s"):
            forms.add(form[:-1])
            if form.endswith("es"):
                forms.add(form[:-2])
    return forms


@dataclass(frozen=True)
class _Read:
    """A written word's forms, computed once per text."""

    forms: frozenset[str]
    loose: frozenset[str]  # "cooonnaaard": letters repeated thrice may stand for one or two

    @classmethod
    def of(cls, word: str) -> _Read:
        forms = frozenset(_forms(word))
        loose = frozenset(squeeze1(form) for form in forms) if has_run3(word) else frozenset()
        return cls(forms, loose)

    def matches(self, entry_word: str) -> bool:
        return entry_word in self.forms or (bool(self.loose) and squeeze1(entry_word) in self.loose)


@cache
def entry_words(entry: str) -> tuple[str, ...]:
    return tuple(words(entry))


def listed_terms(language: str) -> dict[str, list[str]]:
    """The shipped lists that apply to a text in `language`: its insults, every language's hate."""
    terms: dict[str, list[str]] = {"insult": list(shipped(language).get("insult", ()))}
    terms["hate"] = [entry for other in shipped_languages() for entry in shipped(other).get("hate", ())]
    return terms


def common_words(language: str) -> frozenset[str]:
    sections = shipped(language)
    return frozenset(fold(word) for key in ("common", "stopwords") for word in sections.get(key, ()))


def _find_terms(
    found: list[Token], terms: Mapping[str, Iterable[str]], allowed: set[tuple[str, ...]]
) -> list[Hit]:
    read = [_Read.of(token.word) for token in found]
    hits: list[Hit] = []
    for category, listed in terms.items():
        for entry in dict.fromkeys(listed):
            expression = entry_words(entry)
            if not expression or expression in allowed:
                continue
            size = len(expression)
            for start in range(len(found) - size + 1):
                if all(read[start + i].matches(word) for i, word in enumerate(expression)):
                    hits.append(Hit(category, " ".join(expression)))
                    break
    return hits


def name_candidates(found: list[Token]) -> set[str]:
    """The words (and pairs of words, spaced or hyphenated) of a text that may be surnames, as
    `names` is asked: folded, and in lower case as written when that differs ("lefèvre"), so a
    lookup by the lower-cased name finds both."""
    single: list[str] = []
    for token in found:
        if len(token.word) >= NAME_MIN_LENGTH and not token.word.isdigit():
            single += [token.word, token.raw.lower()]
    pairs: list[str] = []
    for a, b in pairwise(found):
        if a.word.isalpha() and b.word.isalpha():
            raw = (a.raw.lower(), b.raw.lower())
            pairs += [f"{a.word} {b.word}", " ".join(raw), "-".join(raw)]  # "le gall", "dupuis-morel"
    return set(list(dict.fromkeys(single + pairs))[:CANDIDATES_MAX])


def _written_as_name(found: list[Token], name: str) -> bool:
    for index, token in enumerate(found):
        if token.word != name:
            continue
        previous = found[index - 1] if index else None
        if previous is not None and previous.word in TITLES and (previous.word != "m" or previous.raw == "M"):
            return True
        if capitalised(token.raw) and not token.starts_sentence:
            return True
    return False


def text_check(
    text: str,
    *,
    terms: Mapping[str, Iterable[str]],
    names: Callable[[set[str]], Iterable[str]] = lambda candidates: (),
    allowed: Iterable[str] = (),
    language: str = "",
) -> Verdict:
    """The hits of `text`: `terms` maps a category to its words or expressions (callers pass
    `listed_terms(language)` and the brand's own); `names(candidates)` answers which candidate words
    are surnames of the brand's people; `allowed` words or names never hold; `language` says which
    ordinary words a surname must be written as a name to hold."""
    found = tokens(text)
    allowed_words = {entry_words(entry) for entry in allowed}
    hits = _find_terms(found, terms, allowed_words)
    common = common_words(language)
    for name in sorted(set(names(name_candidates(found)))):
        name = " ".join(words(name))
        if (name,) in allowed_words or tuple(name.split()) in allowed_words:
            continue
        if " " not in name and name in common and not _written_as_name(found, name):
            continue
        hits.append(Hit("name", name))
    return Verdict(tuple(dict.fromkeys(hits)))
