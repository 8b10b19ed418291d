"""Translations: French and Spanish say everything the English says, in the same shape.

``wording/<lang>.yml`` holds every response of ``domain.yml``: the same names, the same number
of variations in the same order, the same keys, the same button payloads (only titles are
translated), the same ``{variables}`` and the same addresses (URLs, emails, link targets).
``knowledge/apt.<lang>.yml`` translates every text of ``content/knowledge/apt.yml`` a visitor reads
(``KB_TEXTS`` below), and nothing else, in the same structure, so that it can be deep-merged
over the English. Each check returns every problem it finds, naming the file and the place, so
that one run lists all that is missing or different.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from apt_settings import ROOT
from content.knowledge import parse_knowledge_base
from content.knowledge_languages import KB_TEXTS, ByPosition, Spec, Text, merged

DOMAIN = ROOT / "domain.yml"
KNOWLEDGE = ROOT / "content" / "knowledge" / "apt.yml"
LANGUAGES = ("fr", "es")

PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")  # what Rasa's interpolator fills in
ADDRESS = re.compile(r"https?://[^\s)>\]]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\]\(([^)\s]+)\)")
LETTER = re.compile(r"[^\W\d_]")
# The keys of a variation that hold wording; every other key (condition, channel, metadata...)
# is logic and must be the same as in English.
WORDING_KEYS = {"text", "buttons"}

# Texts that may read the same as the English because they are names or acronyms. A text
# made only of {variables} and punctuation ("{activity_title}. {activity_text}") needs no entry.
SAME_AS_ENGLISH: Dict[str, set] = {
    "fr": {"APT", "Europe", "English", "Français", "Español"},
    "es": {"APT", "Asia", "English", "Français", "Español"},
}


# -- reading ------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice (PyYAML keeps the last one silently, which
    would hide a response translated twice and another not at all)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> Dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)


def wording_path(language: str, root: Path = ROOT) -> Path:
    return root / "wording" / f"{language}.yml"


def overlay_path(language: str, root: Path = ROOT) -> Path:
    return root / "content" / "knowledge" / f"apt.{language}.yml"


def _placeholders(text: str) -> set:
    return set(PLACEHOLDER.findall(text))


def _addresses(text: str) -> set:
    return {(match.group(1) or match.group(0)).rstrip(".,;:") for match in ADDRESS.finditer(text)}


def _is_only_variables(text: str) -> bool:
    return not LETTER.search(PLACEHOLDER.sub("", text))


def _same_as_english(language: str, english: str, translated: str) -> bool:
    """A text left in English: identical, with letters outside its {variables}, and not an
    allowed name or acronym."""
    return (
        translated.strip() == english.strip()
        and not _is_only_variables(english)
        and english.strip() not in SAME_AS_ENGLISH[language]
    )


# -- responses ------------------------------------------------------------------------------------


def _compare_text(
    where: str, language: str, english: Any, translated: Any, problems: List[str], what: str
) -> None:
    if not isinstance(translated, str) or not translated.strip():
        problems.append(f"{where}: {what} is empty or not a text")
        return
    if _placeholders(translated) != _placeholders(english):
        problems.append(
            f"{where}: {what} has variables {sorted(_placeholders(translated))}, "
            f"the English has {sorted(_placeholders(english))}"
        )
    if _addresses(translated) != _addresses(english):
        problems.append(
            f"{where}: {what} has addresses {sorted(_addresses(translated))}, "
            f"the English has {sorted(_addresses(english))}"
        )
    if _same_as_english(language, english, translated):
        problems.append(f"{where}: {what} is still the English {english!r}")


def _compare_buttons(where: str, language: str, english: Any, translated: Any, problems: List[str]) -> None:
    if not isinstance(translated, list) or len(translated) != len(english):
        count = len(translated) if isinstance(translated, list) else "no list of"
        problems.append(f"{where}: {count} buttons, the English has {len(english)}")
        return
    for number, (en_button, tr_button) in enumerate(zip(english, translated, strict=True), start=1):
        at = f"{where}: button {number}"
        if not isinstance(tr_button, dict) or set(tr_button) != set(en_button):
            keys = sorted(tr_button) if isinstance(tr_button, dict) else tr_button
            problems.append(f"{at} has keys {keys}, the English has {sorted(en_button)}")
            continue
        if tr_button.get("payload") != en_button.get("payload"):
            problems.append(
                f"{at}: payload {tr_button.get('payload')!r} differs from the English "
                f"{en_button.get('payload')!r}"
            )
        for key in set(en_button) - {"title", "payload"}:
            if tr_button[key] != en_button[key]:
                problems.append(f"{at}: {key} differs from the English")
        if "title" in en_button:
            _compare_text(at, language, en_button["title"], tr_button["title"], problems, "title")


def wording_problems(language: str, domain_path: Path = DOMAIN, root: Path = ROOT) -> List[str]:
    """Everything by which wording/<language>.yml differs in shape from domain.yml's responses."""
    path = wording_path(language, root)
    name = f"wording/{language}.yml"
    if not path.exists():
        return [f"{name}: missing file"]
    english = load(domain_path)["responses"]
    data = load(path)
    if (
        not isinstance(data, dict)
        or set(data) != {"responses", "list_words", "offer_labels", "place_grammar"}
        or not isinstance(data["responses"], dict)
    ):
        return [
            f"{name}: expected four top-level keys, responses: (a mapping), list_words:, "
            "offer_labels: and place_grammar: (each language's own, checked by language/grammar.py)"
        ]
    translated = data["responses"]
    english_words = load(root / "wording" / "en.yml")
    for key in ("list_words", "offer_labels"):
        if not isinstance(data[key], dict) or list(data[key]) != list(english_words[key]):
            return [f"{name}: {key}: expected {list(english_words[key])}"]
    problems = [
        f"{name}: offer_labels: {intent}: no label"
        for intent, label in data["offer_labels"].items()
        if not str(label or "").strip()
    ]

    problems += [f"{name}: {response}: missing" for response in english if response not in translated]
    problems += [
        f"{name}: {response}: not a response of domain.yml"
        for response in translated
        if response not in english
    ]
    for response, en_variations in english.items():
        tr_variations = translated.get(response)
        if tr_variations is None:
            continue
        if not isinstance(tr_variations, list) or len(tr_variations) != len(en_variations):
            count = len(tr_variations) if isinstance(tr_variations, list) else "no list of"
            problems.append(f"{name}: {response}: {count} variations, the English has {len(en_variations)}")
            continue
        for index, (en, tr) in enumerate(zip(en_variations, tr_variations, strict=True)):
            where = f"{name}: {response}[{index}]"
            if not isinstance(tr, dict) or set(tr) != set(en):
                keys = sorted(tr) if isinstance(tr, dict) else tr
                problems.append(f"{where} has keys {keys}, the English has {sorted(en)}")
                continue
            for key in set(en) - WORDING_KEYS:
                if tr[key] != en[key]:
                    problems.append(f"{where}: {key} differs from the English")
            if "text" in en:
                _compare_text(where, language, en["text"], tr["text"], problems, "text")
            if "buttons" in en:
                _compare_buttons(where, language, en["buttons"], tr["buttons"], problems)
    return problems


