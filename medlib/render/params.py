"""Parameter sets for report packs: reading the YAML file and validating it strictly.

A parameter set names the trusts, the notebooks and the values passed to them. Papermill only
warns about a parameter the notebook does not declare, so a misspelt key would silently render
every report with a default. Everything here runs before any kernel starts: the YAML is checked
for unknown keys, wrong types, unknown trust codes, periods out of order, missing data files and
the values of parameters whose meaning their name gives (a census date is a real day, a seed is
not negative, a folder exists: relative paths are read from the parameter file's folder), then
each key is checked against the parameters the notebooks declare (read with
``papermill.inspect_notebook``). All problems are reported together in one
:class:`ParameterError`, each naming the key and what was expected.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medlib._safe_yaml import RefusedYAMLError, UniqueKeyLoader
from medlib.context import NEEDS, check_period_end, check_trust_code, usage_coverage
from medlib.errors import MedlibError
from medlib.paths import DATA_DIR, PARAMETERS_DIR, PROJECT_ROOT
from medlib.reference.trusts import UnknownTrustError, icb_members
from medlib.render.manifest import FOLDER_LIST_PARAMETERS, FOLDER_PARAMETERS

__all__ = [
    "DAY_PARAMETERS",
    "DEFAULT_TIMEOUT_SECONDS",
    "NON_NEGATIVE_PARAMETERS",
    "PERIOD_KEYS",
    "REPORT_PARAMETERS",
    "RESERVED_PARAMETERS",
    "STORE_PARAMETER",
    "TABLES_PARAMETER",
    "TRUST_PARAMETER",
    "NotebookParameter",
    "NotebookSpec",
    "ParameterError",
    "ParameterSet",
    "check_against_notebooks",
    "check_coverage",
    "effective_parameters",
    "inspect_report_notebook",
    "load_parameter_set",
    "parameters_digest",
    "parse_parameter_set",
    "report_parameters",
    "resolve_parameter_path",
    "value_matches",
]

#: Notebook parameter that receives the trust's ODS code.
TRUST_PARAMETER = "trust_code"
#: What every report notebook declares: the trust and the last month of the report.
REPORT_PARAMETERS = (TRUST_PARAMETER, "period_end")
#: Notebook parameter that receives the folder the notebook publishes its tables into.
TABLES_PARAMETER = "tables_dir"
#: Notebook parameter that receives the store named by the set's ``data: {store: PATH}``.
STORE_PARAMETER = "store"
#: Set by the renderer for every report; a parameter set may not set them.
RESERVED_PARAMETERS = frozenset({TRUST_PARAMETER, TABLES_PARAMETER, STORE_PARAMETER})
#: Top-level period keys, passed on to every notebook that declares a parameter of that name.
PERIOD_KEYS = ("period_start", "period_end")
#: Parameters that are a day written ``YYYY-MM-DD`` within the period, or empty (the default).
DAY_PARAMETERS = ("census_date",)
#: Parameters that are whole numbers of 0 or more (a seed, an age).
NON_NEGATIVE_PARAMETERS = ("seed", "min_age", "max_age")
DEFAULT_TIMEOUT_SECONDS = 600

_REQUIRED_KEYS = ("name", "title", "period_end", "trusts", "notebooks")
_OPTIONAL_KEYS = (
    "period_start",
    "data",
    "parameters",
    "notebook_parameters",
    "timeout_seconds",
    "data_files",
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NOTEBOOK = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_TRUST_CODE = re.compile(r"^[A-Z0-9]{3,5}$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MISSING = object()


class ParameterError(MedlibError, ValueError):
    """A parameter set is invalid; ``problems`` lists each problem on its own line."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        header = f"{source}: {count} problem{'s' if count != 1 else ''}"
        super().__init__(header + "".join(f"\n  - {p}" for p in self.problems))


