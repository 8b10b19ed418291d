"""The documentation stays true to the tree.

README.md is the front door (short, with the two commands on its first screen) and docs/ the
manual. Every relative link in them leads to a file (and heading) that exists; every
repository path written in backticks exists, or is an output the Makefile or the code
produces; every `make` command names a target of the Makefile; every ``APT_`` variable is a
setting of ``apt_settings.Settings``, and docs/settings.md documents each setting with its
default. No server, no training: a few file reads.

Commands (``make ...``) and paths are looked for in code: inline code spans and fenced
blocks. Prose is not scanned for them ("to make that a failure" is not a command).
"""

from __future__ import annotations

import fnmatch
import os
import re
from functools import cache
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

from apt_settings import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
SETTINGS_PAGE = DOCS / "settings.md"
README_MAX_LINES = 150
FIRST_SCREEN = 40

# Folders never searched for file names or for code naming a generated path.
NOT_SOURCE = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
# A bare file name in a code span is checked when it ends like one of the project's files.
FILE_NAME = re.compile(r"^[\w.-]+\.(?:py|yml|yaml|toml|md|txt|json|js|html|css|sh|cfg|ini|png|lock)$")
PATH_CHARACTERS = re.compile(r"^[A-Za-z0-9_./-]+$")
MAKE_COMMAND = re.compile(r"\bmake((?:\s+(?:-[A-Za-z]+|[A-Z_]+=\S*))*)\s+([a-z][a-z0-9_-]*)")
APT_VARIABLE = re.compile(r"\bAPT_[A-Z0-9_]*[A-Z0-9]\b")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.DOTALL)


def pages() -> List[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def page_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


PAGES = pages()


# -- reading Markdown ----------------------------------------------------------------------------


@cache
def split(path: Path) -> Tuple[str, Tuple[str, ...]]:
    """The page's prose (fenced blocks blanked out) and its fenced blocks."""
    prose: List[str] = []
    blocks: List[str] = []
    fence = ""
    block: List[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        marker = line.strip()[:3]
        if not fence and marker in ("```", "~~~"):
            fence, block = marker, []
            prose.append("")
        elif fence and line.strip().startswith(fence):
            fence = ""
            blocks.append("\n".join(block))
            prose.append("")
        elif fence:
            block.append(line)
            prose.append("")
        else:
            prose.append(line)
    return "\n".join(prose), tuple(blocks)


def code_spans(path: Path) -> List[str]:
    """Inline code spans, paragraph by paragraph (a span may wrap onto the next line)."""
    prose, _ = split(path)
    spans: List[str] = []
    for paragraph in re.split(r"\n\s*\n", prose):
        spans += [" ".join(match.group(2).split()) for match in CODE_SPAN.finditer(paragraph)]
    return spans


def code(path: Path) -> List[str]:
    """Everything written as code: inline spans and fenced blocks."""
    return [*code_spans(path), *split(path)[1]]


def links(path: Path) -> List[str]:
    prose, _ = split(path)
    prose = CODE_SPAN.sub("", prose)
    return [m.group(1) for m in INLINE_LINK.finditer(prose)] + REFERENCE_LINK.findall(prose)


def is_external(target: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target)) or target.startswith("//")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_~]|<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> Set[str]:
    prose, _ = split(path)
    found: Set[str] = set()
    seen: Dict[str, int] = {}
    for match in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose, re.MULTILINE):
        base = slug(match.group(1))
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


# -- the repository --------------------------------------------------------------------------------


@cache
def ignore_patterns() -> Tuple[str, ...]:
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#"))


def is_generated(path: str) -> bool:
    """Under a folder (or named like a file) that .gitignore lists: an output, not a source."""
    parts = path.strip("/").split("/")
    for pattern in ignore_patterns():
        if "/" in pattern:
            if fnmatch.fnmatch("/".join(parts[: pattern.count("/") + 1]), pattern):
                return True
        elif any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


@cache
def top_level_names() -> Set[str]:
    names = {entry.name for entry in ROOT.iterdir()}
    return names | {pattern.split("/")[0] for pattern in ignore_patterns()}


def source_files() -> Iterator[Path]:
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in NOT_SOURCE]
        for name in files:
            yield Path(folder) / name


@cache
def names_in_tree() -> Set[str]:
    return {path.name for path in source_files()}


@cache
def producer_texts() -> Tuple[str, ...]:
    """The Makefile and the Python code: what builds or writes the generated paths."""
    this = Path(__file__).resolve()
    texts = [(ROOT / "Makefile").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in source_files() if p.suffix == ".py" and p != this]
    return tuple(texts)


def is_named_by_a_producer(path: str) -> bool:
    """The Makefile or a Python module names the path: literally (``web/vendor/webchat.js``)
    or as a pathlib chain (``ROOT / "var" / "apt.db"``)."""
    parts = path.strip("/").split("/")
    literal = "/".join(parts)
    chain = re.compile(r"\s*/\s*".join(rf"[\"']{re.escape(part)}[\"']" for part in parts))
    return any(literal in text or chain.search(text) for text in producer_texts())


def repository_paths(text: str, whole_span: bool) -> Iterator[str]:
    """The tokens of ``text`` that look like a path of this repository."""
    tokens = [text.strip()] if whole_span else text.split()
    for token in tokens:
        token = token.strip("()[]{},;:").rstrip(".")
        if not token or not PATH_CHARACTERS.match(token) or token.startswith("/"):
            continue
        if "/" in token:
            if token.split("/")[0] in top_level_names():
                yield token
        elif whole_span and (FILE_NAME.match(token) or token == "Makefile"):
            yield token


