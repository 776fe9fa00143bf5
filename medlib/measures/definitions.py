"""Medicines measures as data: one YAML file per measure, read and checked here.

A measure is a ratio in the OpenPrescribing Hospitals manner: a *denominator* set of products,
the *numerator* subset of it, summed per trust and month in one *quantity* (defined daily
doses, SCMD quantity, or indicative cost). A definition file looks like this::

    id: abx_iv                        # the file's name without .yaml
    title: Intravenous antibiotics
    why_it_matters: >
      ...
    numerator:                        # applied on top of the denominator
      route: [Injectable]
    denominator:
      any_of:
        - atc_prefix: [J01]
        - vtm: [metronidazole]
      route: [Oral, Injectable]
      exclude:
        vtm: [methenamine]
    quantity: ddd                     # ddd | quantity | cost
    lower_is_better: true             # true | false | null (no value judgement)
    citation: OpenPrescribing Hospitals, measure abx_iv

Optional fields: ``description`` (one sentence) and ``method`` (how it is calculated).

A product selection picks products by their dm+d attributes. Its keys are ``vmp_codes``,
``vtm``, ``atc_prefix``, ``route``, ``form``, ``name_pattern`` (a regular expression searched in
the VMP name) and ``aware`` (the WHO AWaRe group of the bundled antibacterial reference); each
takes a list (or one value) and all keys given must match. ``any_of`` is a list of selections
of which one must match, and ``exclude`` a selection of products to leave out. How each key
compares is described in :func:`medlib.measures.products.select`.

:func:`load_definitions` reads a folder (the package's by default, or a team's own, or several)
and raises :class:`MeasureDefinitionError` naming the file and the field of the first problem.

Example:
    >>> by_id = {d.id: d for d in load_definitions()}
    >>> [(by_id[i].quantity, by_id[i].lower_is_better) for i in ("abx_iv", "abx_access")]
    [('ddd', True), ('ddd', False)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from medlib._safe_yaml import RefusedYAMLError, UniqueKeyLoader
from medlib.errors import MedlibError
from medlib.paths import REFERENCE_DIR

__all__ = [
    "DEFINITIONS_DIR",
    "QUANTITIES",
    "SELECTION_KEYS",
    "MeasureDefinition",
    "MeasureDefinitionError",
    "ProductSelection",
    "load_definition",
    "load_definitions",
    "parse_definition",
]

#: The package's measure definitions.
DEFINITIONS_DIR = REFERENCE_DIR / "measures"

#: What a measure sums: DDDs, SCMD quantity (in each product's own unit) or indicative cost.
QUANTITIES = ("ddd", "quantity", "cost")

#: Keys of a product selection that name values to match.
SELECTION_KEYS = ("vmp_codes", "vtm", "atc_prefix", "route", "form", "name_pattern", "aware")

_REQUIRED = (
    "id",
    "title",
    "why_it_matters",
    "numerator",
    "denominator",
    "quantity",
    "lower_is_better",
    "citation",
)
_OPTIONAL = ("description", "method")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class MeasureDefinitionError(MedlibError, ValueError):
    """A measure definition that cannot be read; the message names the file and the field.

    Attributes:
        path: The file's name, when known.
        field: The field at fault (dotted, e.g. ``denominator.route``), when there is one.
        problem: What is wrong, without the file and field.
    """

    def __init__(self, problem: str, path: str | None = None, field: str | None = None):
        self.problem = problem
        self.path = path
        self.field = field
        where = ": ".join(
            part for part in (path, f"field {field!r}" if field else None) if part is not None
        )
        super().__init__(f"{where}: {problem}" if where else problem)

    def in_file(self, path: str) -> MeasureDefinitionError:
        """The same error, naming ``path``."""
        return MeasureDefinitionError(self.problem, path=path, field=self.field)


@dataclass(frozen=True)
class ProductSelection:
    """Products picked by dm+d attributes (see the module docstring for the keys).

    Attributes:
        vmp_codes: dm+d VMP codes, as text.
        vtm: Molecule (VTM) names.
        atc_prefix: Starts of ATC codes (``"J01"``).
        route: Routes as the products table writes them (``"Oral"``, ``"Injectable"``).
        form: dm+d forms.
        name_pattern: A regular expression searched in the VMP name, or None.
        aware: WHO AWaRe groups (``"Access"``, ``"Watch"``, ``"Reserve"``).
        any_of: Alternatives, at least one of which must match.
        exclude: Products to leave out, or None.
    """

    vmp_codes: tuple[str, ...] = ()
    vtm: tuple[str, ...] = ()
    atc_prefix: tuple[str, ...] = ()
    route: tuple[str, ...] = ()
    form: tuple[str, ...] = ()
    name_pattern: str | None = None
    aware: tuple[str, ...] = ()
    any_of: tuple[ProductSelection, ...] = ()
    exclude: ProductSelection | None = None

    def is_empty(self) -> bool:
        """True when the selection names nothing (it would pick every product)."""
        return not any(
            (
                self.vmp_codes,
                self.vtm,
                self.atc_prefix,
                self.route,
                self.form,
                self.name_pattern,
                self.aware,
                self.any_of,
            )
        )


@dataclass(frozen=True)
class MeasureDefinition:
    """One measure, as read from its YAML file.

    Attributes:
        id: Short name, the file's name without ``.yaml``.
        title: What the measure is called on pages.
        why_it_matters: Plain-English reason the measure matters.
        numerator: Products counted above the line, taken from among the denominator's.
        denominator: Products counted below the line.
        quantity: ``ddd``, ``quantity`` or ``cost``.
        lower_is_better: True or False where a value judgement exists, None where it does not
            (such a measure is shown but trusts are not ranked on it).
        citation: Where the measure's method comes from.
        description: One sentence saying what the value is, or None.
        method: How it is calculated, or None.
        source: The file it was read from, or None.
    """

    id: str
    title: str
    why_it_matters: str
    numerator: ProductSelection
    denominator: ProductSelection
    quantity: str
    lower_is_better: bool | None
    citation: str
    description: str | None = None
    method: str | None = None
    source: Path | None = field(default=None, compare=False)


def parse_definition(document: Any, name: str | None = None) -> MeasureDefinition:
    """Check one parsed YAML document and build its :class:`MeasureDefinition`.

    Args:
        document: What the YAML file holds.
        name: The file's name without ``.yaml``; when given, ``id`` must equal it.

    Raises:
        MeasureDefinitionError: A field is missing, unknown or malformed (names the field).

    Example:
        >>> parse_definition({"id": "x", "title": "X", "why_it_matters": "w",
        ...     "numerator": {"route": "Oral"}, "denominator": {"atc_prefix": ["J01"]},
        ...     "quantity": "ddd", "lower_is_better": None, "citation": "c"}).numerator.route
        ('Oral',)
    """
    if not isinstance(document, Mapping):
        raise MeasureDefinitionError(
            f"expected a mapping of fields to values, got {type(document).__name__}"
        )
    unknown = sorted(map(str, set(document) - set(_REQUIRED) - set(_OPTIONAL)))
    if unknown:
        raise MeasureDefinitionError(
            f"unknown field; allowed fields: {', '.join(_REQUIRED + _OPTIONAL)}",
            field=unknown[0],
        )
    missing = [key for key in _REQUIRED if key not in document]
    if missing:
        raise MeasureDefinitionError("required field is missing", field=missing[0])
    measure_id = _text(document, "id")
    if not _ID.match(measure_id):
        raise MeasureDefinitionError(
            f"{measure_id!r} is not a short name: use lower-case letters, digits and _",
            field="id",
        )
    if name is not None and measure_id != name:
        raise MeasureDefinitionError(
            f"{measure_id!r} differs from the file's name {name!r}: make them the same",
            field="id",
        )
    quantity = document["quantity"]
    if quantity not in QUANTITIES:
        raise MeasureDefinitionError(
            f"{quantity!r} is not one of {', '.join(QUANTITIES)}", field="quantity"
        )
    lower = document["lower_is_better"]
    if lower is not None and not isinstance(lower, bool):
        raise MeasureDefinitionError(
            f"expected true, false or null (no value judgement), got {lower!r}",
            field="lower_is_better",
        )
    numerator = _selection(document["numerator"], "numerator")
    denominator = _selection(document["denominator"], "denominator")
    for key, selection in (("numerator", numerator), ("denominator", denominator)):
        if selection.is_empty():
            raise MeasureDefinitionError(
                f"select products with at least one of {', '.join(SELECTION_KEYS)} or any_of",
                field=key,
            )
    return MeasureDefinition(
        id=measure_id,
        title=_text(document, "title"),
        why_it_matters=_text(document, "why_it_matters"),
        numerator=numerator,
        denominator=denominator,
        quantity=quantity,
        lower_is_better=lower,
        citation=_text(document, "citation"),
        description=_text(document, "description") if "description" in document else None,
        method=_text(document, "method") if "method" in document else None,
    )


def _text(document: Mapping[str, Any], key: str) -> str:
    value = document[key]
    if not isinstance(value, str) or not value.strip():
        raise MeasureDefinitionError(f"expected text, got {value!r}", field=key)
    return value.strip()


def _selection(value: Any, where: str) -> ProductSelection:
    if not isinstance(value, Mapping):
        raise MeasureDefinitionError(
            f"expected a product selection (a mapping of {', '.join(SELECTION_KEYS)}, any_of, "
            f"exclude), got {type(value).__name__}",
            field=where,
        )
    allowed = (*SELECTION_KEYS, "any_of", "exclude")
    unknown = sorted(map(str, set(value) - set(allowed)))
    if unknown:
        raise MeasureDefinitionError(
            f"unknown selection key; allowed keys: {', '.join(allowed)}",
            field=f"{where}.{unknown[0]}",
        )
    values: dict[str, Any] = {}
    for key in ("vmp_codes", "vtm", "atc_prefix", "route", "form", "aware"):
        if key in value:
            values[key] = _values(value[key], f"{where}.{key}", codes=key == "vmp_codes")
    if "name_pattern" in value:
        pattern = value["name_pattern"]
        if not isinstance(pattern, str) or not pattern:
            raise MeasureDefinitionError(
                f"expected a regular expression as text, got {pattern!r}",
                field=f"{where}.name_pattern",
            )
        try:
            re.compile(pattern)
        except re.error as exc:
            raise MeasureDefinitionError(
                f"not a valid regular expression ({exc})", field=f"{where}.name_pattern"
            ) from None
        values["name_pattern"] = pattern
    if "any_of" in value:
        alternatives = value["any_of"]
        if not isinstance(alternatives, list) or not alternatives:
            raise MeasureDefinitionError(
                "expected a non-empty list of product selections", field=f"{where}.any_of"
            )
        values["any_of"] = tuple(
            _selection(alt, f"{where}.any_of[{i}]") for i, alt in enumerate(alternatives)
        )
        for i, alt in enumerate(values["any_of"]):
            if alt.is_empty():
                raise MeasureDefinitionError(
                    "an alternative that names nothing would select every product",
                    field=f"{where}.any_of[{i}]",
                )
    if "exclude" in value:
        values["exclude"] = _selection(value["exclude"], f"{where}.exclude")
    return ProductSelection(**values)


def _values(value: Any, where: str, codes: bool = False) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        # A dm+d code written without quotes is a YAML integer, which is exact; a float is not.
        if codes and isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise MeasureDefinitionError(
                f"expected text (or a list of text), got {item!r}"
                + ("; write dm+d codes in quotes" if codes else ""),
                field=where,
            )
        if codes and not item.strip().isdigit():
            raise MeasureDefinitionError(f"{item!r} is not a dm+d code (digits)", field=where)
        out.append(item.strip())
    if not out:
        raise MeasureDefinitionError("expected at least one value", field=where)
    return tuple(out)


def load_definition(path: str | Path) -> MeasureDefinition:
    """Read and check one measure definition file.

    Raises:
        MeasureDefinitionError: The file is missing, is not YAML (or uses aliases or repeated
            keys), or a field is invalid; the message names the file and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise MeasureDefinitionError("measure definition file not found", path=str(path))
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)  # noqa: S506
    except UnicodeDecodeError:
        raise MeasureDefinitionError("not UTF-8 text: save it as UTF-8", path=path.name) from None
    except RefusedYAMLError as exc:
        raise MeasureDefinitionError(exc.problem, path=path.name) from None
    except yaml.YAMLError as exc:
        raise MeasureDefinitionError(f"not valid YAML ({exc})", path=path.name) from None
    try:
        definition = parse_definition(document, name=path.stem)
    except MeasureDefinitionError as exc:
        raise exc.in_file(path.name) from None
    return replace(definition, source=path)


def load_definitions(
    folders: str | Path | Iterable[str | Path] | None = None,
) -> list[MeasureDefinition]:
    """Read every ``*.yaml`` measure definition in one or more folders.

    Args:
        folders: A folder or a list of folders; None reads the package's
            (:data:`DEFINITIONS_DIR`). To add a team's own measures to the package's, pass
            both: ``load_definitions([DEFINITIONS_DIR, "our_measures"])``.

    Returns:
        The definitions, sorted by ``id``.

    Raises:
        MeasureDefinitionError: A folder is missing, a file is invalid, or two files define
            the same ``id``.
    """
    if folders is None:
        folders = [DEFINITIONS_DIR]
    elif isinstance(folders, str | Path):
        folders = [folders]
    found: dict[str, MeasureDefinition] = {}
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise MeasureDefinitionError("measure definitions folder not found", path=str(folder))
        for path in sorted(folder.glob("*.yaml")):
            definition = load_definition(path)
            if definition.id in found:
                first = found[definition.id].source
                raise MeasureDefinitionError(
                    f"measure {definition.id!r} is also defined in {first}",
                    path=str(path),
                    field="id",
                )
            found[definition.id] = definition
    return [found[key] for key in sorted(found)]