@dataclass(frozen=True)
class ParameterSet:
    """A validated parameter set.

    Attributes:
        name: Short name, also the output folder under ``reports/``.
        title: Title shown on the index page.
        period_end: Last month covered, ``YYYY-MM``.
        trusts: ODS codes of the trusts, one report pack section each.
        notebooks: Notebook names (without ``.ipynb``) rendered for every trust.
        period_start: First month covered, ``YYYY-MM``, or None.
        parameters: Values passed to every notebook that declares them.
        notebook_parameters: Per-notebook values, overriding ``parameters``.
        timeout_seconds: Wall-clock limit for one notebook run.
        data_files: Files under the bundled data folder the pack needs (checked to exist).
        store: The store the reports read (an absolute folder), or None for the bundled
            sample; relative paths in the YAML resolve from the YAML file's folder.
        source: The YAML file it was read from, if any.
    """

    name: str
    title: str
    period_end: str
    trusts: tuple[str, ...]
    notebooks: tuple[str, ...]
    period_start: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    notebook_parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    data_files: tuple[str, ...] = ()
    store: str | None = None
    source: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        """The parameter set as plain data (for the manifest), without its source path."""
        return {
            "name": self.name,
            "title": self.title,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "trusts": list(self.trusts),
            "notebooks": list(self.notebooks),
            "parameters": dict(self.parameters),
            "notebook_parameters": {k: dict(v) for k, v in self.notebook_parameters.items()},
            "timeout_seconds": self.timeout_seconds,
            "data_files": list(self.data_files),
            "data": {"store": self.store} if self.store else {},
        }


@dataclass(frozen=True)
class NotebookParameter:
    """One parameter declared in a notebook's ``parameters`` cell."""

    name: str
    type_name: str | None
    default: Any
    help: str = ""


@dataclass(frozen=True)
class NotebookSpec:
    """A report notebook and the parameters it declares."""

    name: str
    path: Path
    parameters: Mapping[str, NotebookParameter]
    needs: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        """Hash of the notebook file, so a changed notebook makes its reports out of date."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def resolve_parameter_path(name_or_path: str | Path) -> Path:
    """Find a parameter set given as a path or as a bare name in ``parameters/``.

    Example:
        ``resolve_parameter_path("nenc")`` is ``parameters/nenc.yaml`` in the project.
    """
    path = Path(name_or_path)
    if path.is_file() or path.suffix in {".yaml", ".yml"} or len(path.parts) > 1:
        return path
    return PARAMETERS_DIR / f"{path.name}.yaml"


def load_parameter_set(
    path: str | Path,
    *,
    known_trusts: Mapping[str, str | None] | None = None,
    data_dir: Path = DATA_DIR,
) -> ParameterSet:
    """Read and validate a parameter set YAML file.

    Args:
        path: The YAML file.
        known_trusts: ``{trust_code: successor_code or None}`` to check trust codes against;
            None reads the bundled trusts table.
        data_dir: Folder that ``data_files`` entries are relative to.

    Returns:
        The validated parameter set.

    Raises:
        ParameterError: The file is missing, is not YAML, or has any invalid key or value.
    """
    path = Path(path)
    source = _display(path)
    if path.is_dir():
        raise ParameterError(source, ["is a folder: expected a parameter set YAML file"])
    if not path.is_file():
        raise ParameterError(source, ["file not found: expected a parameter set YAML file"])
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    except UnicodeDecodeError as exc:
        raise ParameterError(
            source, [f"not UTF-8 text (byte {exc.start:,} cannot be decoded): save it as UTF-8"]
        ) from None
    except RefusedYAMLError as exc:
        # Refused while parsing, before any value is built (medlib._safe_yaml).
        raise ParameterError(source, [exc.problem]) from None
    except (yaml.YAMLError, ValueError) as exc:
        # ValueError: a value tagged !!timestamp that is no date (2024-02-30).
        raise ParameterError(source, [f"not valid YAML: {exc}"]) from None
    return parse_parameter_set(
        raw, source=source, path=path, known_trusts=known_trusts, data_dir=data_dir
    )


class _UniqueKeyLoader(UniqueKeyLoader):
    """The parameter set's loader: no aliases, no repeated keys, dates as text."""

    repeated_key = "{key}: key appears twice (lines {first} and {line})"


