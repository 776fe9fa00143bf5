"""The declared public API: what each ``__all__`` names exists, and the docs import real names.

* A package's ``__all__`` lists its public submodules (``medlib.explorer`` and ``medlib.render``
  export names instead), and every name in it imports as a submodule.
* Every module's ``__all__`` names only things the module has.
* Every ``from medlib... import ...`` and ``import medlib...`` line in the Python examples of
  ``README.md`` and ``docs/*.md`` imports, and every name it imports exists.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

import medlib

ROOT = Path(__file__).resolve().parents[1]
NOT_IMPORTED = {"medlib.__main__", "medlib.render.__main__"}
#: Packages whose ``__all__`` exports names from their submodules rather than listing them.
NAME_EXPORTING = {"medlib.explorer", "medlib.render"}
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _raise(name: str) -> None:
    raise ImportError(f"cannot import {name} while walking medlib")


def _walk() -> list[pkgutil.ModuleInfo]:
    return [
        info
        for info in pkgutil.walk_packages(medlib.__path__, prefix="medlib.", onerror=_raise)
        if info.name not in NOT_IMPORTED
    ]


_FOUND = _walk()
MODULES = ["medlib", *sorted(info.name for info in _FOUND)]
PACKAGES = ["medlib", *sorted(info.name for info in _FOUND if info.ispkg)]
SUBMODULE_PACKAGES = [name for name in PACKAGES if name not in NAME_EXPORTING]


def _declared(module: types.ModuleType) -> list[str]:
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{module.__name__} declares no __all__"
    assert isinstance(declared, list | tuple), f"{module.__name__}.__all__ is not a list"
    return list(declared)


def _submodules(package: types.ModuleType) -> set[str]:
    return {
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_") and f"{package.__name__}.{info.name}" not in NOT_IMPORTED
    }


# --- (a) a package's __all__ is its submodules ----------------------------------------------


@pytest.mark.parametrize("name", SUBMODULE_PACKAGES)
def test_every_name_in_a_package_all_imports_as_a_submodule(name):
    package = importlib.import_module(name)
    problems = []
    for entry in _declared(package):
        try:
            submodule = importlib.import_module(f"{name}.{entry}")
        except ModuleNotFoundError as error:
            problems.append(f"{entry!r} is not a submodule ({error})")
            continue
        if getattr(package, entry, None) is not submodule:
            problems.append(f"{name}.{entry} is not the submodule {submodule.__name__}")
    assert not problems, f"{name}.__all__: " + "; ".join(problems)


@pytest.mark.parametrize("name", SUBMODULE_PACKAGES)
def test_a_package_all_lists_every_public_submodule(name):
    package = importlib.import_module(name)
    declared = set(_declared(package))
    missing = sorted(_submodules(package) - declared)
    assert not missing, f"{name}.__all__ does not list the submodules {missing}"


@pytest.mark.parametrize("name", sorted(NAME_EXPORTING))
def test_name_exporting_packages_export_no_submodules(name):
    package = importlib.import_module(name)
    modules = [
        e for e in _declared(package) if isinstance(getattr(package, e, None), types.ModuleType)
    ]
    assert not modules, f"{name}.__all__ exports names, but lists the modules {modules}"


# --- (b) every module's __all__ names what the module has -----------------------------------


@pytest.mark.parametrize("name", MODULES)
def test_every_name_in_a_module_all_exists(name):
    module = importlib.import_module(name)
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{name} declares no __all__"
    assert isinstance(declared, list | tuple), f"{name}.__all__ is not a list"
    not_text = [e for e in declared if not isinstance(e, str)]
    assert not not_text, f"{name}.__all__ holds non-strings {not_text}"
    repeated = sorted({e for e in declared if declared.count(e) > 1})
    assert not repeated, f"{name}.__all__ repeats {repeated}"
    private = [e for e in declared if e.startswith("_")]
    assert not private, f"{name}.__all__ declares private names {private}"
    missing = [e for e in declared if not hasattr(module, e)]
    assert not missing, f"{name}.__all__ names what {name} does not have: {missing}"


# --- (c) the documented imports are real ----------------------------------------------------

_FENCE = re.compile(r"^[ \t]*```[ \t]*(?:python3?|py)[ \t]*$")
_PROMPT = re.compile(r"^\s*(?:>>>|\.\.\.)\s?")


@dataclass(frozen=True)
class Example:
    """A fenced Python block of a Markdown file."""

    path: str
    start: int  # line number of its first line of code
    code: str

    def where(self, lineno: int) -> str:
        return f"{self.path}:{self.start + lineno - 1}"


@dataclass(frozen=True)
class DocImport:
    """One medlib import statement in an example, and the names it binds."""

    where: str
    line: str
    module: str
    names: tuple[str, ...]  # empty for ``import medlib...``
    binds: tuple[tuple[str, str, str], ...]  # (local name, module, name or "" for the module)


def _examples(path: Path) -> list[Example]:
    rel = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    examples, i = [], 0
    while i < len(lines):
        if not _FENCE.match(lines[i]):
            i += 1
            continue
        start, body = i + 2, []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        examples.append(Example(rel, start, textwrap.dedent("\n".join(body))))
        i += 1
    return examples


def _statements(example: Example) -> list[tuple[int, ast.stmt]]:
    """``(line number in the block, statement)`` of its import statements.

    The whole block is parsed when it is valid Python; otherwise each import line (and the lines
    of a parenthesised import) is parsed on its own, after any ``>>>`` prompt.
    """
    try:
        tree = ast.parse(example.code)
    except SyntaxError:
        pass
    else:
        return [
            (node.lineno, node)
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
        ]
    found, lines = [], [_PROMPT.sub("", line) for line in example.code.splitlines()]
    for number, line in enumerate(lines, start=1):
        if not re.match(r"\s*(from|import)\s+medlib\b", line):
            continue
        text = line.strip()
        if "(" in text and ")" not in text:
            following = iter(lines[number:])
            while ")" not in text and (more := next(following, None)) is not None:
                text += " " + more.strip()
        try:
            found.extend((number, node) for node in ast.parse(text).body)
        except SyntaxError:
            continue
    return found


def _imports(example: Example) -> list[DocImport]:
    code_lines = example.code.splitlines()
    found = []
    for lineno, node in _statements(example):
        line = _PROMPT.sub("", code_lines[lineno - 1]).strip()
        if isinstance(node, ast.ImportFrom):
            if node.level or not node.module or node.module.split(".")[0] != "medlib":
                continue
            names = tuple(a.name for a in node.names)
            binds = tuple((a.asname or a.name, node.module, a.name) for a in node.names)
            found.append(DocImport(example.where(lineno), line, node.module, names, binds))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "medlib":
                    continue
                local = alias.asname or "medlib"
                bound = alias.name if alias.asname else "medlib"
                found.append(
                    DocImport(example.where(lineno), line, alias.name, (), ((local, bound, ""),))
                )
    return found


def _resolve(module: str, name: str) -> object:
    """What ``from module import name`` binds; ImportError or AttributeError if nothing."""
    parent = importlib.import_module(module)
    if hasattr(parent, name):
        return getattr(parent, name)
    try:
        return importlib.import_module(f"{module}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"{module} has no {name!r}") from None


def _attribute_problems(example: Example, modules: dict[str, types.ModuleType]) -> list[str]:
    """``module.name`` in the example where ``module`` is an imported medlib module lacking it."""
    try:
        tree = ast.parse(example.code)
    except SyntaxError:
        return []
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain, base = [], node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if not isinstance(base, ast.Name) or base.id not in modules:
            continue
        obj, path = modules[base.id], base.id
        for attr in reversed(chain):
            if not isinstance(obj, types.ModuleType):
                break
            try:
                obj = _resolve(obj.__name__, attr)
            except (ImportError, AttributeError):
                line = example.code.splitlines()[node.lineno - 1].strip()
                named = path if path == obj.__name__ else f"{path} ({obj.__name__})"
                problems.append(f"{example.where(node.lineno)}: `{line}`: {named} has no {attr!r}")
                break
            path = f"{path}.{attr}"
    return problems


def _documented() -> list[tuple[Example, list[DocImport]]]:
    return [(example, _imports(example)) for path in DOCUMENTS for example in _examples(path)]


def test_the_docs_have_python_examples_that_import_medlib():
    assert any(imports for _, imports in _documented()), (
        "no `from medlib... import` or `import medlib...` lines found in README.md or docs/*.md"
    )


def test_every_documented_import_exists():
    failures = []
    for example, imports in _documented():
        modules: dict[str, types.ModuleType] = {}
        for doc in imports:
            try:
                importlib.import_module(doc.module)
            except Exception as error:
                failures.append(f"{doc.where}: `{doc.line}`: {doc.module} does not import: {error}")
                continue
            for name in doc.names:
                try:
                    _resolve(doc.module, name)
                except Exception as error:
                    failures.append(f"{doc.where}: `{doc.line}`: {error}")
            for local, module, name in doc.binds:
                try:
                    value = _resolve(module, name) if name else importlib.import_module(module)
                except Exception:
                    continue  # reported above
                if isinstance(value, types.ModuleType):
                    modules[local] = value
        failures.extend(_attribute_problems(example, modules))
    assert not failures, "documented medlib names that do not exist:\n" + "\n".join(
        dict.fromkeys(failures)
    )
