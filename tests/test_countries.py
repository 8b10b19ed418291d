"""Country and region recognition: every way a visitor may write a listed country."""

from __future__ import annotations

import pytest

from actions.countries import PlaceResolver

# (what the visitor wrote, ISO3 it must resolve to). Each row once as an NLU entity and once
# inside a sentence with no entity, as happens when the model misses the entity.
LISTED_VARIANTS = [
    ("Viet Nam", "VNM"),
    ("Vietnam", "VNM"),
    ("vietnam", "VNM"),
    ("DRC", "COD"),
    ("DR Congo", "COD"),
    ("Congo-Kinshasa", "COD"),
    ("Democratic Republic of the Congo", "COD"),
    ("democratic republic of congo", "COD"),
    ("Congo Brazzaville", "COG"),
    ("Congo-Brazzaville", "COG"),
    ("Republic of the Congo", "COG"),
    ("Laos", "LAO"),
    ("Lao PDR", "LAO"),
    ("Lao People's Democratic Republic", "LAO"),
    ("UK", "GBR"),
    ("the UK", "GBR"),
    ("Britain", "GBR"),
    ("Great Britain", "GBR"),
    ("United Kingdom", "GBR"),
    ("England", "GBR"),
    ("North Macedonia", "MKD"),
    ("Macedonia", "MKD"),
    ("Eswatini", "SWZ"),
    ("Swaziland", "SWZ"),
    ("Türkiye", "TUR"),
    ("Turkiye", "TUR"),
    ("Turkey", "TUR"),
    ("Kyrgyzstan", "KGZ"),
    ("Kirghizia", "KGZ"),
    ("Keyna", "KEN"),
    ("kenya", "KEN"),
    ("Ugnada", "UGA"),
    ("Philipines", "PHL"),
    ("Marocco", "MAR"),
    ("Cambodai", "KHM"),
    ("Indonesa", "IDN"),
    ("Tajikstan", "TJK"),
    ("Western Sahara", "ESH"),
    ("Niger", "NER"),
    ("Guinea-Bissau", "GNB"),
    ("South Africa", "ZAF"),
    ("Bosnia", "BIH"),
    ("Brunei", "BRN"),
    ("Sri Lanka", "LKA"),
]

NOT_LISTED = [
    ("Norway", "NOR"),
    ("France", "FRA"),
    ("USA", "USA"),
    ("Nigeria", "NGA"),
    ("Japan", "JPN"),
    ("Guinea", "GIN"),
    ("Côte d'Ivoire", "CIV"),
    ("Canada", "CAN"),
    ("South Sudan", "SSD"),
]

NOT_COUNTRIES = ["Narnia", "asdfgh", "<script>alert(1)</script>", "😀", "", "x" * 10_000]


@pytest.mark.parametrize(("written", "iso3"), LISTED_VARIANTS)
def test_listed_country_resolves_from_the_entity(places: PlaceResolver, written: str, iso3: str) -> None:
    [match] = places.countries(f"do you work in {written}?", [written])
    assert (match.iso3, match.is_listed) == (iso3, True)


@pytest.mark.parametrize(("written", "iso3"), LISTED_VARIANTS)
def test_listed_country_resolves_from_the_sentence(places: PlaceResolver, written: str, iso3: str) -> None:
    codes = [m.iso3 for m in places.countries(f"is the APT active in {written}?")]
    assert codes == [iso3]


@pytest.mark.parametrize(("written", "iso3"), NOT_LISTED)
def test_unlisted_country_is_not_claimed(places: PlaceResolver, written: str, iso3: str) -> None:
    [match] = places.countries(f"do you work in {written}", [written])
    assert match.iso3 == iso3
    assert not match.is_listed


@pytest.mark.parametrize("written", NOT_COUNTRIES)
def test_text_that_is_no_country_matches_nothing(places: PlaceResolver, written: str) -> None:
    assert places.countries(written, [written]) == []


def test_bare_congo_names_both_congos(places: PlaceResolver) -> None:
    assert {m.iso3 for m in places.countries("do you work in congo?", ["Congo"])} == {"COD", "COG"}
    assert {m.iso3 for m in places.countries("do you work in congo?")} == {"COD", "COG"}


def test_several_countries_in_one_message(places: PlaceResolver) -> None:
    matches = places.countries("Do you work in Viet Nam, Laos and the UK?", ["Viet Nam", "Laos"])
    assert [m.iso3 for m in matches] == ["VNM", "LAO", "GBR"]


def test_listed_country_is_named_by_its_current_name(places: PlaceResolver) -> None:
    [match] = places.countries("", ["Swaziland"])
    assert match.name.startswith("Eswatini")
    [match] = places.countries("", ["Macedonia"])
    assert match.name.startswith("North Macedonia")


def test_region_mention_is_not_a_country(places: PlaceResolver) -> None:
    assert places.countries("what about Asia?", ["Asia"]) == []


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("which countries in Central Asia?", "Central Asia"),
        ("what about in Asia?", "Asia"),
        ("countries in south-east asia", "South East Asia"),
        ("Southeast Asia", "South East Asia"),
        ("East Africa", "Eastern Africa"),
        ("west africa please", "Western Africa"),
        ("the Middle East", "Western Asia"),
        ("Latin America", "Americas"),
        ("in europe", "Europe"),
        ("Southern Europe", "Southern Europe"),
    ],
)
def test_region_or_subregion_is_found(places: PlaceResolver, text: str, place: str) -> None:
    found = places.place(text)
    assert found is not None and found.name == place


@pytest.mark.parametrize("text", ["hello", "North America", "Oceania", "x" * 10_000])
def test_unknown_region_is_not_guessed(places: PlaceResolver, text: str) -> None:
    assert places.place(text) is None


def test_region_entity_takes_precedence(places: PlaceResolver) -> None:
    found = places.place("and there?", ["Central Asia"])
    assert found is not None and found.name == "Central Asia"


def test_a_word_common_to_many_names_is_not_a_country(places: PlaceResolver) -> None:
    assert places.countries("", ["Republic"]) == []


@pytest.mark.parametrize("text", ["and Uganda?", "is Uganda on your list?", "can you work in Uganda"])
def test_common_words_are_not_read_as_country_codes(places: PlaceResolver, text: str) -> None:
    # The country library reads "and" as Andorra's code AND, "is" as ISL, "can" as CAN.
    assert [m.iso3 for m in places.countries(text)] == ["UGA"]