def parse_parameter_set(
    raw: object,
    *,
    source: str = "parameter set",
    path: Path | None = None,
    known_trusts: Mapping[str, str | None] | None = None,
    data_dir: Path = DATA_DIR,
) -> ParameterSet:
    """Validate an already-parsed parameter set mapping (see :func:`load_parameter_set`)."""
    if not isinstance(raw, Mapping):
        raise ParameterError(
            source, [f"expected a mapping of keys to values at the top level, got {_kind(raw)}"]
        )
    problems: list[str] = []
    allowed = (*_REQUIRED_KEYS, *_OPTIONAL_KEYS)
    for key in raw:
        if key not in allowed:
            problems.append(f"{key}: unknown key{_suggest(str(key), allowed)}; allowed: {allowed}")
    for key in _REQUIRED_KEYS:
        if key not in raw:
            problems.append(f"{key}: required key is missing")
    data = {k: _plain(v) for k, v in raw.items()}

    name = _check_str(
        data, "name", problems, pattern=_NAME, expected="lower-case letters, digits, _ or -"
    )
    title = _check_str(data, "title", problems)
    period_start = _check_month(data, "period_start", problems)
    period_end = _check_month(data, "period_end", problems)
    if period_start and period_end and period_start > period_end:
        problems.append(
            f"period_start: {period_start} is after period_end {period_end}; "
            "expected period_start <= period_end"
        )
    trusts = _check_trusts(data, problems, known_trusts)
    notebooks = _check_str_list(
        data, "notebooks", problems, _NOTEBOOK, "notebook names without .ipynb"
    )
    # Relative paths in values are read from the parameter file's folder, as data.store is.
    base = path.parent if path is not None else Path.cwd()
    parameters = _check_parameters(
        data.get("parameters", {}), "parameters", problems, base, period_end
    )
    notebook_parameters: dict[str, dict[str, Any]] = {}
    per_notebook = data.get("notebook_parameters", {})
    if not isinstance(per_notebook, Mapping):
        problems.append(
            f"notebook_parameters: expected a mapping of notebook name to parameters, "
            f"got {_kind(per_notebook)}"
        )
    else:
        for nb_name, values in per_notebook.items():
            if notebooks and nb_name not in notebooks:
                problems.append(
                    f"notebook_parameters.{nb_name}: not one of this set's notebooks "
                    f"{list(notebooks)}{_suggest(str(nb_name), notebooks)}"
                )
            notebook_parameters[str(nb_name)] = _check_parameters(
                values, f"notebook_parameters.{nb_name}", problems, base, period_end
            )
    timeout = data.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 < timeout <= 86_400:
        problems.append(
            f"timeout_seconds: expected a whole number of seconds from 1 to 86400, got {timeout!r}"
        )
    data_files = _check_data_files(data, problems, data_dir)
    store = _check_store(data, problems, path)
    if problems:
        raise ParameterError(source, problems)
    return ParameterSet(
        name=name,
        title=title,
        period_start=period_start,
        period_end=period_end,
        trusts=trusts,
        notebooks=notebooks,
        parameters=parameters,
        notebook_parameters=notebook_parameters,
        timeout_seconds=timeout,
        data_files=data_files,
        store=store,
        source=path,
    )


