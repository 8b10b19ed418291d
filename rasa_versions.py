"""The Rasa and rasa-sdk versions that the project's patches of their internals were written for.

``server/patches/`` replaces private functions of Rasa, and ``storage/tracker_store.py`` builds on
``SQLTrackerStore``'s internals (it skips its constructor and overrides ``_retrieve``). Each
was read against exactly these releases; another release may have moved or changed what they
replace, silently. So whoever installs a patch or builds on an internal calls
:func:`require_supported_versions` first, and another version stops the process with a
message naming both versions. Upgrading Rasa means re-reading each patch against the new
source, then changing the versions here (and in requirements.txt).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Dict

WRITTEN_FOR: Dict[str, str] = {"rasa": "3.6.21", "rasa-sdk": "3.6.2"}


class UnsupportedVersion(RuntimeError):
    """An installed Rasa package is not the release the patches were written for."""


def installed(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "(not installed)"


def require_supported_versions(packages: Dict[str, str] = WRITTEN_FOR) -> None:
    """UnsupportedVersion unless every package is at the version the patches were written for."""
    wrong = {name: installed(name) for name, wanted in packages.items() if installed(name) != wanted}
    if wrong:
        found = ", ".join(f"{name} {found}" for name, found in wrong.items())
        wanted = ", ".join(f"{name} {packages[name]}" for name in wrong)
        raise UnsupportedVersion(
            f"the project's patches of Rasa internals (server/patches/, storage/tracker_store.py) were "
            f"written for {wanted}, but {found} is installed: install the versions in "
            "requirements.txt, or re-read each patch against the new release and update "
            "rasa_versions.py"
        )
