"""An SMS's encoding and segments (`messaging.sms_encoding`), at every boundary, against the GSM
03.38 tables: 160/153 septets in GSM-7, 70/67 units in UCS-2, extension characters counting twice
and never split, surrogate pairs (emoji) two units and never split."""

from __future__ import annotations

import pytest

from messaging.sms_encoding import GSM7, GSM7_BASIC, GSM7_EXTENSION, UCS2, sms_fold, sms_measure


def test_the_tables_are_the_standard_ones():
    # 128 positions of the default alphabet, less the escape to the extension table.
    assert len(GSM7_BASIC) == 127
    assert GSM7_EXTENSION == frozenset("\f^{}\\[~]|€")
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("length", "segments"),
    [(0, 0), (1, 1), (159, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_boundaries(length, segments):
    measure = sms_measure("a" * length)
    assert (measure.encoding, measure.units, measure.segments) == (GSM7, length, segments)
    assert measure.per_segment == (160 if length <= 160 else 153)


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_boundaries(length, segments):
    measure = sms_measure("ê" * length)
    assert (measure.encoding, measure.units, measure.segments) == (UCS2, length, segments)
    assert measure.per_segment == (70 if length <= 70 else 67)


@pytest.mark.parametrize("character", sorted(GSM7_EXTENSION))
def test_an_extension_character_counts_twice(character):
    measure = sms_measure("a" * 158 + character)
    assert (measure.encoding, measure.units, measure.segments) == (GSM7, 160, 1)
    assert sms_measure("a" * 159 + character).segments == 2


def test_an_extension_character_at_a_part_boundary_starts_the_next_part():
    # 152 septets then "€" (2): 154 > 153, so the euro sign goes whole to the second part...
    assert sms_measure("a" * 152 + "€" + "a" * 8).units == 162
    assert sms_measure("a" * 152 + "€" + "a" * 151).segments == 2  # 152 | 2 + 151 = 153
    # ...which then has one septet less for the rest: 305 septets in 3 parts, not 2.
    assert sms_measure("a" * 152 + "€" + "a" * 152).units == 306
    assert sms_measure("a" * 152 + "€" + "a" * 152).segments == 3
    # Without the split across the boundary, 306 septets of single ones fit in 2.
    assert sms_measure("a" * 306).segments == 2


def test_an_emoji_is_ucs2_and_two_units():
    measure = sms_measure("Merci 🎉")
    assert (measure.encoding, measure.units, measure.segments) == (UCS2, 8, 1)
    assert measure.unicode_characters == ("🎉",)
    assert sms_measure("a" * 68 + "🎉").segments == 1  # 70 units
    assert sms_measure("a" * 69 + "🎉").segments == 2  # 71 units


def test_a_surrogate_pair_is_never_split_across_parts():
    # 66 units then an emoji (2): the emoji starts the second part, 66 | 2 + 66 = 68 > 67 -> 3.
    assert sms_measure("a" * 66 + "🎉" + "a" * 65).segments == 2
    assert sms_measure("a" * 66 + "🎉" + "a" * 66).segments == 3
    assert sms_measure("a" * 65 + "🎉" + "a" * 67).segments == 2  # 67 | 67


@pytest.mark.parametrize("text", ["é", "è", "à", "ù", "ì", "ò", "É", "Ç", "ä", "ñ", "ß", "Ø", "£", "¿"])
def test_these_accents_are_in_gsm7(text):
    assert sms_measure(f"Café {text}").encoding == GSM7


@pytest.mark.parametrize("text", ["ê", "â", "î", "ô", "û", "ë", "ï", "ç", "œ", "È", "À", "\u2019", "«"])
def test_these_are_not_and_make_the_text_ucs2(text):
    measure = sms_measure(f"Fête {text}")
    assert measure.encoding == UCS2
    assert text in measure.unicode_characters


def test_a_french_sms_with_an_accent_outside_gsm7():
    gsm = sms_measure("Vous avez gagné 200 points, à bientôt !".replace("ô", "o"))
    assert gsm.encoding == GSM7
    ucs = sms_measure("Vous avez gagné 200 points, à bientôt !")
    assert (ucs.encoding, ucs.unicode_characters) == (UCS2, ("ô",))
    assert ucs.units == len("Vous avez gagné 200 points, à bientôt !")


def test_newlines_are_one_septet():
    assert sms_measure("a\nb\r\nc").units == 6


def test_the_folds_give_gsm7_for_french_formatting():
    text = "Solde : 1\u202f250\u00a0points \u2013 l\u2019offre \u201cVIP\u201d\u2026"
    assert sms_measure(text).encoding == UCS2
    folded = sms_fold(text)
    assert folded == 'Solde : 1 250 points - l\'offre "VIP"...'
    assert sms_measure(folded).encoding == GSM7
    assert sms_fold("Fête €") == "Fête €"  # nothing else changes: ê still makes it UCS-2
