"""Places' names inside sentences (language/grammar.py): the article and the form after "in"
that a native writer uses, in English, French and Spanish.

Every country of the profile has its forms written out below, reviewed by hand; every other
country a visitor may name (all of country_converter's), every UN region and every region of
the knowledge base is checked against the rules: each form is one the language allows, and
each exception of the grammar data is a real name the rules alone would get wrong.
"""

from __future__ import annotations

import logging
from typing import Dict, List, Set

import country_converter
import pytest

from content.knowledge_languages import country_name, knowledge_in
from content.m49 import M49, m49
from language.grammar import GrammarError, parse_grammar, place_forms, place_grammar

logging.getLogger("country_converter").setLevel(logging.ERROR)

# (ISO3, English with its article, French with its article, French after "in", Spanish with its
# article, Spanish after "in"), for the names the profile shows in each language.
LISTED = [
    ("AGO", "Angola", "l'Angola", "en Angola", "Angola", "en Angola"),
    ("COD", "the Democratic Republic of the Congo", "le Congo-Kinshasa", "au Congo-Kinshasa",
     "la República Democrática del Congo", "en la República Democrática del Congo"),
    ("TCD", "Chad", "le Tchad", "au Tchad", "el Chad", "en el Chad"),
    ("COG", "the Republic of the Congo (Congo-Brazzaville)", "le Congo-Brazzaville", "au Congo-Brazzaville",
     "el Congo", "en el Congo"),
    ("MDG", "Madagascar", "Madagascar", "à Madagascar", "Madagascar", "en Madagascar"),
    ("MUS", "Mauritius", "Maurice", "à Maurice", "Mauricio", "en Mauricio"),
    ("UGA", "Uganda", "l'Ouganda", "en Ouganda", "Uganda", "en Uganda"),
    ("MOZ", "Mozambique", "le Mozambique", "au Mozambique", "Mozambique", "en Mozambique"),
    ("KEN", "Kenya", "le Kenya", "au Kenya", "Kenia", "en Kenia"),
    ("BDI", "Burundi", "le Burundi", "au Burundi", "Burundi", "en Burundi"),
    ("RWA", "Rwanda", "le Rwanda", "au Rwanda", "Ruanda", "en Ruanda"),
    ("ETH", "Ethiopia", "l'Éthiopie", "en Éthiopie", "Etiopía", "en Etiopía"),
    ("ERI", "Eritrea", "l'Érythrée", "en Érythrée", "Eritrea", "en Eritrea"),
    ("ZMB", "Zambia", "la Zambie", "en Zambie", "Zambia", "en Zambia"),
    ("EGY", "Egypt", "l'Égypte", "en Égypte", "Egipto", "en Egipto"),
    ("MAR", "Morocco", "le Maroc", "au Maroc", "Marruecos", "en Marruecos"),
    ("ESH", "Western Sahara", "le Sahara occidental", "au Sahara occidental", "el Sáhara Occidental",
     "en el Sáhara Occidental"),
    ("DZA", "Algeria", "l'Algérie", "en Algérie", "Argelia", "en Argelia"),
    ("SDN", "Sudan", "le Soudan", "au Soudan", "Sudán", "en Sudán"),
    ("ZAF", "South Africa", "l'Afrique du Sud", "en Afrique du Sud", "Sudáfrica", "en Sudáfrica"),
    ("SWZ", "Eswatini (listed in the source as Swaziland)", "l'Eswatini", "en Eswatini", "Esuatini",
     "en Esuatini"),
    ("BEN", "Benin", "le Bénin", "au Bénin", "Benín", "en Benín"),
    ("GMB", "the Gambia", "la Gambie", "en Gambie", "Gambia", "en Gambia"),
    ("GHA", "Ghana", "le Ghana", "au Ghana", "Ghana", "en Ghana"),
    ("SEN", "Senegal", "le Sénégal", "au Sénégal", "Senegal", "en Senegal"),
    ("TGO", "Togo", "le Togo", "au Togo", "Togo", "en Togo"),
    ("MRT", "Mauritania", "la Mauritanie", "en Mauritanie", "Mauritania", "en Mauritania"),
    ("NER", "Niger", "le Niger", "au Niger", "Níger", "en Níger"),
    ("SLE", "Sierra Leone", "la Sierra Leone", "en Sierra Leone", "Sierra Leona", "en Sierra Leona"),
    ("GNB", "Guinea-Bissau", "la Guinée-Bissau", "en Guinée-Bissau", "Guinea-Bisáu", "en Guinea-Bisáu"),
    ("EST", "Estonia", "l'Estonie", "en Estonie", "Estonia", "en Estonia"),
    ("LVA", "Latvia", "la Lettonie", "en Lettonie", "Letonia", "en Letonia"),
    ("LTU", "Lithuania", "la Lituanie", "en Lituanie", "Lituania", "en Lituania"),
    ("GBR", "the United Kingdom", "le Royaume-Uni", "au Royaume-Uni", "el Reino Unido", "en el Reino Unido"),
    ("DNK", "Denmark", "le Danemark", "au Danemark", "Dinamarca", "en Dinamarca"),
    ("MNE", "Montenegro", "le Monténégro", "au Monténégro", "Montenegro", "en Montenegro"),
    ("ESP", "Spain", "l'Espagne", "en Espagne", "España", "en España"),
    ("ALB", "Albania", "l'Albanie", "en Albanie", "Albania", "en Albania"),
    ("BIH", "Bosnia and Herzegovina", "la Bosnie-Herzégovine", "en Bosnie-Herzégovine",
     "Bosnia y Herzegovina", "en Bosnia y Herzegovina"),
    ("HRV", "Croatia", "la Croatie", "en Croatie", "Croacia", "en Croacia"),
    ("SRB", "Serbia", "la Serbie", "en Serbie", "Serbia", "en Serbia"),
    ("MKD", "North Macedonia (listed in the source as the former Yugoslav Republic of Macedonia)",
     "la Macédoine du Nord", "en Macédoine du Nord", "Macedonia del Norte", "en Macedonia del Norte"),
    ("KAZ", "Kazakhstan", "le Kazakhstan", "au Kazakhstan", "Kazajistán", "en Kazajistán"),
    ("KGZ", "Kyrgyzstan", "le Kirghizstan", "au Kirghizstan", "Kirguistán", "en Kirguistán"),
    ("TJK", "Tajikistan", "le Tadjikistan", "au Tadjikistan", "Tayikistán", "en Tayikistán"),
    ("MDV", "the Maldives", "les Maldives", "aux Maldives", "Maldivas", "en Maldivas"),
    ("NPL", "Nepal", "le Népal", "au Népal", "Nepal", "en Nepal"),
    ("AFG", "Afghanistan", "l'Afghanistan", "en Afghanistan", "Afganistán", "en Afganistán"),
    ("LKA", "Sri Lanka", "le Sri Lanka", "au Sri Lanka", "Sri Lanka", "en Sri Lanka"),
    ("KHM", "Cambodia", "le Cambodge", "au Cambodge", "Camboya", "en Camboya"),
    ("IDN", "Indonesia", "l'Indonésie", "en Indonésie", "Indonesia", "en Indonesia"),
    ("PHL", "the Philippines", "les Philippines", "aux Philippines", "Filipinas", "en Filipinas"),
    ("THA", "Thailand", "la Thaïlande", "en Thaïlande", "Tailandia", "en Tailandia"),
    ("LAO", "the Lao People's Democratic Republic (Laos)", "le Laos", "au Laos", "Laos", "en Laos"),
    ("BRN", "Brunei Darussalam", "le Brunei", "au Brunei", "Brunéi", "en Brunéi"),
    ("VNM", "Viet Nam", "le Viêt Nam", "au Viêt Nam", "Vietnam", "en Vietnam"),
    ("ARM", "Armenia", "l'Arménie", "en Arménie", "Armenia", "en Armenia"),
    ("BHR", "Bahrain", "Bahreïn", "à Bahreïn", "Baréin", "en Baréin"),
    ("GEO", "Georgia", "la Géorgie", "en Géorgie", "Georgia", "en Georgia"),
    ("JOR", "Jordan", "la Jordanie", "en Jordanie", "Jordania", "en Jordania"),
    ("LBN", "Lebanon", "le Liban", "au Liban", "el Líbano", "en el Líbano"),
    ("TUR", "Türkiye (Turkey)", "la Turquie", "en Turquie", "Turquía", "en Turquía"),
    ("YEM", "Yemen", "le Yémen", "au Yémen", "Yemen", "en Yemen"),
    ("AZE", "Azerbaijan", "l'Azerbaïdjan", "en Azerbaïdjan", "Azerbaiyán", "en Azerbaiyán"),
    ("IRQ", "Iraq", "l'Irak", "en Irak", "Irak", "en Irak"),
    ("CYP", "Cyprus", "Chypre", "à Chypre", "Chipre", "en Chipre"),
    ("CRI", "Costa Rica", "le Costa Rica", "au Costa Rica", "Costa Rica", "en Costa Rica"),
    ("HND", "Honduras", "le Honduras", "au Honduras", "Honduras", "en Honduras"),
    ("PAN", "Panama", "le Panama", "au Panama", "Panamá", "en Panamá"),
    ("GTM", "Guatemala", "le Guatemala", "au Guatemala", "Guatemala", "en Guatemala"),
    ("NIC", "Nicaragua", "le Nicaragua", "au Nicaragua", "Nicaragua", "en Nicaragua"),
    ("ARG", "Argentina", "l'Argentine", "en Argentine", "Argentina", "en Argentina"),
    ("BRA", "Brazil", "le Brésil", "au Brésil", "Brasil", "en Brasil"),
    ("CHL", "Chile", "le Chili", "au Chili", "Chile", "en Chile"),
    ("PRY", "Paraguay", "le Paraguay", "au Paraguay", "Paraguay", "en Paraguay"),
    ("URY", "Uruguay", "l'Uruguay", "en Uruguay", "Uruguay", "en Uruguay"),
    ("COL", "Colombia", "la Colombie", "en Colombie", "Colombia", "en Colombia"),
    ("ECU", "Ecuador", "l'Équateur", "en Équateur", "Ecuador", "en Ecuador"),
    ("PER", "Peru", "le Pérou", "au Pérou", "Perú", "en Perú"),
]  # fmt: skip

