"""The word lists that ship (`wordlists/<language>.txt`, no Django): insults and hateful words that
hold a text, ordinary words that are also surnames, and the stopwords that guess a language."""

from __future__ import annotations

from functools import cache
from pathlib import Path

WORDLISTS = Path(__file__).with_name("wordlists")
SECTIONS = ("insult", "hate", "common", "stopwords")


@cache
def shipped_languages() -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in WORDLISTS.glob("*.txt")))


@cache
def shipped(language: str) -> dict[str, tuple[str, ...]]:
    """The sections of `language`'s list as written (each entry stripped), {} for another language."""
    path = WORDLISTS / f"{language}.txt"
    if language not in shipped_languages():
        return {}
    sections: dict[str, list[str]] = {section: [] for section in SECTIONS}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        if current is not None:
            current.append(line)
    return {section: tuple(entries) for section, entries in sections.items()}
