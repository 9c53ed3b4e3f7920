"""What an SMS costs: its encoding (GSM-7 or UCS-2) and its number of segments (no Django in here).

A text made only of the GSM 03.38 default alphabet (3GPP TS 23.038, 6.2.1) and its extension
table is sent in GSM-7: 160 septets in one message, 153 per part of a longer one (7 septets go to
the concatenation header). An extension character (`^ { } \\ [ ~ ] | €` and form feed) is an escape
plus a septet, so it counts twice and never straddles two parts. Any other character (ê, ç, an
emoji...) sends the whole text in UCS-2: 70 UTF-16 code units in one message, 67 per part; a
character outside the Basic Multilingual Plane (most emoji) is a surrogate pair, two units, never
split either.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# The default alphabet, in table order (0x00-0x7F; 0x1B, the escape to the extension table, left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table's characters: each is sent as the escape and one septet.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# Characters outside GSM-7 that have a plain equivalent in it, replaced in an SMS before it is
# measured and sent: one of them would otherwise make the whole text UCS-2 (70 characters a
# segment instead of 160). French formatting brings the first two: numbers are grouped by a
# narrow no-break space (1 250), and a no-break space goes before "€".
GSM7_FOLDS = str.maketrans(
    {
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space
        "\u2009": " ",  # thin space
        "\u2018": "'",
        "\u2019": "'",  # the typographic apostrophe
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)

# (units in a single message, units per part of a concatenated one)
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class SmsMeasure:
    encoding: str  # GSM7 or UCS2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int  # 0 for an empty text
    per_segment: int  # what one segment holds for this text: 160 or 153, 70 or 67
    # The characters that made the text UCS-2 (empty in GSM-7), each once, in the order found.
    unicode_characters: tuple[str, ...] = ()


def _unit_count(character: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if character in GSM7_EXTENSION else 1
    return 2 if ord(character) > 0xFFFF else 1


def _parts(text: str, *, encoding: str, per_part: int) -> int:
    """Parts of `per_part` units, filled in order; a character that does not fit whole in what is
    left of a part starts the next one."""
    parts, used = 1, 0
    for character in text:
        size = _unit_count(character, encoding)
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts


def sms_fold(text: str) -> str:
    """`text` with the characters of `GSM7_FOLDS` replaced by their GSM-7 equivalents."""
    return text.translate(GSM7_FOLDS)


def sms_measure(text: str) -> SmsMeasure:
    """The encoding `text` is sent in, its length in that encoding's units, and its segments."""
    unicode_characters = tuple(
        dict.fromkeys(c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION)
    )
    encoding = UCS2 if unicode_characters else GSM7
    units = sum(_unit_count(character, encoding) for character in text)
    single, per_part = LIMITS[encoding]
    if units == 0:
        segments, per_segment = 0, single
    elif units <= single:
        segments, per_segment = 1, single
    else:
        segments, per_segment = _parts(text, encoding=encoding, per_part=per_part), per_part
    return SmsMeasure(
        encoding=encoding,
        units=units,
        segments=segments,
        per_segment=per_segment,
        unicode_characters=unicode_characters,
    )