# What may stand before a name with its article, and after "in", in each language; a bare
# name (no article) is the name itself. Pairs: the article form and the "in" forms it allows.
ALLOWED = {
    "en": {"the ": ("in the ",), "": ("in ",)},
    "fr": {"le ": ("au ",), "la ": ("en ", "à la ", "dans la "), "l'": ("en ", "à l'", "dans l'"),
           "les ": ("aux ", "dans les "), "": ("à ", "en ", "dans ")},
    "es": {"el ": ("en el ",), "la ": ("en la ",), "los ": ("en los ",), "las ": ("en las ",), "": ("en ",)},
}  # fmt: skip


def _listed_labels(language: str) -> Dict[str, str]:
    return {country.iso3: country.label for country, _, _ in knowledge_in(language).listed_countries()}


def _every_name(language: str) -> Set[str]:
    """Every place name the assistant may put in a sentence in ``language``: each country's
    (the profile's or the CLDR's, and country_converter's in English), each UN region's and
    each of the knowledge base's regions, sub-regions and groups."""
    data = country_converter.CountryConverter().data
    names = {country_name(str(row.ISO3), language, str(row.name_short)) for row in data.itertuples()}
    names |= set(_listed_labels(language).values())
    names |= {M49.name(code, language) for code in m49().codes}
    kb = knowledge_in(language)
    names |= {place.label for place in kb.places()} | {place.name for place in kb.places()}
    names |= {group.name for group in kb.region_groups}
    return names


