"""The address block of a letter (NF Z10-011): at most 6 lines of 38 characters, in La Poste's order,
the postcode and TOWN last, no punctuation; too long is abbreviated, cut (names) or refused."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from messaging.letters.address import LINE_MAX, AddressParts, address_lines, member_address_parts


def _lines(**parts) -> list[str]:
    lines = address_lines(AddressParts(**parts))
    assert 2 <= len(lines) <= 7 and all(len(line) <= LINE_MAX for line in lines)
    return lines


def test_a_company_letter_in_la_postes_order_with_the_town_in_capitals():
    assert _lines(
        company="Tabac du Port",
        name="Camille Martin",
        building="Bâtiment B, entrée 2",
        street="12, rue de l'Église",
        locality="Lieu-dit Les Prés",
        postcode="29200",
        town="Brest",
    ) == [
        "Tabac du Port",
        "Camille Martin",
        "BATIMENT B ENTREE 2",
        "12 RUE DE L'EGLISE",
        "LIEU-DIT LES PRES",
        "29200 BREST",
    ]


def test_seven_lines_are_refused_naming_the_complement():
    with pytest.raises(InvalidInput) as refused:
        address_lines(
            AddressParts(
                company="Tabac du Port",
                name="Camille Martin",
                delivery_point="Chez Mme Durand",
                building="Bâtiment B",
                street="12 rue de l'Église",
                locality="Lieu-dit Les Prés",
                postcode="29200",
                town="Brest",
            )
        )
    assert refused.value.field == "address_line2" and "7 lines" in refused.value.message


def test_a_person_at_home_has_no_company_line_and_no_punctuation():
    assert _lines(name="M. Jean-Pierre Dupont", street="3 bis, av. Foch", postcode="75016", town="Paris") == [
        "M Jean-Pierre Dupont",
        "3 BIS AV FOCH",
        "75016 PARIS",
    ]


@pytest.mark.parametrize(
    ("street", "expected"),
    [
        # only the abbreviations that make it fit, the longest words first
        ("147 avenue du Maréchal de Lattre de Tassigny", "147 AV DU MAL DE LATTRE DE TASSIGNY"),
        ("12 boulevard du Général Leclerc de Hauteclocque", "12 BD DU GAL LECLERC DE HAUTECLOCQUE"),
        ("8 rue Grande", "8 RUE GRANDE"),
        ("Zone Industrielle du Grand Chemin Saint-Martin Nord", "ZI DU GRAND CHEMIN SAINT-MARTIN NORD"),
        ("5 chemin du Professeur Saint-Exupéry Prolongé", "5 CHE DU PR SAINT-EXUPERY PROLONGE"),
    ],
)
def test_a_long_street_is_abbreviated_the_la_poste_way(street, expected):
    line = _lines(name="A B", street=street, postcode="13001", town="Marseille")[1]
    assert line == expected


def test_a_street_that_cannot_fit_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as refused:
        address_lines(
            AddressParts(
                name="A B",
                street="1 rue des Anciens Combattants Volontaires Résistants",
                postcode="75001",
                town="Paris",
            )
        )
    assert refused.value.field == "address_line1" and "38" in refused.value.message


def test_a_long_town_is_abbreviated_then_refused():
    assert _lines(name="A B", street="1 rue X", postcode="69440", town="Saint-Laurent-d'Agny")[-1] == (
        "69440 SAINT-LAURENT-D'AGNY"
    )
    assert (
        _lines(name="A B", street="1 rue X", postcode="73440", town="Saint-Martin-de-Belleville sur Isère")[
            -1
        ]
        == "73440 ST-MARTIN-DE-BELLEVILLE S/ ISERE"
    )
    with pytest.raises(InvalidInput) as refused:
        address_lines(
            AddressParts(
                name="A B",
                street="1 rue X",
                postcode="12345",
                town="Communauté de Communes de la Vallée du Lot",
            )
        )
    assert refused.value.field == "city"


def test_long_names_are_cut_after_a_whole_word_or_reduced_to_initials():
    lines = _lines(
        company="Société Coopérative des Buralistes Indépendants du Finistère",
        name="Marie-Charlotte Alexandrine Duval-Montmorency",
        street="1 rue X",
        postcode="29000",
        town="Quimper",
    )
    assert lines[0] == "Société Coopérative des Buralistes"
    assert lines[1] == "M Alexandrine Duval-Montmorency"
    assert (
        _lines(
            name="Jean-Baptiste Alexandre Maximilien de La Tour-Saint-Ygest",
            street="1 rue X",
            postcode="29000",
            town="Quimper",
        )[0]
        == "J A Maximilien de La Tour-Saint-Ygest"
    )


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ({"street": "1 rue X", "postcode": "75001", "town": "Paris"}, "name"),
        ({"name": "A", "postcode": "75001", "town": "Paris"}, "address_line1"),
        ({"name": "A", "street": "1 rue X", "town": "Paris"}, "postal_code"),
        ({"name": "A", "street": "1 rue X", "postcode": "75001"}, "city"),
        ({"name": "A", "street": "1 rue X", "postcode": "7500", "town": "Paris"}, "postal_code"),
        ({"name": "A", "street": "1 rue X", "postcode": "75001", "town": "Paris", "country": "BE"}, None),
    ],
)
def test_missing_or_malformed_parts_name_their_field(parts, field):
    if field is None:  # a Belgian postcode: 4 digits, and the country's name last
        assert address_lines(AddressParts(**parts, country_name="Belgique"))[-2:] == [
            "75001 PARIS",
            "BELGIQUE",
        ]
        return
    with pytest.raises(InvalidInput) as refused:
        address_lines(AddressParts(**parts))
    assert refused.value.field == field


def test_a_member_delivery_service_goes_after_the_street_a_complement_before():
    with_bp = member_address_parts(
        company="Tabac du Port",
        first_name="",
        last_name="",
        address_line1="ZA de Kergaradec",
        address_line2="BP 42",
        postal_code="29806",
        city="Brest Cedex 9",
        country="FR",
    )
    assert address_lines(with_bp) == ["Tabac du Port", "ZA DE KERGARADEC", "BP 42", "29806 BREST CEDEX 9"]
    with_building = member_address_parts(
        company="",
        first_name="Camille",
        last_name="Martin",
        address_line1="4 place de la Mairie",
        address_line2="Résidence Les Tilleuls, bât. C",
        postal_code="44000",
        city="Nantes",
        country="",
    )
    assert address_lines(with_building) == [
        "Camille Martin",
        "RESIDENCE LES TILLEULS BAT C",
        "4 PLACE DE LA MAIRIE",
        "44000 NANTES",
    ]
