"""The address block of a letter, as La Poste reads it through a window envelope (NF Z10-011).

A pure function from the parts of an address to its lines (no Django, no database). The rules kept:

- at most 6 lines (7 abroad, the country's name last), at most 38 characters each, spaces included,
  no blank line, nothing after the postcode and town line but the country;
- the order: (1) the recipient (a company's name, else the person), (2) the person at a company or
  a complement of the delivery point (apartment, floor, "chez"), (3) a complement of the building
  (entrance, building, residence), (4) number and street, (5) a lieu-dit or a special delivery
  service (BP, CS, TSA), (6) the postcode and the TOWN;
- no punctuation (commas, full stops, semicolons...), apostrophes and hyphens kept; lines 4 to 6 in
  capitals without accents (the norm asks it of the last line and recommends it of the three last);
- a line too long is shortened with La Poste's usual abbreviations (AVENUE → AV, SAINT → ST,
  BATIMENT → BAT ...); a name still too long is cut after a whole word; a street, a complement or a
  town that cannot fit is refused with an `InvalidInput` naming the field (cutting it would send
  the letter elsewhere).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.errors import InvalidInput

LINE_MAX = 38
LINES_MAX = 6
# A French town on the last line: 5 digits, a space, 32 characters at most.
TOWN_MAX = LINE_MAX - 6

# La Poste's abbreviations of street types and common words (its "liste des abréviations"), the
# longest first so that "GRANDE RUE" is tried before "RUE". Applied only to a line too long.
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("ZONE INDUSTRIELLE", "ZI"),
    ("ZONE ARTISANALE", "ZA"),
    ("ZONE D ACTIVITES", "ZA"),
    ("ZONE D'ACTIVITES", "ZA"),
    ("CENTRE COMMERCIAL", "CCAL"),
    ("AVENUE", "AV"),
    ("BOULEVARD", "BD"),
    ("FAUBOURG", "FG"),
    ("IMPASSE", "IMP"),
    ("CHEMIN", "CHE"),
    ("PLACE", "PL"),
    ("ROUTE", "RTE"),
    ("ALLEE", "ALL"),
    ("SQUARE", "SQ"),
    ("QUARTIER", "QUA"),
    ("RESIDENCE", "RES"),
    ("BATIMENT", "BAT"),
    ("IMMEUBLE", "IMM"),
    ("APPARTEMENT", "APP"),
    ("ESCALIER", "ESC"),
    ("ENTREE", "ENT"),
    ("ETAGE", "ETG"),
    ("LIEU DIT", "LD"),
    ("LIEU-DIT", "LD"),
    ("DOCTEUR", "DR"),
    ("GENERAL", "GAL"),
    ("MARECHAL", "MAL"),
    ("PRESIDENT", "PDT"),
    ("PROFESSEUR", "PR"),
    ("SAINTE", "STE"),
    ("SAINT", "ST"),
    ("GRANDE", "GDE"),
    ("GRAND", "GD"),
    ("NOTRE DAME", "ND"),
    ("SOUS", "S/"),
    ("SUR", "S/"),
)
_ABBREVIATIONS = tuple((re.compile(rf"\b{re.escape(word)}\b"), short) for word, short in ABBREVIATIONS)
# Special delivery services: after the street (line 5), not before it.
_DELIVERY_SERVICE = re.compile(r"^(BP|B\.P\.|CS|TSA|CEDEX|CIDEX|POSTE RESTANTE)\b", re.IGNORECASE)
_PUNCTUATION = re.compile(r"[,.;:!?\"«»()\[\]{}*_]+")
_SPACES = re.compile(r"\s+")
_FRENCH_POSTCODE = re.compile(r"^\d{5}$")
FRANCE = ("", "FR")


@dataclass(frozen=True)
class AddressParts:
    """What a member's row gives (every part optional but the street, postcode and town)."""

    company: str = ""
    name: str = ""
    delivery_point: str = ""  # line 2: apartment, floor, "chez ..."
    building: str = ""  # line 3: entrance, building, residence
    street: str = ""  # line 4: number and street
    locality: str = ""  # line 5: lieu-dit, BP, CS, TSA
    postcode: str = ""
    town: str = ""
    country: str = ""  # ISO 3166 alpha-2; empty or FR: France, no country line
    country_name: str = ""  # abroad: the country's name as it is printed (capitals)