@pytest.mark.parametrize(("iso3", "en_the", "fr_the", "fr_in", "es_the", "es_in"), LISTED)
def test_every_listed_country_takes_the_reviewed_forms(
    iso3: str, en_the: str, fr_the: str, fr_in: str, es_the: str, es_in: str
) -> None:
    english, french, spanish = (place_forms(_listed_labels(lang)[iso3], lang) for lang in ("en", "fr", "es"))
    assert (english.the, english.in_) == (en_the, f"in {en_the}")
    assert (french.the, french.in_) == (fr_the, fr_in)
    assert (spanish.the, spanish.in_) == (es_the, es_in)


def test_the_reviewed_table_covers_every_listed_country() -> None:
    assert [row[0] for row in LISTED] == list(_listed_labels("en"))


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_every_place_name_takes_an_article_and_a_preposition_the_language_allows(language: str) -> None:
    wrong: List[str] = []
    for name in sorted(_every_name(language)):
        forms = place_forms(name, language)
        article = next(
            (a for a in sorted(ALLOWED[language], key=len, reverse=True) if forms.the == a + name), None
        )
        if article is None or not any(forms.in_ == p + name for p in ALLOWED[language][article]):
            wrong.append(f"{name}: {forms.the!r} / {forms.in_!r}")
    assert wrong == []


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_each_exception_is_a_real_name_the_rules_alone_get_wrong(language: str) -> None:
    grammar = place_grammar(language)
    names = {name.split(" (")[0] for name in _every_name(language)}
    stale = [name for name in grammar.exceptions if name not in names]
    assert stale == [], f"exceptions naming no place the assistant shows: {stale}"
    by_rules = {
        name: next(class_ for pattern, class_ in grammar.rules if pattern.search(name))
        for name in grammar.exceptions
    }
    useless = [name for name, class_ in grammar.exceptions.items() if by_rules[name] == class_]
    assert useless == [], f"exceptions the rules already get right: {useless}"


