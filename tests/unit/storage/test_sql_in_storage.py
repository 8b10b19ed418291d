"""SQL lives in storage/ only: no module of the project outside it imports SQLAlchemy or the
tables of :mod:`storage.schema`.

The staff workspace, training, the health check and the benchmark call the repository
functions of ``storage/`` (``storage.conversations``, ``storage.reviews``, ``storage.staff``,
``storage.corrections``, ``storage.database`` ...) and get plain Python values back. The one
exception is the settings' check of a database URL (``apt_settings.py``: SQLAlchemy's
``make_url`` and the error it raises).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List

from apt_settings import ROOT

# Not the project's own code outside storage/: storage itself, the tests, virtual
# environments, build output, npm packages, hidden folders (.git, caches) and var/ (runtime
# data and scratch copies).
SKIPPED_TOP = {"storage", "tests", "build", "var"}
SKIPPED_ANYWHERE = {"node_modules", "__pycache__"}
# apt_settings.py validates APT_DATABASE_URL with SQLAlchemy's own parser.
ALLOWED = {
    ("apt_settings.py", "sqlalchemy.engine"): {"make_url"},
    ("apt_settings.py", "sqlalchemy.exc"): None,  # any of its exceptions
}


def project_files(root: Path = ROOT) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if parts[0] in SKIPPED_TOP or parts[0].startswith("."):
            continue
        if any(part in SKIPPED_ANYWHERE or part.startswith(".") for part in parts[:-1]):
            continue
        yield path


def _is_sqlalchemy(module: str) -> bool:
    return module == "sqlalchemy" or module.startswith("sqlalchemy.")


def _is_schema(module: str) -> bool:
    return module == "storage.schema" or module.startswith("storage.schema.")


def offences(path: Path, root: Path = ROOT) -> List[str]:
    """``file:line: what`` for each import of SQLAlchemy or storage.schema in ``path``."""
    name = path.relative_to(root).as_posix()
    found: List[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=name)):
        modules: List[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "storage" and any(alias.name == "schema" for alias in node.names):
                modules = ["storage.schema"]
            elif _is_sqlalchemy(node.module):
                allowed = ALLOWED.get((name, node.module), set())
                if allowed is None or {alias.name for alias in node.names} <= allowed:
                    continue
                modules = [node.module]
            else:
                modules = [node.module]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            modules = [node.args[0].value]
        for module in modules:
            if _is_sqlalchemy(module) or _is_schema(module):
                found.append(f"{name}:{getattr(node, 'lineno', 0)}: imports {module}")
    return found


def test_the_checker_sees_every_kind_of_import(tmp_path: Path) -> None:
    (tmp_path / "review").mkdir()
    (tmp_path / "review" / "bad.py").write_text(
        "import sqlalchemy as sa\n"
        "from sqlalchemy.engine import Engine\n"
        "from storage import schema\n"
        "from storage.schema import events\n"
        "import importlib\n"
        "def f():\n"
        "    import storage.schema\n"
        "    return importlib.import_module('sqlalchemy.orm')\n",
        encoding="utf-8",
    )
    (tmp_path / "apt_settings.py").write_text(
        "from sqlalchemy.engine import make_url\nfrom sqlalchemy.exc import ArgumentError\n"
        "from sqlalchemy.engine import Engine\n",
        encoding="utf-8",
    )
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "fine.py").write_text("import sqlalchemy\n", encoding="utf-8")
    (tmp_path / "review" / "node_modules").mkdir()
    (tmp_path / "review" / "node_modules" / "fine.py").write_text("import sqlalchemy\n", encoding="utf-8")
    (tmp_path / "review" / "good.py").write_text("from storage import conversations\n", encoding="utf-8")

    files = list(project_files(tmp_path))
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "apt_settings.py",
        "review/bad.py",
        "review/good.py",
    ]
    found = [offence for path in files for offence in offences(path, tmp_path)]
    assert sorted(found) == [
        "apt_settings.py:3: imports sqlalchemy.engine",
        "review/bad.py:1: imports sqlalchemy",
        "review/bad.py:2: imports sqlalchemy.engine",
        "review/bad.py:3: imports storage.schema",
        "review/bad.py:4: imports storage.schema",
        "review/bad.py:7: imports storage.schema",
        "review/bad.py:8: imports sqlalchemy.orm",
    ]


def test_no_sql_outside_storage() -> None:
    found = [offence for path in project_files() for offence in offences(path)]
    for offence in found:
        print(offence)
    assert not found, "SQL belongs in storage/ (a repository function there):\n" + "\n".join(found)
