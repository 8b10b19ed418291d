"""Country and region recognition: every way a visitor may write a listed country."""

from __future__ import annotations

from typing import Dict, List

import pytest

from actions.countries import Area, PlaceResolver
from content.knowledge import KnowledgeBase, Region, Subregion

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


# A country whose name holds another's, in the three languages; the model often tags only the
# shorter name ("Guinea"), which must not win over the whole one the visitor wrote.
NAMES_HOLDING_ANOTHER = [
    ("¿Trabajan en Guinea Ecuatorial?", "Guinea", "GNQ"),
    ("vous travaillez en Guinée équatoriale ?", "Guinée", "GNQ"),
    ("do you work in Equatorial Guinea", "Guinea", "GNQ"),
    ("perdón, quería decir Guinea-Bisáu", "Guinea", "GNB"),
    ("et en Guinée-Bissau ?", "Guinée", "GNB"),
    ("Guinea Bissau", "Guinea", "GNB"),
    ("Papua New Guinea?", "Guinea", "PNG"),
    ("¿y en Papúa Nueva Guinea?", "Guinea", "PNG"),
    ("any projects in South Sudan", "Sudan", "SSD"),
    ("¿trabajan en Sudán del Sur?", "Sudán", "SSD"),
]


@pytest.mark.parametrize(("text", "tagged", "iso3"), NAMES_HOLDING_ANOTHER)
def test_the_whole_name_wins_over_a_name_inside_it(
    places: PlaceResolver, text: str, tagged: str, iso3: str
) -> None:
    assert [m.iso3 for m in places.countries(text, [tagged])] == [iso3]
    assert [m.iso3 for m in places.countries(text)] == [iso3]


@pytest.mark.parametrize(
    ("text", "tagged", "iso3"),
    [
        ("¿Trabajan en Guinea Ecuatorial?", ["Guinea Ecuatorial"], "GNQ"),  # the whole name tagged
        ("vous travaillez en Guinée équatoriale ?", ["Guinée équatoriale"], "GNQ"),
        ("¿Trabajan en Guinea-Bisáu?", ["Guinea", "Bisáu"], "GNB"),  # tagged in two halves
    ],
)
def test_a_tagged_name_is_read_whole(places: PlaceResolver, text: str, tagged: List[str], iso3: str) -> None:
    assert [m.iso3 for m in places.countries(text, tagged)] == [iso3]


def test_a_shorter_name_elsewhere_in_the_message_is_kept(places: PlaceResolver) -> None:
    codes = [m.iso3 for m in places.countries("Guinea or Equatorial Guinea?", ["Guinea"])]
    assert codes == ["GIN", "GNQ"]


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
        ("latinoamericanos", "Americas"),
        ("in europe", "Europe"),
        ("Southern Europe", "Southern Europe"),
    ],
)
def test_region_or_subregion_is_found(places: PlaceResolver, text: str, place: str) -> None:
    found = places.place(text)
    assert found is not None and found.name == place


@pytest.mark.parametrize("text", ["hello", "Narnia", "the north of the country", "x" * 10_000])
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


# -- cities, former names, other names (GeoNames, country_converter, the CLDR, the knowledge base)

# (what the visitor wrote, the country it is in). Capitals and big cities in the three languages'
# spellings, former names of cities and countries, names no library has (knowledge base).
PLACES_NAMING_A_COUNTRY = [
    ("Is there an office in Nairobi?", "KEN"),
    ("we are a small group based in Ouagadougou", "BFA"),
    ("Travaillez-vous à Dacca ?", "BGD"),
    ("Nous sommes une association de Katmandou", "NPL"),
    ("¿Tienen proyectos en Katmandú?", "NPL"),
    ("what about Bombay", "IND"),
    ("and Leopoldville?", "COD"),
    ("¿Y en Rangún?", "MMR"),
    ("Et à Rangoun ?", "MMR"),
    ("our partners in Port-au-Prince", "HTI"),
    ("une ONG d'Abidjan", "CIV"),
    ("N'Djamena", "TCD"),
    ("Ceylon", "LKA"),
    ("Ceilán", "LKA"),
    ("Ceylan", "LKA"),
    ("Zaïre", "COD"),
    ("Burma", "MMR"),
    ("Birmanie", "MMR"),
    ("Birmania", "MMR"),
    ("Holland", "NLD"),
    ("Hollande", "NLD"),
    ("Dahomey", "BEN"),
    ("Escocia", "GBR"),
    ("¿Tienen socios en Ciudad del Cabo?", "ZAF"),  # a Spanish name made of common words
    ("Vous travaillez à Varsovie ?", "POL"),
]


@pytest.mark.parametrize(("text", "iso3"), PLACES_NAMING_A_COUNTRY)
def test_a_city_or_another_name_names_its_country(places: PlaceResolver, text: str, iso3: str) -> None:
    assert [m.iso3 for m in places.countries(text)] == [iso3]


