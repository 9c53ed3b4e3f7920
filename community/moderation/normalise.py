"""How the automatic moderation reads a text (no Django): accents and capitals folded, letters
written spaced or dotted joined ("c.o.n.n.a.r.d"), leetspeak digits and symbols read as letters
("c0nn@rd"), words split at apostrophes and hyphens. `Token.word` is what the lists are compared
with; `Token.raw` and `Token.starts_sentence` are what the names rule reads (capitals)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "Œ": "OE", "Æ": "AE"})
# Digits and symbols written for letters; applied only inside a word that has letters ("2024" stays).
LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "€": "e",
        "!": "i",
        "|": "l",
    }
)
LEET_CHARS = "@$€!|"
# Single letters (or @, $) joined by dots, dashes or stars ("p.d", "c.o.n.n.a.r.d"), or four and
# more joined by spaces ("c o n n a r d"; "il y a" stays three words).
DOTTED = re.compile(r"(?<![\w@$])((?:[^\W_]|[@$])(?:[.\-_*·](?:[^\W_]|[@$]))+)(?![\w@$])")
SPACED = re.compile(r"(?<![\w@$])((?:[^\W\d_]|[@$])(?: (?:[^\W\d_]|[@$])){3,})(?![\w@$])")
CHUNK = re.compile(r"\S+")
PIECE_SPLIT = re.compile("['\u2019\u2018`\\-\u2013\u2014/]+")  # apostrophes, hyphens, dashes, slash
EDGE = re.compile(r"^[^\w@$€|]+|[^\w@$€|!]+$|!+$")
# Titles before a name, folded; their abbreviations with a full stop do not end a sentence.
TITLES = frozenset(
    {
        "m",
        "mme",
        "mlle",
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "pr",
        "me",
        "monsieur",
        "madame",
        "mademoiselle",
        "docteur",
        "maitre",
        "sir",
        "madam",
        "mister",
        "doctor",
    }
)
ABBREVIATIONS = frozenset({"m", "mme", "mlle", "mr", "mrs", "ms", "dr", "pr", "me", "st"})
SENTENCE_END = ".!?…:;\n"
RUN3 = re.compile(r"(.)\1{2,}")
RUN2 = re.compile(r"(.)\1+")


def fold(text: str) -> str:
    """Lower case without accents: "Bâtard" -> "batard", "Œuvre" -> "oeuvre"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(LIGATURES).casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def squeeze2(word: str) -> str:
    """Runs of three or more of a letter kept as two: "connnnard" -> "connard"."""
    return RUN3.sub(r"\1\1", word)


def squeeze1(word: str) -> str:
    """Every run of a letter kept as one: "connard" -> "conard"."""
    return RUN2.sub(r"\1", word)


def has_run3(word: str) -> bool:
    return RUN3.search(word) is not None


@dataclass(frozen=True)
class Token:
    word: str  # folded, de-obfuscated: what the lists are compared with
    raw: str  # as written (capitals kept)
    starts_sentence: bool


def _deobfuscate(piece: str) -> str:
    word = fold(piece)
    if any(char.isalpha() for char in word):
        word = word.translate(LEET)
    return "".join(char for char in word if char.isalnum())


def _ends_sentence(chunk: str) -> bool:
    """A chunk ending with a full stop (or ! ? : ;) ends its sentence, unless it is an initial or a
    title's abbreviation ("J.", "M.", "Mme.", "Dr.")."""
    chunk = chunk.rstrip("\"'»)]\u201d\u2019")
    if not chunk.endswith(tuple(SENTENCE_END)):
        return False
    if chunk.endswith("."):
        word = fold(chunk.rstrip("."))
        return not (len(word) == 1 or word in ABBREVIATIONS)
    return True


def tokens(text: str) -> list[Token]:
    """The text's words in order, read as the lists are written."""
    joined = DOTTED.sub(lambda match: re.sub(r"[.\-_*·]", "", match.group(1)), text)
    joined = SPACED.sub(lambda match: match.group(1).replace(" ", ""), joined)
    result: list[Token] = []
    sentence_start, previous_end = True, 0
    for chunk in CHUNK.finditer(joined):
        raw_chunk = chunk.group()
        if "\n" in joined[previous_end : chunk.start()]:
            sentence_start = True  # a new line (a list's item, a paragraph) begins a sentence
        previous_end = chunk.end()
        for piece in PIECE_SPLIT.split(raw_chunk):
            stripped = EDGE.sub("", piece)
            word = _deobfuscate(stripped) if stripped else ""
            if word:
                result.append(Token(word, stripped, sentence_start))
                sentence_start = False
        sentence_start = _ends_sentence(raw_chunk)
    return result


def capitalised(raw: str) -> bool:
    """Written as a name: "Petit" yes, "petit" and "PETIT" (a text in capitals) no."""
    letters = [char for char in raw if char.isalpha()]
    return (
        bool(letters)
        and letters[0].isupper()
        and not (len(letters) > 1 and all(c.isupper() for c in letters))
    )