def paths_in(path: Path) -> Set[str]:
    found: Set[str] = set()
    for span in code_spans(path):
        found.update(repository_paths(span, whole_span=True))
        found.update(repository_paths(span, whole_span=False))
    for block in split(path)[1]:
        found.update(repository_paths(block, whole_span=False))
    return found


def path_exists(path: str) -> bool:
    if "/" not in path:
        return (ROOT / path).exists() or path in names_in_tree()
    if (ROOT / path).exists():
        return True
    return is_generated(path) and is_named_by_a_producer(path)


@cache
def make_targets() -> Set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:(?!=)", makefile, re.MULTILINE))
    for phony in re.findall(r"^\.PHONY\s*:(.*)$", makefile, re.MULTILINE):
        targets.update(phony.split())
    return targets


def setting_variables() -> Dict[str, object]:
    """``APT_<FIELD>`` -> the field's default, for every field of ``apt_settings.Settings``."""
    from apt_settings import Settings

    fields = getattr(Settings, "model_fields", None) or Settings.__fields__
    return {f"APT_{name.upper()}": field.default for name, field in fields.items()}


# -- the README --------------------------------------------------------------------------------------


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert (
        len(lines) <= README_MAX_LINES
    ), f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move the details to docs/"


def test_readme_gives_the_two_commands_on_its_first_screen() -> None:
    first_screen = "\n".join(README.read_text(encoding="utf-8").splitlines()[:FIRST_SCREEN])
    missing = [command for command in ("make run", "make test") if command not in first_screen]
    assert not missing, f"not in the first {FIRST_SCREEN} lines of README.md: {missing}"


def test_readme_links_every_docs_page() -> None:
    linked = {(README.parent / target.split("#")[0]).resolve() for target in links(README)}
    unlinked = [page_id(page) for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert not unlinked, f"docs pages no README.md link leads to: {unlinked}"


# -- every page --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=[page_id(p) for p in PAGES])
def test_relative_links_lead_to_existing_files(page: Path) -> None:
    broken = []
    for target in links(page):
        if is_external(target) or target.startswith("#"):
            continue
        file = target.split("#")[0].split("?")[0]
        if not (page.parent / file).exists():
            broken.append(target)
    assert not broken, f"{page_id(page)} links to files that do not exist: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=[page_id(p) for p in PAGES])
def test_link_anchors_name_headings(page: Path) -> None:
    broken = []
    for target in links(page):
        if is_external(target) or "#" not in target:
            continue
        file, anchor = target.split("#", 1)
        destination = (page.parent / file) if file else page
        if destination.suffix == ".md" and destination.is_file() and anchor not in anchors(destination):
            broken.append(target)
    assert not broken, f"{page_id(page)} links to headings that do not exist: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=[page_id(p) for p in PAGES])
def test_repository_paths_exist(page: Path) -> None:
    missing = sorted(path for path in paths_in(page) if not path_exists(path))
    assert not missing, f"{page_id(page)} names paths that are not in the repository: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=[page_id(p) for p in PAGES])
def test_make_commands_are_targets_of_the_makefile(page: Path) -> None:
    named = {match.group(2) for text in code(page) for match in MAKE_COMMAND.finditer(text)}
    unknown = sorted(named - make_targets())
    assert not unknown, f"{page_id(page)} names make targets the Makefile does not have: {unknown}"


@pytest.mark.parametrize("page", PAGES, ids=[page_id(p) for p in PAGES])
def test_apt_variables_are_settings(page: Path) -> None:
    named = set(APT_VARIABLE.findall(page.read_text(encoding="utf-8")))
    unknown = sorted(named - set(setting_variables()))
    assert (
        not unknown
    ), f"{page_id(page)} names variables that are not fields of apt_settings.Settings: {unknown}"


# -- docs/settings.md --------------------------------------------------------------------------------


def settings_rows() -> Dict[str, List[str]]:
    """variable -> the cells of its row in the table of docs/settings.md."""
    rows: Dict[str, List[str]] = {}
    for line in SETTINGS_PAGE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells and re.fullmatch(r"`APT_[A-Z0-9_]+`", cells[0]):
            rows[cells[0].strip("`")] = cells
    return rows


def test_settings_page_documents_every_setting() -> None:
    missing = sorted(set(setting_variables()) - set(settings_rows()))
    assert not missing, f"settings with no row in docs/settings.md: {missing}"


def shown_default(value: object) -> str:
    """A default as the settings page writes it: paths from the project folder, numbers
    without a needless ``.0``."""
    if isinstance(value, Path):
        return os.path.relpath(value, ROOT) if value.is_absolute() else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace(f"{ROOT}{os.sep}", "")


def test_settings_page_gives_each_default() -> None:
    rows = settings_rows()
    wrong = {}
    for variable, default in setting_variables().items():
        if variable not in rows or default is None or default == "" or len(rows[variable]) < 3:
            continue
        if f"`{shown_default(default)}`" not in rows[variable][2]:
            wrong[variable] = shown_default(default)
    assert not wrong, f"docs/settings.md gives another default than apt_settings.Settings: {wrong}"