# -- knowledge base -------------------------------------------------------------------------------


def _label(item: Any) -> str:
    name = item.get("id") or item.get("name") if isinstance(item, dict) else None
    return f" ({name})" if name else ""


def _compare_kb(
    spec: Spec, english: Any, overlay: Any, path: str, language: str, problems: List[str], key: str = ""
) -> None:
    """Compare one node of the overlay with the English node, as ``spec`` describes it."""
    if isinstance(spec, Text):
        if not isinstance(overlay, str) or not overlay.strip():
            problems.append(f"{path}: empty or not a text")
        elif _same_as_english(language, english, overlay):
            problems.append(f"{path}: still the English {english!r}")
        return
    if isinstance(spec, dict):
        if not isinstance(overlay, dict):
            problems.append(f"{path}: expected a mapping")
            return
        for field in overlay:
            if field == key:
                continue
            if not isinstance(english, dict) or field not in english:
                problems.append(f"{path} > {field}: no such key in apt.yml")
            elif field not in spec:
                problems.append(f"{path} > {field}: not a visitor-facing text; leave it out of the overlay")
        for field, field_spec in spec.items():
            if field not in english:
                continue
            if field not in overlay:
                problems.append(f"{path} > {field}: missing")
            else:
                at = f"{path} > {field}"
                _compare_kb(field_spec, english[field], overlay[field], at, language, problems)
        return
    if not isinstance(overlay, list):
        problems.append(f"{path}: expected a list")
        return
    if isinstance(spec, ByPosition):
        if len(overlay) != len(english):
            problems.append(f"{path}: {len(overlay)} items, apt.yml has {len(english)} (matched by position)")
            return
        for index, (en_item, tr_item) in enumerate(zip(english, overlay, strict=True)):
            _compare_kb(spec.item, en_item, tr_item, f"{path}[{index}]{_label(en_item)}", language, problems)
        return
    by_key = {item[spec.key]: item for item in english}
    given: Dict[Any, Any] = {}
    for index, item in enumerate(overlay):
        value = item.get(spec.key) if isinstance(item, dict) else None
        if value not in by_key:
            problems.append(f"{path}[{index}]: no item with {spec.key} {value!r} in apt.yml")
        elif value in given:
            problems.append(f"{path}: {spec.key} {value!r} is given twice")
        else:
            given[value] = item
    for value, en_item in by_key.items():
        at = f"{path} ({value})"
        if value not in given:
            problems.append(f"{at}: missing")
        else:
            _compare_kb(spec.item, en_item, given[value], at, language, problems, key=spec.key)