@pytest.mark.parametrize(
    ("language", "name", "the", "in_"),
    [
        # French: plural when the first word ends in -s or -x, l' before a vowel, feminine when
        # the first word ends in -e, masculine otherwise; islands take no article.
        ("fr", "Pays-Bas", "les Pays-Bas", "aux Pays-Bas"),
        ("fr", "États-Unis", "les États-Unis", "aux États-Unis"),
        ("fr", "Ouzbékistan", "l'Ouzbékistan", "en Ouzbékistan"),
        ("fr", "Corée du Sud", "la Corée du Sud", "en Corée du Sud"),
        ("fr", "Papouasie-Nouvelle-Guinée", "la Papouasie-Nouvelle-Guinée", "en Papouasie-Nouvelle-Guinée"),
        ("fr", "Japon", "le Japon", "au Japon"),
        ("fr", "Soudan du Sud", "le Soudan du Sud", "au Soudan du Sud"),
        ("fr", "Mexique", "le Mexique", "au Mexique"),
        ("fr", "Cuba", "Cuba", "à Cuba"),
        ("fr", "Israël", "Israël", "en Israël"),
        ("fr", "Grenade", "la Grenade", "à la Grenade"),
        ("fr", "Île de Man", "l'Île de Man", "à l'Île de Man"),
        ("fr", "Caraïbes", "les Caraïbes", "aux Caraïbes"),
        ("fr", "Moyen-Orient", "le Moyen-Orient", "au Moyen-Orient"),
        # Spanish: no article, but names made of a common noun take its article.
        ("es", "República Centroafricana", "la República Centroafricana", "en la República Centroafricana"),
        ("es", "Emiratos Árabes Unidos", "los Emiratos Árabes Unidos", "en los Emiratos Árabes Unidos"),
        ("es", "Islas Salomón", "las Islas Salomón", "en las Islas Salomón"),
        ("es", "El Salvador", "El Salvador", "en El Salvador"),
        ("es", "India", "la India", "en la India"),
        ("es", "Caribe", "el Caribe", "en el Caribe"),
        ("es", "Japón", "Japón", "en Japón"),
        # English: "the" before a common noun or a plural.
        ("en", "Central African Republic", "the Central African Republic", "in the Central African Republic"),
        ("en", "Bahamas", "the Bahamas", "in the Bahamas"),
        ("en", "Barbados", "Barbados", "in Barbados"),
        ("en", "the Americas", "the Americas", "in the Americas"),
        ("en", "Caribbean", "the Caribbean", "in the Caribbean"),
    ],
)
def test_rules_and_exceptions(language: str, name: str, the: str, in_: str) -> None:
    forms = place_forms(name, language)
    assert (forms.the, forms.in_) == (the, in_)


def test_a_name_is_read_without_its_parenthesis() -> None:
    assert place_forms("Myanmar (Birmanie)", "fr").in_ == "au Myanmar (Birmanie)"
    assert place_forms("Philippines (archipel)", "fr").in_ == "aux Philippines (archipel)"


MASCULINE = {"the": "le {name}", "in": "au {name}"}
FEMININE = {"the": "la {name}", "in": "en {name}"}


@pytest.mark.parametrize(
    ("grammar", "error"),
    [
        ({"classes": {"m": MASCULINE}, "rules": [{"pattern": "", "class": "f"}]}, "no class 'f'"),
        ({"classes": {"m": MASCULINE}, "rules": [{"pattern": "x", "class": "m"}]},
         'the last rule must have pattern ""'),
        ({"classes": {"m": {"the": "le", "in": "au {name}"}}, "rules": [{"pattern": "", "class": "m"}]},
         "must hold {name} once"),
        ({"classes": {"m": MASCULINE}, "rules": [{"pattern": "(", "class": "m"}]},
         "is not a regular expression"),
        ({"classes": {"m": MASCULINE}, "rules": [{"pattern": "", "class": "m"}],
          "exceptions": {"m": ["Chypre"], "x": ["Cuba"]}}, "no class 'x'"),
        ({"classes": {"m": MASCULINE, "f": FEMININE}, "rules": [{"pattern": "", "class": "m"}],
          "exceptions": {"m": ["Chypre"], "f": ["Chypre"]}}, "'Chypre' is an exception twice"),
    ],
)  # fmt: skip
def test_a_wrong_grammar_fails_naming_the_file_and_the_mistake(grammar: Dict, error: str) -> None:
    with pytest.raises(GrammarError, match="fr.yml: place_grammar") as raised:
        parse_grammar(grammar, "fr", "fr.yml")
    assert error in str(raised.value)
