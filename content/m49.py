"""The UN's standard regions (M49) a visitor may name, and their names in each language.

``content/knowledge/m49.yml`` says which region is made of which (Sub-Saharan Africa of Western,
Eastern, Middle and Southern Africa); the names are the CLDR's, from Babel, in English,
French and Spanish. The knowledge base's regions and sub-regions each name their M49 code,
so that "Afrique occidentale", "Asia meridional" or "Southern Asia" find the profile's own
place, and a region the profile does not use as a heading ("the Caribbean", "Latin
America", "Sub-Saharan Africa") is answered with the profile's sub-regions inside it.
Read and checked once per process, never at import time.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple

import yaml
from babel import Locale

from apt_settings import ROOT

M49_FILE = ROOT / "content" / "knowledge" / "m49.yml"
LANGUAGES = ("en", "fr", "es")


class M49Error(ValueError):
    """content/knowledge/m49.yml is unreadable or names a code the CLDR does not know."""


class M49:
    """The M49 regions: which sub-regions each is made of, and its names."""

    def __init__(
        self,
        regions: Mapping[str, List[str]],
        source: str = "m49.yml",
        aliases: Optional[Mapping[str, List[str]]] = None,
    ) -> None:
        known = {str(code) for code in Locale.parse("en").territories if str(code).isdigit()}
        for code, parts in regions.items():
            for named in [code, *parts]:
                if named not in known:
                    raise M49Error(f"{source}: region {code}: {named!r} is not an M49 code the CLDR names")
        self._parts = {code: tuple(parts) for code, parts in regions.items()}
        self.codes: Tuple[str, ...] = tuple(
            dict.fromkeys([*self._parts, *(p for ps in self._parts.values() for p in ps)])
        )
        self._aliases = {code: tuple(names) for code, names in (aliases or {}).items()}
        for code, names in self._aliases.items():
            if code not in self.codes:
                raise M49Error(f"{source}: aliases: {code!r} is not one of the regions above")
            if not names or not all(isinstance(name, str) and name.strip() for name in names):
                raise M49Error(f"{source}: aliases: {code}: expected a list of names")
        for code in self._parts:
            self.sub_regions(code)  # a region made of itself would never end

    def sub_regions(self, code: str, _seen: FrozenSet[str] = frozenset()) -> FrozenSet[str]:
        """The sub-regions (codes made of nothing here) that ``code`` covers; itself for one."""
        if code in _seen:
            raise M49Error(f"m49.yml: region {code} is made of itself")
        parts = self._parts.get(code)
        if not parts:
            return frozenset([code])
        return frozenset(leaf for part in parts for leaf in self.sub_regions(part, _seen | {code}))

    @staticmethod
    def name(code: str, language: str) -> str:
        """The CLDR's name of a region in ``language``."""
        return str(Locale.parse(language).territories[code])

    def names(self) -> Dict[str, List[str]]:
        """code -> its names in the three languages, then its other names (as the resolver
        matches them)."""
        return {
            code: [*(self.name(code, language) for language in LANGUAGES), *self._aliases.get(code, ())]
            for code in self.codes
        }


def read_m49(path: Path = M49_FILE) -> M49:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise M49Error(f"{path}: cannot read the M49 regions ({error})") from None
    regions = raw.get("regions") if isinstance(raw, dict) else None
    if not isinstance(regions, dict) or not all(
        isinstance(parts, list) and all(isinstance(p, str) for p in parts) for parts in regions.values()
    ):
        raise M49Error(f"{path}: expected 'regions:' mapping each code to a list of codes")
    aliases = raw.get("aliases") or {}
    if not isinstance(aliases, dict) or not all(isinstance(names, list) for names in aliases.values()):
        raise M49Error(f"{path}: expected 'aliases:' mapping codes to lists of names")
    return M49(
        {str(code): list(parts) for code, parts in regions.items()},
        str(path),
        {str(code): list(names) for code, names in aliases.items()},
    )


@functools.cache
def m49() -> M49:
    """The process-wide M49 table, read once."""
    return read_m49()
