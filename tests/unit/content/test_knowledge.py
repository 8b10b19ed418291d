"""The knowledge base: the real file is complete, and a broken one fails with a message
that names the file, the entry and the field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from actions.countries import PlaceResolver
from apt_settings import settings
from content.knowledge import KnowledgeBase, KnowledgeBaseError, read_knowledge_base
from content.m49 import M49, M49Error, m49, read_m49

RAW = yaml.safe_load(settings().knowledge_base.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "apt.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def broken(tmp_path: Path, change) -> str:
    data = copy.deepcopy(RAW)
    change(data)
    with pytest.raises(KnowledgeBaseError) as error:
        read_knowledge_base(write(tmp_path, data))
    return str(error.value)


def test_profile_structure_matches_the_source(knowledge: KnowledgeBase) -> None:
    counts = {region.name: len(region.countries) for region in knowledge.regions}
    assert counts == {"Africa": 30, "Europe": 12, "Asia": 24, "Americas": 13}
    assert [s.name for s in knowledge.regions[2].subregions] == [
        "Central Asia",
        "South Asia",
        "South East Asia",
        "Western Asia",
    ]
    assert [o.title for o in knowledge.objectives] == [
        "Transparency in institutions",
        "Effective legal frameworks",
        "Capacity strengthening",
    ]
    assert [a.id for a in knowledge.activities] == ["legal_instruments", "advocacy", "capacity", "tools"]
    assert [c.role for c in knowledge.contacts] == ["Secretary General", "Fundraising Officer"]


def test_missing_field_names_file_entry_and_field(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["regions"][0]["subregions"][1]["countries"][2].pop("iso3"))
    assert "apt.yml" in message
    assert "regions[0] (Africa) > subregions[1] (Eastern Africa) > countries[2] (Uganda)" in message
    assert "field 'iso3'" in message


def test_empty_text_is_rejected(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["contacts"][1].update(role=" "))
    assert "contacts[1] (Vincent Ploton)" in message and "field 'role'" in message


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["partners"][0].update(website="x"))
    assert "partners[0] (United Nations)" in message and "field 'website'" in message


def test_missing_section_is_rejected(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d.pop("cinat"))
    assert "field 'cinat'" in message


def test_country_listed_twice_is_rejected(tmp_path: Path) -> None:
    def duplicate(data: dict) -> None:
        data["regions"][1]["subregions"][0]["countries"].append({"name": "Kenya", "iso3": "KEN"})

    message = broken(tmp_path, duplicate)
    assert "KEN" in message and "listed twice" in message


def test_malformed_iso_code_is_rejected(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["regions"][3]["subregions"][1]["countries"][0].update(iso3="ar"))
    assert "countries[0] (Argentina)" in message and "field 'iso3'" in message


def test_unknown_iso_code_is_rejected_by_the_loader(tmp_path: Path) -> None:
    """The loader checks the codes itself, so `python -m content.knowledge` rejects what the
    action server would reject."""
    message = broken(tmp_path, lambda d: d["regions"][3]["subregions"][1]["countries"][0].update(iso3="XYZ"))
    assert "apt.yml" in message
    assert "regions[3] (Americas) > subregions[1] (South America) > countries[0] (Argentina)" in message
    assert "field 'iso3'" in message and "'XYZ' is not an ISO 3166 alpha-3 code" in message


def test_every_listed_code_is_one_the_resolver_knows(knowledge: KnowledgeBase, places: PlaceResolver) -> None:
    for country, _, _ in knowledge.listed_countries():
        match = places.by_code(country.iso3)
        assert match is not None and match.is_listed, country.name


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "apt.yml"
    path.write_text("regions: [unclosed", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="apt.yml: not valid YAML"):
        read_knowledge_base(path)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="missing.yml: cannot read"):
        read_knowledge_base(tmp_path / "missing.yml")


def test_non_mapping_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="expected a mapping"):
        read_knowledge_base(write(tmp_path, ["a", "list"]))


# -- the UN regions (M49) the places name, other names, groups ------------------------------------


def test_unknown_m49_code_is_rejected(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["regions"][0]["subregions"][1].update(m49="999"))
    assert "regions[0] (Africa) > subregions[1] (Eastern Africa), field 'm49'" in message
    assert "'999' is not a region of content/knowledge/m49.yml" in message


def test_a_subregion_outside_its_regions_code_is_rejected(tmp_path: Path) -> None:
    # South East Asia's code under Africa.
    message = broken(tmp_path, lambda d: d["regions"][0]["subregions"][1].update(m49="035"))
    assert "sub-region 'Eastern Africa' (035) is not part of M49 region 002" in message


def test_other_names_of_a_listed_country_belong_in_its_aliases(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["other_country_names"].append({"iso3": "KEN", "names": ["Kenia"]}))
    assert "KEN is listed: its other names belong in its own aliases" in message


def test_a_region_group_names_known_m49_codes(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["region_groups"][0]["m49"].append("998"))
    assert "region_groups[0] (MENA region (Middle East and North Africa)) > m49[2]" in message
    assert "'998' is not a region of content/knowledge/m49.yml" in message


def test_a_region_group_is_made_of_m49_regions_or_of_known_countries_not_both(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["region_groups"][0].update(countries=["KEN"]))
    assert "either the M49 regions (m49) or the countries (countries), not both" in message
    message = broken(tmp_path, lambda d: d["region_groups"][1]["countries"].append("XXX"))
    assert "'XXX' is not an ISO 3166 alpha-3 code" in message


def test_the_m49_table_names_only_codes_the_cldr_knows() -> None:
    with pytest.raises(M49Error, match="region 002: '777' is not an M49 code the CLDR names"):
        M49({"002": ["015", "777"]})


def test_a_region_made_of_itself_is_rejected() -> None:
    with pytest.raises(M49Error, match="made of itself"):
        M49({"002": ["202"], "202": ["002"]})


def test_an_unreadable_m49_table_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m49.yml"
    path.write_text("regions: [1, 2]\n", encoding="utf-8")
    with pytest.raises(M49Error, match="m49.yml: expected 'regions:'"):
        read_m49(path)


def test_other_names_of_a_region_are_checked_and_matched_after_the_cldrs() -> None:
    with pytest.raises(M49Error, match="aliases: '777' is not one of the regions above"):
        M49({"002": ["015"]}, aliases={"777": ["Atlantis"]})
    with pytest.raises(M49Error, match="aliases: 015: expected a list of names"):
        M49({"002": ["015"]}, aliases={"015": [""]})
    names = M49({"002": ["015"]}, aliases={"015": ["North Africa"]}).names()["015"]
    assert names[:3] == [M49.name("015", language) for language in ("en", "fr", "es")]
    assert names[3:] == ["North Africa"]


def test_the_projects_m49_table_has_the_names_visitors_write() -> None:
    names = m49().names()
    assert "Europa del Este" in names["151"] and "América Latina" in names["419"]
    assert "East Asia" in names["030"]


def test_sub_regions_of_a_composite_region() -> None:
    assert m49().sub_regions("419") == {"005", "013", "029"}
    assert m49().sub_regions("002") == {"011", "014", "015", "017", "018"}
    assert m49().sub_regions("029") == {"029"}
