"""The house's shape (docs/architecture.md): each package sits on a floor and imports only
from floors below it, no module imports itself back through others, and the patches of
Rasa's private code are installed from the server's entry points only.

Imports inside functions count too: they run as surely as the others, only later.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

from apt_settings import ROOT

# Lower floors know nothing of higher ones; packages of one floor do not import each other.
FLOORS: Dict[str, int] = {
    "apt_settings": 0,
    "rasa_versions": 0,  # the Rasa releases the code that builds on its internals was read against
    "content": 1,  # the knowledge base, domain.yml's reader
    "privacy": 1,  # redaction of texts and logs
    "storage": 2,  # the database: schema, migrations, one repository module per aggregate
    "language": 2,  # language detection, wording, grammar, question splitting
    "server": 3,  # inside the Rasa process: channels, NLU components, patches
    "actions": 3,  # the action server
    "web": 3,  # the demo page's server (the widget's JavaScript source is beside it)
    "supervision": 4,  # the launcher's supervision and model swaps
    "training": 5,  # training and retraining rounds
    "review": 6,  # the staff workspace
    "benchmark": 7,  # tools
    "scripts": 7,  # entry points
}
# Modules that may install the patches (server/patches): the Rasa server's entry point, the
# training command and what loads a model in a process of its own to measure it.
INSTALLERS = {
    "scripts.rasa_server",
    "scripts.train",
    "training.retrain",
    "training.evaluate",
    "benchmark.memory_stages",
}


def _modules() -> Dict[str, Path]:
    found = {"apt_settings": ROOT / "apt_settings.py", "rasa_versions": ROOT / "rasa_versions.py"}
    for package in FLOORS:
        folder = ROOT / package
        if not folder.is_dir():
            continue
        for path in folder.rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str:
    """The project module an imported name lives in (``a.b.c`` -> ``a.b`` when ``c`` is a
    function of ``a.b``), or '' for a name outside the project."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(name: str, path: Path) -> Iterator[Tuple[int, str]]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            owner = _owner(target)
            if owner and owner != name:
                yield node.lineno, owner


GRAPH: Dict[str, Set[str]] = {
    name: {target for _, target in _imports(name, path)} for name, path in MODULES.items()
}


def _top(name: str) -> str:
    return name.split(".")[0]


def test_every_package_has_a_floor() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages <= set(FLOORS), packages - set(FLOORS)


def test_no_import_runs_up_a_floor_or_across_one() -> None:
    wrong = [
        f"{MODULES[name].relative_to(ROOT)}:{line} imports {target} "
        f"(floor {FLOORS[_top(target)]} from floor {FLOORS[_top(name)]})"
        for name, path in MODULES.items()
        for line, target in _imports(name, path)
        if _top(target) != _top(name) and FLOORS[_top(target)] >= FLOORS[_top(name)]
    ]
    assert wrong == [], "\n".join(wrong)


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    groups: List[List[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_no_module_imports_itself_back() -> None:
    assert _cycles(GRAPH) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _patch_names(tree: ast.AST) -> Set[str]:
    """The names a module binds to :mod:`server.patches` or one of its modules."""
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in {"server", "server.patches"}:
            names |= {
                alias.asname or alias.name
                for alias in node.names
                if node.module == "server.patches" or alias.name == "patches"
            }
    return names


def _installers() -> Set[str]:
    found = set()
    for name, path in MODULES.items():
        if name.startswith("server.patches"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        patches = _patch_names(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"install", "install_for_training", "share_socket"}
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in patches
            ):
                found.add(name)
    return found


def test_the_patches_are_installed_from_the_entry_points_only() -> None:
    installing = _installers()
    # The server's entry point and the training command install them, surely.
    assert {"scripts.rasa_server", "scripts.train"} <= installing
    assert installing <= INSTALLERS, installing - INSTALLERS


def test_tests_sit_in_folders_that_mirror_the_code() -> None:
    top = sorted(p.name for p in (ROOT / "tests").glob("test_*.py"))
    assert len(top) <= 5, top
    folders = {p.name for p in (ROOT / "tests" / "unit").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= set(FLOORS), folders - set(FLOORS)
