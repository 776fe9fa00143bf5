"""Best-value switch definitions: which brands compete, since when, against which targets.

A switch definition describes one molecule whose biosimilars (or generics) compete with an
originator brand. Definitions live in ``parameters/switch_definitions.yaml`` and are read with
:func:`load_switch_definitions`, which checks every key and raises a
:class:`SwitchDefinitionError` naming the offending key and what was expected.

Target profiles are the national targets for best-value uptake (METHODS.md 2.11):

* ``"2025"``: 100% of new patients on a best-value product 3 months after launch and at least
  80% of existing patients 10 months after launch (NHS England, Commissioning framework for
  best value biological medicines, April 2025);
* ``"2017"``: 90% of new patients at 3 months and 80% of existing patients at 12 months
  (NHS England, Commissioning framework for biological medicines, September 2017);
* or a custom mapping ``{new_share, new_months, existing_share, existing_months}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from medlib._safe_yaml import NoAliasLoader, RefusedYAMLError
from medlib.errors import MedlibError
from medlib.paths import PARAMETERS_DIR

__all__ = [
    "TARGET_PROFILES",
    "Dosing",
    "PriceAssumptions",
    "SwitchDefinition",
    "SwitchDefinitionError",
    "TargetProfile",
    "VmpProxy",
    "get_target_profile",
    "load_switch_definitions",
    "parse_switch_definitions",
    "select_switches",
]

DEFAULT_DEFINITIONS_PATH = PARAMETERS_DIR / "switch_definitions.yaml"
SWITCH_TYPES = ("biosimilar", "generic")
PRODUCT_CLASSES = ("best_value", "originator", "other")


class SwitchDefinitionError(MedlibError, ValueError):
    """A switch definition (or target profile) that is missing, malformed or contradictory."""


@dataclass(frozen=True)
class TargetProfile:
    """National targets for the share of patients on a best-value product.

    Attributes:
        name: ``"2025"``, ``"2017"`` or ``"custom"``.
        new_share: Target share (0-1) of new patients started on a best-value product.
        new_months: Months after launch from which the new-patient target applies.
        existing_share: Target share (0-1) of existing patients on a best-value product.
        existing_months: Months after launch by which the existing-patient target applies.
        source: Where the targets come from.
    """

    name: str
    new_share: float
    new_months: int
    existing_share: float
    existing_months: int
    source: str

    def describe(self) -> str:
        """One plain-English sentence stating both targets."""
        return (
            f"{self.name} targets: {_pct(self.new_share)} of new patients on a best-value "
            f"product {self.new_months} months after launch, and {_pct(self.existing_share)} "
            f"of existing patients by {self.existing_months} months"
        )


TARGET_PROFILES: dict[str, TargetProfile] = {
    "2025": TargetProfile(
        name="2025",
        new_share=1.0,
        new_months=3,
        existing_share=0.8,
        existing_months=10,
        source="NHS England, Commissioning framework for best value biological medicines (2025)",
    ),
    "2017": TargetProfile(
        name="2017",
        new_share=0.9,
        new_months=3,
        existing_share=0.8,
        existing_months=12,
        source="NHS England, Commissioning framework for biological medicines (2017)",
    ),
}


@dataclass(frozen=True)
class PriceAssumptions:
    """Prices and the programme's savings assumptions for one switch.

    Attributes:
        unit: What one unit of quantity is (e.g. "40 mg pre-filled pen").
        originator_price_per_unit: Originator price per unit in pounds.
        expected_reduction: Expected price reduction of the best-value product (0-1).
        target_uptake: Uptake the programme assumes is reached (0-1).
        months_to_target: Months after launch at which that uptake is reached (linear rise).
    """

    unit: str
    originator_price_per_unit: float
    expected_reduction: float
    target_uptake: float
    months_to_target: int


@dataclass(frozen=True)
class Dosing:
    """Dosing pattern: how often doses are given and how a patient counts as on treatment.

    Attributes:
        interval_days: Days between doses.
        units_per_dose: Price units per dose (e.g. 4 vials).
        active_window_days: A patient is on treatment at a date if their latest dose is less
            than this many days before it.
    """

    interval_days: int
    units_per_dose: float
    active_window_days: int


@dataclass(frozen=True)
class VmpProxy:
    """SCMD VMPs that stand in for brands where brands are not recorded.

    Attributes:
        label: Plain-English statement of what the proxy measures and why it is a proxy.
        best_value_like: ``{vmp_code: SCMD quantity units per dose}`` for VMPs mostly
            supplied as best-value brands.
        originator_like: The same for VMPs mostly supplied as the originator.
    """

    label: str
    best_value_like: Mapping[str, float]
    originator_like: Mapping[str, float]


@dataclass(frozen=True)
class SwitchDefinition:
    """One best-value switch.

    Attributes:
        molecule: Lower-case molecule name, as in the ``hcd_activity`` table.
        type: ``"biosimilar"`` or ``"generic"``.
        originator: Originator brand names.
        best_value: Best-value brand names.
        launch_date: Launch (or loss-of-exclusivity) date.
        launch_source: Citation for the launch date.
        target_profile: The targets that apply.
        price: Prices and savings assumptions.
        dosing: Dosing pattern.
        vmp_proxy: SCMD VMP-level proxy, where one is meaningful.
    """

    molecule: str
    type: str
    originator: tuple[str, ...]
    best_value: tuple[str, ...]
    launch_date: dt.date
    launch_source: str
    target_profile: TargetProfile
    price: PriceAssumptions
    dosing: Dosing
    vmp_proxy: VmpProxy | None = None

    @property
    def launch_month(self) -> dt.date:
        """First day of the launch month (month 0 of every since-launch series)."""
        return self.launch_date.replace(day=1)

    def product_class(self, product: str) -> str:
        """Classify a brand name as ``best_value``, ``originator`` or ``other`` (any case)."""
        key = str(product).strip().casefold()
        if key in {p.casefold() for p in self.best_value}:
            return "best_value"
        if key in {p.casefold() for p in self.originator}:
            return "originator"
        return "other"

    def with_target_profile(
        self, profile: str | Mapping[str, Any] | TargetProfile
    ) -> SwitchDefinition:
        """A copy of this definition with another target profile."""
        return replace(self, target_profile=get_target_profile(profile))


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


# --------------------------------------------------------------------------- validation


def _fail(key: str, message: str) -> SwitchDefinitionError:
    return SwitchDefinitionError(f"{key}: {message}")


def _check_keys(
    mapping: Any, key: str, required: set[str], optional: set[str] = frozenset()
) -> Mapping[str, Any]:
    if not isinstance(mapping, Mapping):
        raise _fail(key, f"expected a mapping of keys to values, got {type(mapping).__name__}")
    unknown = sorted(set(mapping) - required - optional)
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise _fail(key, f"unknown key(s) {', '.join(map(str, unknown))}; allowed keys: {allowed}")
    missing = sorted(required - set(mapping))
    if missing:
        raise _fail(key, f"missing required key(s) {', '.join(missing)}")
    return mapping


def _number(
    value: Any,
    key: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(key, f"expected a number, got {value!r}")
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        bound = f"greater than {low:g}" if low_open else f"at least {low:g}"
        raise _fail(key, f"expected a number {bound}, got {value:g}")
    if high is not None and value > high:
        raise _fail(key, f"expected a number no more than {high:g}, got {value:g}")
    return value


def _share(value: Any, key: str) -> float:
    return _number(value, key, low=0.0, high=1.0)


def _whole(value: Any, key: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(key, f"expected a whole number, got {value!r}")
    if value < low:
        raise _fail(key, f"expected a whole number of at least {low}, got {value}")
    return value


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, f"expected non-empty text, got {value!r}")
    return " ".join(value.split())


def _brands(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise _fail(key, f"expected a list of brand names, got {value!r}")
    if not value:
        raise _fail(key, "the list of brands is empty; name at least one brand")
    names = tuple(_text(v, f"{key}[{i}]") for i, v in enumerate(value))
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise _fail(key, f"brand {name!r} is listed twice")
        seen.add(name.casefold())
    return names


def _date(value: Any, key: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(key, f"expected a date written YYYY-MM-DD, got {value!r}")


def get_target_profile(profile: str | Mapping[str, Any] | TargetProfile) -> TargetProfile:
    """Resolve a target profile name or custom mapping.

    Args:
        profile: ``"2025"``, ``"2017"``, a :class:`TargetProfile`, or a mapping with keys
            ``new_share, new_months, existing_share, existing_months`` (shares 0-1) and an
            optional ``source``.

    Returns:
        The target profile.

    Raises:
        SwitchDefinitionError: Unknown profile name or malformed custom mapping.

    Example:
        >>> get_target_profile("2017").existing_months
        12
    """
    if isinstance(profile, TargetProfile):
        return profile
    if isinstance(profile, int) and not isinstance(profile, bool):
        profile = str(profile)
    if isinstance(profile, str):
        if profile in TARGET_PROFILES:
            return TARGET_PROFILES[profile]
        raise _fail(
            "target_profile",
            f"unknown target profile {profile!r}; expected one of "
            f"{', '.join(repr(p) for p in TARGET_PROFILES)} or a custom mapping",
        )
    spec = _check_keys(
        profile,
        "target_profile",
        {"new_share", "new_months", "existing_share", "existing_months"},
        {"source"},
    )
    return TargetProfile(
        name="custom",
        new_share=_share(spec["new_share"], "target_profile.new_share"),
        new_months=_whole(spec["new_months"], "target_profile.new_months"),
        existing_share=_share(spec["existing_share"], "target_profile.existing_share"),
        existing_months=_whole(spec["existing_months"], "target_profile.existing_months"),
        source=_text(spec.get("source", "custom targets"), "target_profile.source"),
    )


_PRICE_FIELDS = {"expected_reduction", "target_uptake", "months_to_target"}


def _price_defaults(value: Any) -> dict[str, dict[str, Any]]:
    spec = _check_keys(value, "price_defaults", set(), set(SWITCH_TYPES))
    out: dict[str, dict[str, Any]] = {}
    for kind, fields in spec.items():
        _check_keys(fields, f"price_defaults.{kind}", set(), _PRICE_FIELDS)
        out[kind] = dict(fields)
    return out


def _price(value: Any, key: str, defaults: Mapping[str, Any]) -> PriceAssumptions:
    spec = _check_keys(value, key, {"unit", "originator_price_per_unit"}, _PRICE_FIELDS)
    merged = {**defaults, **spec}
    missing = sorted(_PRICE_FIELDS - set(merged))
    if missing:
        raise _fail(
            key,
            f"missing {', '.join(missing)}: give them here or under price_defaults for this type",
        )
    return PriceAssumptions(
        unit=_text(merged["unit"], f"{key}.unit"),
        originator_price_per_unit=_number(
            merged["originator_price_per_unit"],
            f"{key}.originator_price_per_unit",
            low=0.0,
            low_open=True,
        ),
        expected_reduction=_share(merged["expected_reduction"], f"{key}.expected_reduction"),
        target_uptake=_share(merged["target_uptake"], f"{key}.target_uptake"),
        months_to_target=_whole(merged["months_to_target"], f"{key}.months_to_target"),
    )


def _dosing(value: Any, key: str) -> Dosing:
    spec = _check_keys(value, key, {"interval_days", "units_per_dose"}, {"active_window_days"})
    interval = _whole(spec["interval_days"], f"{key}.interval_days", low=1)
    # Twice the interval tolerates one missed or late dose before a patient counts as stopped.
    window = _whole(spec.get("active_window_days", 2 * interval), f"{key}.active_window_days")
    if window < interval:
        raise _fail(
            f"{key}.active_window_days",
            f"must be at least the dosing interval ({interval} days), got {window}",
        )
    return Dosing(
        interval_days=interval,
        units_per_dose=_number(
            spec["units_per_dose"], f"{key}.units_per_dose", low=0.0, low_open=True
        ),
        active_window_days=window,
    )


def _vmp_map(value: Any, key: str) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise _fail(key, "expected a non-empty mapping of VMP code to quantity units per dose")
    out: dict[str, float] = {}
    for code, per_dose in value.items():
        code_text = str(code).strip()
        if not code_text.isdigit():
            raise _fail(key, f"VMP code {code!r} is not a dm+d id (digits, quoted as text)")
        out[code_text] = _number(per_dose, f"{key}.{code_text}", low=0.0, low_open=True)
    return out


def _vmp_proxy(value: Any, key: str) -> VmpProxy:
    spec = _check_keys(value, key, {"label", "best_value_like", "originator_like"})
    best = _vmp_map(spec["best_value_like"], f"{key}.best_value_like")
    orig = _vmp_map(spec["originator_like"], f"{key}.originator_like")
    both = sorted(set(best) & set(orig))
    if both:
        raise _fail(key, f"VMP code(s) {', '.join(both)} are in both lists")
    return VmpProxy(
        label=_text(spec["label"], f"{key}.label"), best_value_like=best, originator_like=orig
    )


_SWITCH_REQUIRED = {
    "molecule",
    "type",
    "originator",
    "best_value",
    "launch_date",
    "launch_source",
    "target_profile",
    "price",
    "dosing",
}


def _switch(value: Any, key: str, defaults: Mapping[str, Mapping[str, Any]]) -> SwitchDefinition:
    spec = _check_keys(value, key, _SWITCH_REQUIRED, {"vmp_proxy"})
    molecule = _text(spec["molecule"], f"{key}.molecule")
    if molecule != molecule.lower():
        raise _fail(f"{key}.molecule", f"write the molecule in lower case, got {molecule!r}")
    kind = spec["type"]
    if kind not in SWITCH_TYPES:
        raise _fail(f"{key}.type", f"expected one of {', '.join(SWITCH_TYPES)}, got {kind!r}")
    originator = _brands(spec["originator"], f"{key}.originator")
    best_value = _brands(spec["best_value"], f"{key}.best_value")
    overlap = sorted({b.casefold() for b in originator} & {b.casefold() for b in best_value})
    if overlap:
        raise _fail(
            f"{key}.best_value",
            f"brand(s) {', '.join(overlap)} are listed as both originator and best value",
        )
    try:
        profile = get_target_profile(spec["target_profile"])
    except SwitchDefinitionError as exc:
        raise SwitchDefinitionError(f"{key}.{exc}") from None
    return SwitchDefinition(
        molecule=molecule,
        type=kind,
        originator=originator,
        best_value=best_value,
        launch_date=_date(spec["launch_date"], f"{key}.launch_date"),
        launch_source=_text(spec["launch_source"], f"{key}.launch_source"),
        target_profile=profile,
        price=_price(spec["price"], f"{key}.price", defaults.get(kind, {})),
        dosing=_dosing(spec["dosing"], f"{key}.dosing"),
        vmp_proxy=_vmp_proxy(spec["vmp_proxy"], f"{key}.vmp_proxy")
        if "vmp_proxy" in spec
        else None,
    )


def parse_switch_definitions(document: Any) -> dict[str, SwitchDefinition]:
    """Validate an already-parsed definitions document.

    Args:
        document: The mapping read from the YAML file (keys ``schema_version``,
            ``price_defaults``, ``switches``).

    Returns:
        ``{molecule: SwitchDefinition}`` in file order.

    Raises:
        SwitchDefinitionError: Naming the first key that is wrong and what was expected.
    """
    spec = _check_keys(
        document, "switch definitions", {"switches"}, {"schema_version", "price_defaults"}
    )
    version = spec.get("schema_version", 1)
    if version != 1:
        raise _fail("schema_version", f"this version of medlib reads version 1, got {version!r}")
    defaults = _price_defaults(spec.get("price_defaults", {}))
    switches = spec["switches"]
    if not isinstance(switches, list) or not switches:
        raise _fail("switches", "expected a non-empty list of switch definitions")
    out: dict[str, SwitchDefinition] = {}
    for i, item in enumerate(switches):
        name = item.get("molecule") if isinstance(item, Mapping) else None
        key = f"switches[{i}]" + (f" ({name})" if isinstance(name, str) else "")
        definition = _switch(item, key, defaults)
        if definition.molecule in out:
            raise _fail(key, f"molecule {definition.molecule!r} is defined twice")
        out[definition.molecule] = definition
    return out


def load_switch_definitions(path: str | Path | None = None) -> dict[str, SwitchDefinition]:
    """Read and validate a switch definitions YAML file.

    Args:
        path: The file; None reads the project's ``parameters/switch_definitions.yaml``.

    Returns:
        ``{molecule: SwitchDefinition}`` in file order.

    Raises:
        SwitchDefinitionError: The file is missing, is not YAML, or a definition is invalid
            (the message names the file and the key).
    """
    path = Path(path) if path is not None else DEFAULT_DEFINITIONS_PATH
    if not path.is_file():
        raise SwitchDefinitionError(f"{path}: switch definitions file not found")
    try:
        # A safe loader that also refuses YAML aliases (one can stand for millions of values).
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=NoAliasLoader)  # noqa: S506
    except RefusedYAMLError as exc:
        raise SwitchDefinitionError(f"{path}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise SwitchDefinitionError(f"{path}: not valid YAML ({exc})") from None
    try:
        return parse_switch_definitions(document)
    except SwitchDefinitionError as exc:
        raise SwitchDefinitionError(f"{path.name}: {exc}") from None


def select_switches(
    definitions: Mapping[str, SwitchDefinition],
    molecules: list[str] | tuple[str, ...],
    target_profile: str | Mapping[str, Any] | None = None,
) -> list[SwitchDefinition]:
    """Pick the named switches, optionally overriding their target profile.

    Args:
        definitions: From :func:`load_switch_definitions`.
        molecules: Molecules to keep, in the order wanted.
        target_profile: ``"2025"``, ``"2017"``, a custom mapping, or ``"definition"``/None to
            keep each switch's own profile.

    Raises:
        SwitchDefinitionError: An unknown molecule, an empty or repeated list, or an unknown
            target profile.
    """
    if isinstance(molecules, str) or not isinstance(molecules, list | tuple) or not molecules:
        raise _fail("switches", f"expected a non-empty list of molecules, got {molecules!r}")
    unknown = [m for m in molecules if m not in definitions]
    if unknown:
        raise _fail(
            "switches",
            f"no definition for {', '.join(map(repr, unknown))}; defined: {', '.join(definitions)}",
        )
    if len(set(molecules)) != len(molecules):
        raise _fail("switches", f"a molecule is listed twice in {list(molecules)}")
    chosen = [definitions[m] for m in molecules]
    if target_profile is None or target_profile == "definition":
        return chosen
    profile = get_target_profile(target_profile)
    return [d.with_target_profile(profile) for d in chosen]