def overlay_problems(language: str, knowledge_path: Path = KNOWLEDGE, root: Path = ROOT) -> List[str]:
    """Every visitor-facing text of apt.yml the overlay lacks, and every key it should not have."""
    path = overlay_path(language, root)
    name = f"content/knowledge/apt.{language}.yml"
    if not path.exists():
        return [f"{name}: missing file"]
    english = load(knowledge_path)
    problems: List[str] = []
    _compare_kb(KB_TEXTS, english, load(path), name, language, problems)
    return problems


# -- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_wording_has_every_response_of_domain_in_the_same_shape(language: str) -> None:
    problems = wording_problems(language)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_knowledge_overlay_translates_every_visitor_text_and_nothing_else(language: str) -> None:
    problems = overlay_problems(language)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_knowledge_overlay_merged_over_the_english_is_a_valid_knowledge_base(language: str) -> None:
    english = load(KNOWLEDGE)
    knowledge = parse_knowledge_base(merged(english, load(overlay_path(language))), f"apt.{language}.yml")
    assert [c.name for c in knowledge.contacts] == [c["name"] for c in english["contacts"]]
    assert knowledge.organisation.address == english["organisation"]["address"]


# The checks themselves: a change to the English without its translations must fail, by name
# (each change is made to a copy of the files in a temporary directory).


def _copy_project(tmp_path: Path) -> Path:
    for relative in [
        "domain.yml",
        "content/knowledge/apt.yml",
        "wording/en.yml",
        *(f"wording/{lang}.yml" for lang in LANGUAGES),
    ]:
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / relative).read_bytes())
    for language in LANGUAGES:
        (tmp_path / "content" / "knowledge" / f"apt.{language}.yml").write_bytes(
            overlay_path(language).read_bytes()
        )
    return tmp_path