@pytest.mark.parametrize(("mention", "iso3"), [("Lagos", "NGA"), ("lima", "PER"), ("kathmandu", "NPL")])
def test_a_city_the_model_tagged_is_read_even_in_lower_case(
    places: PlaceResolver, mention: str, iso3: str
) -> None:
    assert [m.iso3 for m in places.countries(f"do you work in {mention}", [mention])] == [iso3]


@pytest.mark.parametrize(
    "text",
    [
        "Nice to meet you",  # Nice, France: a common word at the start of a sentence
        "that is a nice list",
        "can you help a man in prison?",  # Man, Côte d'Ivoire
        "split the answer in two",  # Split, Croatia
        "¿cuál es el tema de la mesa redonda?",  # Tema, Ghana; Mesa, United States
        "trabajamos en resistencia a la tortura",  # Resistencia, Argentina
        "Do you work with the White House?",  # a nickname of Casablanca in GeoNames
        "what do you do in prisons",
    ],
)
def test_a_city_name_that_is_a_common_word_needs_evidence(places: PlaceResolver, text: str) -> None:
    assert places.countries(text) == []


@pytest.mark.parametrize(
    ("text", "iso3"),
    [
        ("we are based in Nice", "FRA"),
        ("Lima?", "PER"),
        ("¿Trabajan en Lagos?", "NGA"),
        ("and Split?", "HRV"),
    ],
)
def test_a_common_word_is_a_city_when_capitalised_inside_a_sentence_or_alone(
    places: PlaceResolver, text: str, iso3: str
) -> None:
    assert [m.iso3 for m in places.countries(text)] == [iso3]


def test_a_lower_case_city_is_never_read_as_a_misspelt_country(places: PlaceResolver) -> None:
    # "lagos" is one letter from "Laos": the typo tier would claim a listed country.
    assert places.countries("do you work in lagos") == []


def test_a_country_name_beats_a_city_of_the_same_name(places: PlaceResolver) -> None:
    # Armenia is also a city of Colombia, Guatemala a city of Guatemala, Kuwait of Kuwait.
    assert [m.iso3 for m in places.countries("do you work in Armenia?")] == ["ARM"]
    assert [m.iso3 for m in places.countries("Djibouti")] == ["DJI"]


def test_a_country_in_the_message_beats_a_city_in_it(places: PlaceResolver) -> None:
    assert [m.iso3 for m in places.countries("we are in Lagos but work in Benin")] == ["BEN"]


def test_a_name_shared_by_comparable_cities_names_each_country(places: PlaceResolver) -> None:
    assert {m.iso3 for m in places.countries("Valencia")} == {"ESP", "VEN"}
    assert [m.iso3 for m in places.countries("Hyderabad")] == ["IND"]  # Pakistan's is far smaller


def test_a_citys_own_name_beats_another_citys_alternate_name(places: PlaceResolver) -> None:
    # GeoNames lists "Islamabad" among the names of Chattogram (Bangladesh), a larger city.
    assert [m.iso3 for m in places.countries("Islamabad")] == ["PAK"]
    assert [m.iso3 for m in places.countries("une ONG d'Islamabad")] == ["PAK"]
    assert [m.iso3 for m in places.countries("what about Bombay")] == ["IND"]  # an alternate name still


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("Medio Oriente", "Western Asia"),
        ("Proche-Orient", "Western Asia"),
        ("sureste asiático", "South East Asia"),
        ("Europa del Este", "Eastern Europe"),
        ("América Latina", "Latin America"),
        ("East Asia", "Eastern Asia"),
        ("Lejano Oriente", "Eastern Asia"),
    ],
)
def test_other_names_of_regions_find_them(places: PlaceResolver, text: str, place: str) -> None:
    found = places.place(text)
    assert found is not None and place in (getattr(found, "name", ""), getattr(found, "label", ""))


def test_a_region_word_is_never_a_city(places: PlaceResolver) -> None:
    assert places.countries("what about Asia?") == []
    found = places.place("Do you work in Southeast Asia?")
    assert found is not None and found.name == "South East Asia"


# -- regions in the three languages: the CLDR's names of the UN's regions (M49) ----------------


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("Quels pays en Asie du Sud-Est ?", "South East Asia"),
        ("¿Qué países en Asia Meridional?", "South Asia"),
        ("Et en Afrique de l'Ouest ?", "Western Africa"),
        ("Afrique occidentale", "Western Africa"),
        ("countries in Southern Asia", "South Asia"),
        ("Middle Africa", "Central Africa"),
        ("África septentrional", "Northern Africa"),
        ("¿Y en Europa meridional?", "Southern Europe"),
        ("en el Sudeste asiático", "South East Asia"),
    ],
)
def test_un_region_names_find_the_profiles_own_place(places: PlaceResolver, text: str, place: str) -> None:
    found = places.place(text)
    assert isinstance(found, Region | Subregion) and found.name == place