def _clean(text: str) -> str:
    """One line's text: no punctuation, no line breaks or repeated spaces."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text or "")).strip()


def _capitals(text: str) -> str:
    """Upper case without accents (É → E, Œ → OE, ß → SS)."""
    text = text.upper().replace("Œ", "OE").replace("Æ", "AE").replace("ẞ", "SS")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).upper()


def _abbreviated(line: str, limit: int = LINE_MAX) -> str:
    """`line` shortened word by word with La Poste's abbreviations until it fits (capitals)."""
    for pattern, short in _ABBREVIATIONS:
        if len(line) <= limit:
            break
        line = pattern.sub(short, line)
    return _SPACES.sub(" ", line).strip()


def _cut(line: str, limit: int = LINE_MAX) -> str:
    """A name cut after its last whole word that fits (a single long word is cut at the limit)."""
    if len(line) <= limit:
        return line
    cut = line[: limit + 1].rsplit(" ", 1)[0]
    return cut if cut and len(cut) <= limit else line[:limit]


def _person(name: str) -> str:
    """A person's name that fits: the first names reduced to initials, then cut."""
    if len(name) <= LINE_MAX:
        return name
    words = name.split(" ")
    for index in range(len(words) - 1):
        words[index] = words[index][:1]
        shortened = " ".join(words)
        if len(shortened) <= LINE_MAX:
            return shortened
    return _cut(name)


def _fitted(text: str, *, field: str, label: str) -> str:
    """A line of the geographic part (capitals, abbreviated), or refused if it cannot fit."""
    line = _abbreviated(_capitals(text))
    if len(line) > LINE_MAX:
        raise InvalidInput(
            f"{label} is {len(line)} characters even abbreviated (“{line}”): an address line holds "
            f"{LINE_MAX} at most",
            field=field,
        )
    return line


def address_lines(parts: AddressParts) -> list[str]:
    """The lines of the address block, in La Poste's order (module docstring); `InvalidInput`
    naming the field when the address is incomplete or cannot fit."""
    company, name = _clean(parts.company), _clean(parts.name)
    street, postcode, town = _clean(parts.street), _clean(parts.postcode).upper(), _clean(parts.town)
    if not (company or name):
        raise InvalidInput("the recipient has no name nor company", field="name")
    if not street:
        raise InvalidInput("the address has no street", field="address_line1")
    if not postcode:
        raise InvalidInput("the address has no postcode", field="postal_code")
    if not town:
        raise InvalidInput("the address has no town", field="city")
    country = (parts.country or "").upper()
    in_france = country in FRANCE
    if in_france and not _FRENCH_POSTCODE.match(postcode):
        raise InvalidInput(f"“{postcode}” is not a French postcode (5 digits)", field="postal_code")

    lines: list[str] = []
    if company:
        lines.append(_cut(company))
    if name:
        lines.append(_person(name))
    for text, field, label in (
        (parts.delivery_point, "address_line2", "the delivery point"),
        (parts.building, "address_line2", "the building"),
        (parts.street, "address_line1", "the street"),
        (parts.locality, "address_line2", "the locality"),
    ):
        if _clean(text):
            lines.append(_fitted(_clean(text), field=field, label=label))

    town_room = TOWN_MAX if in_france else LINE_MAX - len(postcode) - 1
    town_line = _abbreviated(_capitals(town), town_room)
    if len(town_line) > town_room:
        raise InvalidInput(
            f"the town “{town_line}” does not fit beside its postcode within {LINE_MAX} characters",
            field="city",
        )
    lines.append(f"{postcode} {town_line}")
    limit = LINES_MAX
    if not in_france:
        country_line = _capitals(_clean(parts.country_name or country))
        if len(country_line) > LINE_MAX:
            raise InvalidInput(f"the country name is longer than {LINE_MAX} characters", field="country")
        lines.append(country_line)
        limit += 1
    if len(lines) > limit:
        raise InvalidInput(
            f"the address has {len(lines)} lines: a window envelope shows {limit} at most",
            field="address_line2",
        )
    return lines


def member_address_parts(
    *,
    company: str,
    first_name: str,
    last_name: str,
    address_line1: str,
    address_line2: str,
    postal_code: str,
    city: str,
    country: str,
    country_name: str = "",
) -> AddressParts:
    """A member's address fields as parts: `address_line2` is a delivery service (BP, CS, TSA,
    CEDEX...) placed after the street, or else a complement placed before it."""
    complement = _clean(address_line2)
    service = bool(_DELIVERY_SERVICE.match(complement))
    return AddressParts(
        company=company,
        name=f"{first_name} {last_name}".strip(),
        building="" if service else complement,
        street=address_line1,
        locality=complement if service else "",
        postcode=postal_code,
        town=city,
        country=country,
        country_name=country_name,
    )