def _edit_yaml(path: Path, change) -> None:
    data = load(path)
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_response_added_to_domain_without_translations_fails(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    _edit_yaml(root / "domain.yml", lambda d: d["responses"].update(utter_new=[{"text": "Something new."}]))
    for language in LANGUAGES:
        problems = wording_problems(language, root / "domain.yml", root)
        assert f"wording/{language}.yml: utter_new: missing" in problems, "\n".join(problems)


def test_differences_in_a_response_are_named(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    english = load(root / "domain.yml")["responses"]
    payload = english["utter_help"][0]["buttons"][1]["payload"]
    acknowledge = english["utter_acknowledge"][0]["text"]

    def change(data: Dict[str, Any]) -> None:
        responses = data["responses"]
        responses["utter_help"][0]["buttons"][1]["payload"] = "/changed"
        responses["utter_budget"][0]["text"] = "Le budget est {montant}."
        responses["utter_goodbye"].append({"text": "Salut."})
        responses["utter_iamabot"][0]["text"] = " "
        responses["utter_acknowledge"][0]["text"] = acknowledge
        responses["utter_invalid_email"][0]["text"] = "Adresse non valide (par exemple nom@exemple.org)."
        responses["utter_old"] = [{"text": "Ancien."}]

    _edit_yaml(wording_path("fr", root), change)
    problems = wording_problems("fr", root / "domain.yml", root)
    expected = {
        "wording/fr.yml: utter_old: not a response of domain.yml",
        f"wording/fr.yml: utter_help[0]: button 2: payload '/changed' differs from the English {payload!r}",
        f"wording/fr.yml: utter_goodbye: 2 variations, the English has {len(english['utter_goodbye'])}",
        "wording/fr.yml: utter_iamabot[0]: text is empty or not a text",
        f"wording/fr.yml: utter_acknowledge[0]: text is still the English {acknowledge!r}",
        "wording/fr.yml: utter_budget[0]: text has variables ['montant'], the English has ['budget']",
        "wording/fr.yml: utter_invalid_email[0]: text has addresses ['nom@exemple.org'], "
        "the English has ['name@example.org']",
    }
    assert expected <= set(problems), "\n".join(problems)


def test_a_response_given_twice_fails_to_load(tmp_path: Path) -> None:
    path = tmp_path / "twice.yml"
    path.write_text("responses:\n  utter_a: []\n  utter_a: []\n", encoding="utf-8")
    with pytest.raises(yaml.YAMLError, match="'utter_a' is given twice"):
        load(path)


def test_a_knowledge_text_without_translation_or_a_stray_field_fails(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    english = load(root / "content" / "knowledge" / "apt.yml")
    contact = english["contacts"][0]
    partner = english["partners"][1]["id"]
    region = english["regions"][0]
    area = english["partnership"]["work_areas"][0]["id"]
    activities = len(english["activities"])

    def add_objective(data: Dict[str, Any]) -> None:
        data["objectives"].append({"id": "new", "title": "New objective", "text": "Something new."})

    def overlay(data: Dict[str, Any]) -> None:
        del data["partners"][1]["text"]
        data["regions"][0]["subregions"].pop()
        data["contacts"][0]["role"] = contact["role"]
        data["organisation"]["address"] = ["Route de Ferney 10"]
        data["organisation"]["motto"] = "Prévenir"
        data["partnership"]["work_areas"][0]["aliases"] = ["monitoring"]
        data["activities"].append({"id": "lobbying", "title": "Lobbying", "text": "..."})

    _edit_yaml(root / "content" / "knowledge" / "apt.yml", add_objective)
    _edit_yaml(overlay_path("fr", root), overlay)
    problems = overlay_problems("fr", root / "content" / "knowledge" / "apt.yml", root)
    name = "content/knowledge/apt.fr.yml"
    expected = {
        f"{name} > organisation > address: not a visitor-facing text; leave it out of the overlay",
        f"{name} > organisation > motto: no such key in apt.yml",
        f"{name} > objectives (new): missing",
        f"{name} > activities[{activities}]: no item with id 'lobbying' in apt.yml",
        f"{name} > contacts ({contact['name']}) > role: still the English {contact['role']!r}",
        f"{name} > partners ({partner}) > text: missing",
        f"{name} > regions[0] ({region['name']}) > subregions: "
        f"{len(region['subregions']) - 1} items, apt.yml has {len(region['subregions'])} "
        "(matched by position)",
        f"{name} > partnership > work_areas ({area}) > aliases: not a visitor-facing text; "
        "leave it out of the overlay",
    }
    assert expected <= set(problems), "\n".join(problems)