@pytest.mark.parametrize(
    ("text", "key", "listed"),
    [
        ("Which countries in the Caribbean?", "029", []),
        ("Et aux Caraïbes ?", "029", []),
        ("¿Trabajan en el Caribe?", "029", []),
        ("Oceania", "009", []),
        ("Europe de l'Est", "151", []),
        ("Asia oriental", "030", []),
        ("North America", "003", []),
        ("Latin America", "419", ["Central America", "South America"]),
        ("Amérique latine", "419", ["Central America", "South America"]),
        ("Latinoamérica", "419", ["Central America", "South America"]),
        (
            "Sub-Saharan Africa",
            "202",
            ["Central Africa", "Eastern Africa", "Southern Africa", "Western Africa"],
        ),
        (
            "Afrique subsaharienne",
            "202",
            ["Central Africa", "Eastern Africa", "Southern Africa", "Western Africa"],
        ),
        ("MENA", "mena", ["Northern Africa", "Western Asia"]),
        ("Moyen-Orient et Afrique du Nord", "mena", ["Northern Africa", "Western Asia"]),
    ],
)
def test_other_regions_are_areas_with_the_profiles_subregions_inside(
    places: PlaceResolver, knowledge: KnowledgeBase, text: str, key: str, listed: List[str]
) -> None:
    found = places.place(text)
    assert isinstance(found, Area) and found.key == key
    assert [sub.name for sub in found.subregions_in(knowledge)] == listed


@pytest.mark.parametrize(
    ("text", "key", "listed"),
    [
        ("do you work in the Sahel?", "sahel",
         {"Central Africa": ["TCD"], "Western Africa": ["GMB", "SEN", "MRT", "NER"]}),
        ("vous êtes présents au Maghreb ?", "maghreb",
         {"Northern Africa": ["MAR", "DZA"], "Western Africa": ["MRT"]}),
        ("¿y en el Cuerno de África?", "horn_of_africa", {"Eastern Africa": ["ETH", "ERI"]}),
        ("anything in the Caucasus", "south_caucasus", {"Western Asia": ["ARM", "GEO", "AZE"]}),
        ("¿trabajan en el Cono Sur?", "southern_cone", {"South America": ["ARG", "CHL", "PRY", "URY"]}),
        ("et dans les pays andins ?", "andean", {"South America": ["COL", "ECU", "PER"]}),
        ("are you in Scandinavia", "scandinavia", {"Northern Europe": ["DNK"]}),
    ],
)  # fmt: skip
def test_a_region_made_of_countries_lists_only_the_profiles_countries_in_it(
    places: PlaceResolver, knowledge: KnowledgeBase, text: str, key: str, listed: Dict[str, List[str]]
) -> None:
    found = places.place(text)
    assert isinstance(found, Area) and found.key == key
    subregions = found.subregions_in(knowledge)
    assert {sub.name: [c.iso3 for c in sub.countries] for sub in subregions} == listed


@pytest.mark.parametrize(
    ("text", "tagged", "name"),
    [
        ("I mean Central Asia only", ["Asia"], "Central Asia"),
        ("¿y en Asia Central?", ["Asia"], "Central Asia"),
        ("the Horn of Africa", ["Africa"], "the Horn of Africa"),
        ("which countries in Asia", ["Asia"], "Asia"),
    ],
)
def test_a_tagged_region_inside_a_longer_name_is_read_whole(
    places: PlaceResolver, text: str, tagged: List[str], name: str
) -> None:
    found = places.place(text, tagged)
    assert found is not None and found.name == name


def test_a_region_made_of_countries_leaves_the_profile_as_it_is(
    places: PlaceResolver, knowledge: KnowledgeBase
) -> None:
    sahel = places.place("the Sahel")
    assert isinstance(sahel, Area)
    sahel.subregions_in(knowledge)
    western = next(sub for region in knowledge.regions for sub in region.subregions if sub.m49 == "011")
    assert "BEN" in [country.iso3 for country in western.countries]  # not in the Sahel, still listed


# -- adjectives of nationality -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso3"),
    [
        ("We are a Kenyan NGO", "KEN"),  # country_converter's expressions
        ("une ONG sénégalaise", "SEN"),
        ("una ONG peruana", "PER"),
        ("nous sommes une association malgache", "MDG"),  # the knowledge base's `adjectives`
        ("des juristes tchadiennes", "TCD"),
        ("somos abogadas hondureñas", "HND"),
        ("una fundación marroquí", "MAR"),
        ("un collectif libanais", "LBN"),
        ("a Cypriot foundation", "CYP"),
        ("una red ugandesa de abogados", "UGA"),
        ("une ONG britannique", "GBR"),
    ],
)
def test_an_adjective_of_nationality_names_its_country(places: PlaceResolver, text: str, iso3: str) -> None:
    assert [m.iso3 for m in places.countries(text)] == [iso3]


def test_an_adjective_shared_by_two_countries_names_both(places: PlaceResolver) -> None:
    assert {m.iso3 for m in places.countries("une ONG congolaise")} == {"COD", "COG"}


def test_an_adjective_is_never_read_as_a_typo(places: PlaceResolver) -> None:
    # "turno" is one letter from the adjective "turco" (Turkish).
    assert places.countries("¿cuál es el turno de noche?") == []
    # ... but a name that is also a form of an adjective ("Indonesia", feminine of
    # "indonesio") is still found with a typo.
    assert [m.iso3 for m in places.countries("do you work in Indonesa")] == ["IDN"]