def inspect_report_notebook(path: Path) -> NotebookSpec:
    """Read the parameters a report notebook declares, without starting a kernel.

    Names, types and help come from ``papermill.inspect_notebook``. Papermill's parser skips
    some annotated lines (``x: str | None = None``), so the cell is also parsed with ``ast``
    and any name papermill missed is added, with its annotation and literal default.

    Raises:
        ParameterError: The notebook has no ``parameters`` cell, or lacks a trust parameter
            or ``tables_dir``.
    """
    import nbformat
    import papermill

    source = _display(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several types for unreadable files
        raise ParameterError(source, [f"cannot be read as a notebook: {exc}"]) from None
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ParameterError(source, ["no cell tagged 'parameters'; expected one"])
    parsed = _parse_parameters_cell(cells[0].source)
    inspected = papermill.inspect_notebook(str(path))
    params: dict[str, NotebookParameter] = {}
    for name in {**inspected, **parsed}:
        info = inspected.get(name, {})
        type_name = info.get("inferred_type_name")
        annotation, default = parsed.get(name, (None, _MISSING))
        if not type_name or type_name == "None":
            type_name = annotation
        params[name] = NotebookParameter(name, type_name, default, info.get("help", ""))
    problems = [
        f"declares no {name!r} parameter; every report notebook declares "
        "`trust_code: str` and `period_end: str` (YYYY-MM)"
        for name in REPORT_PARAMETERS
        if name not in params
    ]
    if TABLES_PARAMETER not in params:
        problems.append(
            f'declares no {TABLES_PARAMETER!r} parameter; expected `tables_dir: str = ""`'
        )
    needs = nb.metadata.get("medlib", {}).get("needs", [])
    if not isinstance(needs, list) or any(n not in NEEDS for n in needs):
        problems.append(f"metadata medlib.needs: expected a list drawn from {list(NEEDS)}")
        needs = []
    if problems:
        raise ParameterError(source, problems)
    return NotebookSpec(path.stem, path, params, tuple(needs))


def check_against_notebooks(pset: ParameterSet, notebooks_dir: Path) -> dict[str, NotebookSpec]:
    """Check every key of ``pset`` against the parameters its notebooks declare.

    Args:
        pset: A validated parameter set.
        notebooks_dir: Folder holding ``<notebook>.ipynb`` files.

    Returns:
        ``{notebook_name: NotebookSpec}`` for every notebook of the set.

    Raises:
        ParameterError: A notebook is missing or unusable, a key is declared by no notebook
            (a misspelling), or a value has the wrong type for its declaration.
    """
    source = _display(pset.source) if pset.source else f"parameter set {pset.name!r}"
    problems: list[str] = []
    specs: dict[str, NotebookSpec] = {}
    available = sorted(p.stem for p in Path(notebooks_dir).glob("*.ipynb"))
    for nb_name in pset.notebooks:
        path = Path(notebooks_dir) / f"{nb_name}.ipynb"
        if not path.is_file():
            problems.append(
                f"notebooks: {nb_name!r} not found in {_display(Path(notebooks_dir))}"
                f"{_suggest(nb_name, available)}; available: {available}"
            )
            continue
        try:
            specs[nb_name] = inspect_report_notebook(path)
        except ParameterError as exc:
            problems.extend(f"notebooks: {nb_name!r} {p}" for p in exc.problems)
    if problems:
        raise ParameterError(source, problems)

    declared_anywhere = {name for spec in specs.values() for name in spec.parameters}
    for key in pset.parameters:
        if key not in declared_anywhere:
            problems.append(
                f"parameters.{key}: no notebook of this set declares it"
                f"{_suggest(key, declared_anywhere)}; declared: {sorted(declared_anywhere)}"
            )
    for nb_name, values in pset.notebook_parameters.items():
        declared = specs[nb_name].parameters
        for key in values:
            if key not in declared:
                problems.append(
                    f"notebook_parameters.{nb_name}.{key}: {nb_name} does not declare it"
                    f"{_suggest(key, declared)}; declared: {sorted(declared)}"
                )
    for nb_name, spec in specs.items():
        for key, value in _layered_values(pset, nb_name, spec).items():
            param = spec.parameters.get(key)
            if param is not None and not value_matches(value, param.type_name, param.default):
                where = (
                    f"notebook_parameters.{nb_name}.{key}"
                    if key in pset.notebook_parameters.get(nb_name, {})
                    else (f"parameters.{key}" if key in pset.parameters else key)
                )
                problems.append(
                    f"{where}: {value!r} is {_kind(value)}; {nb_name} expects "
                    f"{_expected_type(param)}"
                )
    if problems:
        raise ParameterError(source, problems)
    return specs


def effective_parameters(spec: NotebookSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """What a report's kernel will see: the notebook's literal defaults, then ``values``."""
    defaults = {
        name: param.default
        for name, param in spec.parameters.items()
        if param.default is not _MISSING
    }
    return {**defaults, **values}


def check_coverage(
    pset: ParameterSet, specs: Mapping[str, NotebookSpec], today: dt.date | None = None
) -> None:
    """Refuse a ``period_end`` outside the data a notebook of the set reads.

    A notebook that needs ``usage`` is checked against the months of the store's usage. One
    that does not (its data may be synthetic, made up to any month) still cannot report on a
    month that has not begun, so a ``period_end`` after the current month is refused for it.

    Args:
        pset: The parameter set.
        specs: Its notebooks, from :func:`check_against_notebooks`.
        today: The current date (default: the system's).

    Raises:
        ParameterError: ``period_end`` falls outside the store's months (naming the coverage),
            or after the current month.
    """
    problems = []
    end = check_period_end(pset.period_end)
    this_month = (today or dt.date.today()).strftime("%Y-%m")
    for nb_name, spec in specs.items():
        if "usage" not in spec.needs:
            if pset.period_end > this_month:
                problems.append(
                    f"period_end: {pset.period_end} is after the current month ({this_month}); "
                    "no data covers a month that has not begun"
                )
            continue
        coverage = usage_coverage(pset.store or "")
        if coverage.first_month is None or coverage.last_month is None:
            problems.append(f"{nb_name}: {coverage.where} has no usage rows")
        elif not coverage.first_month <= end <= coverage.last_month:
            problems.append(
                f"period_end: {pset.period_end} is outside the data {nb_name} reads: "
                f"{coverage.where} covers {coverage.first_month:%Y-%m} to "
                f"{coverage.last_month:%Y-%m}"
            )
    if problems:
        source = _display(pset.source) if pset.source else f"parameter set {pset.name!r}"
        raise ParameterError(source, sorted(set(problems)))


def report_parameters(pset: ParameterSet, spec: NotebookSpec, trust_code: str) -> dict[str, Any]:
    """The values injected into one report: periods, shared, per-notebook, then the trust.

    ``tables_dir`` is not included: the renderer sets it to the report's staging folder.
    """
    values = _layered_values(pset, spec.name, spec)
    values[TRUST_PARAMETER] = trust_code
    return values


def parameters_digest(values: Mapping[str, Any]) -> str:
    """A stable hash of parameter values (sorted JSON)."""
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def value_matches(value: Any, type_name: str | None, default: Any = _MISSING) -> bool:
    """Whether ``value`` fits a declared annotation such as ``str``, ``int`` or ``list[str]``.

    Without an annotation the default's type is used (an ``int`` fits a ``float`` default);
    with neither, any value fits.
    """
    if type_name:
        return any(_fits(value, alt) for alt in _alternatives(type_name))
    if default is _MISSING:
        return True
    if default is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple)
    return isinstance(value, type(default)) and not (
        isinstance(value, bool) and not isinstance(default, bool)
    )


def _layered_values(pset: ParameterSet, nb_name: str, spec: NotebookSpec) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in PERIOD_KEYS:
        value = getattr(pset, key)
        if value is not None and key in spec.parameters:
            values[key] = value
    if pset.store and STORE_PARAMETER in spec.parameters:
        values[STORE_PARAMETER] = pset.store
    values.update({k: v for k, v in pset.parameters.items() if k in spec.parameters})
    values.update(pset.notebook_parameters.get(nb_name, {}))
    return values


def _parse_parameters_cell(source: str) -> dict[str, tuple[str | None, Any]]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[str, tuple[str | None, Any]] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = (ast.unparse(node.annotation), _literal(node.value))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = (None, _literal(node.value))
    return found


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return _MISSING
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return _MISSING


def _alternatives(type_name: str) -> list[str]:
    text = type_name.strip().replace("typing.", "")
    optional = re.fullmatch(r"Optional\[(.*)\]", text)
    if optional:
        return [*_alternatives(optional.group(1)), "None"]
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "["
        depth -= char == "]"
        if char == "|" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def _fits(value: Any, type_name: str) -> bool:
    base, _, inner = type_name.partition("[")
    base = base.strip().lower()
    inner = inner.rstrip("]").strip()
    if base in {"none", "nonetype"}:
        return value is None
    if base == "str":
        return isinstance(value, str)
    if base == "bool":
        return isinstance(value, bool)
    if base == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base in {"list", "tuple", "sequence"}:
        if not isinstance(value, list | tuple):
            return False
        element = inner.split(",")[0].strip() if inner else ""
        return not element or element == "..." or all(_fits(v, element) for v in value)
    if base in {"dict", "mapping"}:
        return isinstance(value, Mapping)
    # Annotations we do not model (Any, Literal, custom classes) accept any value.
    return True


def _expected_type(param: NotebookParameter) -> str:
    if param.type_name:
        return param.type_name
    if param.default is not _MISSING and param.default is not None:
        return f"a {type(param.default).__name__} like its default {param.default!r}"
    return "any value"


def _plain(value: Any) -> Any:
    # YAML reads 2024-03-31 as a date; notebooks declare dates as ISO strings (literals only).
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _check_str(
    data: Mapping[str, Any],
    key: str,
    problems: list[str],
    *,
    pattern: re.Pattern[str] | None = None,
    expected: str = "",
) -> str:
    if key not in data:
        return ""
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{key}: expected a non-empty string, got {value!r}")
        return ""
    if pattern is not None and not pattern.match(value):
        problems.append(f"{key}: {value!r} is not valid; expected {expected}")
        return ""
    return value.strip()


def _check_month(data: Mapping[str, Any], key: str, problems: list[str]) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _MONTH.match(value):
        problems.append(f"{key}: expected a month written YYYY-MM (e.g. 2024-03), got {value!r}")
        return None
    if key == "period_end":
        check_period_end(value)  # the same check every report makes of its period end
    return value


def _check_str_list(
    data: Mapping[str, Any], key: str, problems: list[str], pattern: re.Pattern[str], expected: str
) -> tuple[str, ...]:
    if key not in data:
        return ()
    value = data[key]
    if not isinstance(value, list) or not value:
        problems.append(f"{key}: expected a non-empty list of {expected}, got {value!r}")
        return ()
    items: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not pattern.match(item):
            problems.append(f"{key}[{i}]: {item!r} is not valid; expected {expected}")
        elif item in items:
            problems.append(f"{key}[{i}]: {item!r} is listed twice")
        else:
            items.append(item)
    return tuple(items)


def _check_trusts(
    data: Mapping[str, Any],
    problems: list[str],
    known_trusts: Mapping[str, str | None] | None,
) -> tuple[str, ...]:
    before = len(problems)
    trusts = _check_str_list(data, "trusts", problems, _TRUST_CODE, "upper-case ODS trust codes")
    if not trusts or len(problems) > before:
        return trusts
    # An ICB code stands for the ICB's current member trusts (from the trusts reference).
    expanded: list[str] = []
    for code in trusts:
        members = () if known_trusts is not None and code in known_trusts else icb_members(code)
        expanded.extend(m for m in (members or (code,)) if m not in expanded)
    trusts = tuple(expanded)
    for i, code in enumerate(trusts):
        # The same check every report makes of its trust (medlib.context).
        try:
            check_trust_code(code, known_trusts)
        except UnknownTrustError as exc:
            problems.append(f"trusts[{i}]: {exc}")
    return trusts


def _check_parameters(
    values: Any, where: str, problems: list[str], base: Path, period_end: str | None
) -> dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        problems.append(
            f"{where}: expected a mapping of parameter names to values, got {_kind(values)}"
        )
        return {}
    out: dict[str, Any] = {}
    for key, value in values.items():
        key = str(key)
        if key == STORE_PARAMETER:
            problems.append(
                f"{where}.{key}: name the store at the top level, data: {{store: PATH}}"
            )
        elif key in RESERVED_PARAMETERS:
            problems.append(
                f"{where}.{key}: set by the renderer for each report; remove it "
                f"(list trusts under 'trusts')"
            )
        elif key in PERIOD_KEYS:
            problems.append(f"{where}.{key}: set {key} at the top level of the parameter set")
        elif not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            problems.append(f"{where}.{key}: not a valid parameter name")
        else:
            out[key] = _check_known_value(f"{where}.{key}", key, value, problems, base, period_end)
    return out


def _check_known_value(
    where: str, key: str, value: Any, problems: list[str], base: Path, period_end: str | None
) -> Any:
    """Check a value whose meaning the parameter's name gives, whatever the notebook.

    A wrong type is left to :func:`check_against_notebooks`, which names the declaration.
    Returns the value to pass on: a folder's absolute path, else the value itself.
    """
    if key in DAY_PARAMETERS and isinstance(value, str) and value:
        day = _real_day(value)
        if day is None:
            problems.append(
                f"{where}: {value!r} is not a date; expected a day written YYYY-MM-DD "
                "(e.g. 2024-03-31), or empty for the last day of period_end"
            )
        elif period_end and day > _month_end(period_end):
            problems.append(
                f"{where}: {value} is after period_end {period_end}; expected a day up to "
                f"{_month_end(period_end).isoformat()}, or empty for the last day of period_end"
            )
    elif key in NON_NEGATIVE_PARAMETERS and isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            problems.append(f"{where}: expected a whole number of 0 or more, got {value}")
    elif key in FOLDER_PARAMETERS and isinstance(value, str) and value.strip():
        return _folder(where, value, problems, base)
    elif key in FOLDER_LIST_PARAMETERS and isinstance(value, list):
        folders = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                folders.append(_folder(f"{where}[{i}]", item, problems, base))
            else:
                problems.append(f"{where}[{i}]: expected a folder's path, got {item!r}")
                folders.append(item)
        return folders
    return value


def _folder(where: str, value: str, problems: list[str], base: Path) -> str:
    """A folder parameter's absolute path; a problem when it is not a folder."""
    folder = Path(value.strip()).expanduser()
    if not folder.is_absolute():
        # Not from the kernel's working folder, which is the report's staging folder.
        folder = base / folder
    folder = folder.resolve()
    if not folder.is_dir():
        problems.append(
            f"{where}: {value!r} is not a folder ({_display(folder)}); a relative path is "
            "read from the parameter set's folder"
        )
    return str(folder)


def _real_day(text: str) -> dt.date | None:
    if not _DAY.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:  # a day the month does not have, such as 2024-02-30
        return None


def _month_end(month: str) -> dt.date:
    """The last day of a month written ``YYYY-MM`` (already checked)."""
    year, number = (int(part) for part in month.split("-"))
    following = dt.date(year + (number == 12), number % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _check_store(data: Mapping[str, Any], problems: list[str], path: Path | None) -> str | None:
    value = data.get("data")
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"store"}:
        problems.append(
            f"data: expected a mapping with one key, store (a folder built by medlib ingest), "
            f"got {value!r}"
        )
        return None
    store = value.get("store")
    if store is None:
        return None
    if not isinstance(store, str) or not store.strip():
        problems.append(f"data.store: expected the path of a store folder, got {store!r}")
        return None
    folder = Path(store).expanduser()
    if not folder.is_absolute():
        folder = (path.parent if path is not None else Path.cwd()) / folder
    folder = folder.resolve()
    if not (folder / "ingest_log.jsonl").is_file() and not (folder / "usage").is_dir():
        problems.append(
            f"data.store: {store!r} is not a store (no ingest log in {_display(folder)}); "
            "build one with 'medlib ingest FILE --store PATH'"
        )
        return None
    return str(folder)


def _check_data_files(
    data: Mapping[str, Any], problems: list[str], data_dir: Path
) -> tuple[str, ...]:
    value = data.get("data_files")
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(
            "data_files: expected a list of file names under the bundled data folder, "
            f"got {value!r}"
        )
        return ()
    files: list[str] = []
    for i, item in enumerate(value):
        if (
            not isinstance(item, str)
            or not item
            or Path(item).is_absolute()
            or ".." in Path(item).parts
        ):
            problems.append(
                f"data_files[{i}]: {item!r} is not valid; expected a path relative to the "
                f"bundled data folder such as 'scmd_lithium.parquet'"
            )
        elif not (Path(data_dir) / item).is_file():
            problems.append(
                f"data_files[{i}]: {item!r} not found in the data folder {_display(Path(data_dir))}"
            )
        else:
            files.append(item)
    return tuple(files)


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    return f"a {type(value).__name__}"


def _display(path: Path) -> str:
    """A path relative to the project when it lies inside it (messages never show home paths)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
