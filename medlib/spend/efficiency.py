"""The efficiency pipeline: forecast efficiencies from molecules losing exclusivity.

The pipeline (``parameters/efficiency_pipeline.yaml``, read with :func:`load_pipeline`) lists
molecules whose price is expected to fall: a biosimilar launch, a generic launch after loss of
exclusivity (patent or SPC expiry), or a tender award. Each entry has a ``date``, a ``type``
(``biosimilar`` or ``generic``) and, optionally, its own price reduction and uptake profile.
Without them the programme's assumptions apply (North East and North Cumbria medicines value
programme forecast assumptions):

* **biosimilar**: price 50% lower; uptake rises linearly from 0 in the month of the date to
  80% twelve months later, then stays at 80%;
* **generic**: price 90% lower; a full (100%) switch three months after the date, reached by
  the same linear rise (0, 1/3, 2/3, then 100% from month 3).

**Months are counted from the month of the date.** Month ``k = 0`` is the calendar month that
contains the date, whatever its day; ``k = 1`` the next month, and so on (months before the date
have negative ``k`` and uptake 0). The linear profile is ``target x min(max(k, 0), n) / n`` for
``n = months_to_target`` (``n = 0`` gives the target from month 0), exactly the rule of
:func:`medlib.switch.savings.uptake_path`, which backs the switch savings forecast
(:func:`medlib.switch.savings.forecast_savings`: "uptake rises linearly from 0 in the launch
month"). The same assumption therefore gives the same uptake in both. An entry may ask for
``shape: step`` instead: 0 before month ``n``, the target from month ``n`` on.

Worked example, a biosimilar dated 15 October 2024 (October 2024 is ``k = 0``): October 0,
November 0.8 x 1/12 = 0.0667, April 2025 (``k = 6``) 0.4, October 2025 (``k = 12``) and after
0.8. A generic dated 10 January 2026: January 0, February 1/3, March 2/3, April 2026 on 1.0.

For each entry, each trust and the system (the sum over the trusts, under a code the caller
gives), from a small monthly table (``year_month, trust_code, molecule, cost_gbp, quantity``):

* **Baseline**: the mean monthly cost over the last 12 months of data strictly before the month
  of the date (fewer if the data hold fewer; :func:`baselines` says how many). The months of
  data are the months that appear anywhere in the table; a trust with no rows for the molecule
  in such a month spent 0 there. A month in which the trust has rows but no row has a cost is
  left out (spend is never invented). No months, or no spend at all, gives the status
  ``"no baseline in this data"``. The baseline price per unit is baseline cost / baseline
  quantity over the same months.
* **Forecast efficiency** in each month of the financial year: ``baseline monthly cost x
  price_reduction x uptake(k)``. Totals for the year, for the months to the period end and for
  the months after it (the remaining months). An entry dated after the year ends is ``"not
  due this year"`` and contributes 0.
* **Realised efficiency** in each month from the date to the period end: ``(baseline price per
  unit - actual price per unit) x actual quantity``, which is ``baseline price per unit x
  quantity - actual cost``. A month with no use (quantity 0) realises 0, with a note; a month
  without a cost, without data, or without a baseline price is left blank with a note.

Everything is pure pandas on aggregated inputs; nothing is read from the store.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from medlib._safe_yaml import RefusedYAMLError, UniqueKeyLoader
from medlib.errors import InputError, MedlibError
from medlib.paths import PARAMETERS_DIR
from medlib.present.wording import format_gbp, format_month
from medlib.reference.financial_years import fy_bounds, fy_of_month
from medlib.validation import parse_month, require_columns

__all__ = [
    "ASSUMPTIONS_SOURCE",
    "DEFAULT_PIPELINE_PATH",
    "DEFAULT_PRICE_REDUCTION",
    "DEFAULT_UPTAKE",
    "EFFICIENCY_BASELINE_COLUMNS",
    "EFFICIENCY_MONTHLY_COLUMNS",
    "EFFICIENCY_SUMMARY_COLUMNS",
    "ENTRY_TYPES",
    "EVENTS",
    "STATUS_DUE",
    "STATUS_NO_BASELINE",
    "STATUS_NOT_DUE",
    "STATUS_UNDER_WAY",
    "UPTAKE_SHAPES",
    "EfficiencyForecast",
    "EfficiencyPipelineError",
    "PipelineEntry",
    "UptakeProfile",
    "baselines",
    "efficiency_sentence",
    "forecast_efficiencies",
    "load_pipeline",
    "months_since_date",
    "parse_pipeline",
    "uptake",
    "uptake_profile",
]

#: The shipped pipeline, read by :func:`load_pipeline` when no path is given.
DEFAULT_PIPELINE_PATH = PARAMETERS_DIR / "efficiency_pipeline.yaml"
#: Where the default price reductions and uptake profiles come from.
ASSUMPTIONS_SOURCE = "North East and North Cumbria medicines value programme forecast assumptions"
ENTRY_TYPES = ("biosimilar", "generic")
#: What the date of an entry marks.
EVENTS = (
    "biosimilar launch",
    "generic launch",
    "loss of exclusivity",
    "patent expiry",
    "tender award",
)
UPTAKE_SHAPES = ("linear", "step")

STATUS_NO_BASELINE = "no baseline in this data"
STATUS_NOT_DUE = "not due this year"
STATUS_DUE = "due later this year"
STATUS_UNDER_WAY = "under way"
_HAS_BASELINE = "baseline"
_MONTHS_IN_BASELINE = 12


class EfficiencyPipelineError(MedlibError, ValueError):
    """An efficiency pipeline file or entry that is missing, malformed or contradictory.

    Attributes:
        path: The file's name, when the error comes from a file.
        entry: The entry, e.g. ``"entries[2] (ustekinumab)"``, when one is at fault.
        field: The field at fault, e.g. ``"price_reduction"``.
        reason: What is wrong and what was expected.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | None = None,
        entry: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path, self.entry, self.field, self.reason = path, entry, field, reason
        super().__init__(": ".join(p for p in (path, entry, field, reason) if p))

    def in_file(self, path: str) -> EfficiencyPipelineError:
        """The same error, naming the file it was found in."""
        return EfficiencyPipelineError(self.reason, path=path, entry=self.entry, field=self.field)


# --- uptake -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UptakeProfile:
    """How the share of use moved to the cheaper product grows after the date.

    Attributes:
        target: Share reached (0-1).
        months_to_target: Months after the month of the date at which it is reached.
        shape: ``"linear"`` (rises from 0 in month 0) or ``"step"`` (0 until the month
            ``months_to_target``, then the target).
    """

    target: float
    months_to_target: int
    shape: str = "linear"

    def describe(self) -> str:
        """The profile in words, e.g. ``rising linearly to 80% over 12 months``."""
        share = f"{self.target * 100:g}%"
        if self.months_to_target == 0:
            return f"{share} from the month of the date"
        if self.shape == "step":
            return f"{share} from {self.months_to_target} months after the date"
        return f"rising linearly to {share} over {self.months_to_target} months"


#: The programme's default uptake by type (:data:`ASSUMPTIONS_SOURCE`).
DEFAULT_UPTAKE: dict[str, UptakeProfile] = {
    "biosimilar": UptakeProfile(target=0.8, months_to_target=12, shape="linear"),
    "generic": UptakeProfile(target=1.0, months_to_target=3, shape="linear"),
}
#: The programme's default price reduction by type (:data:`ASSUMPTIONS_SOURCE`).
DEFAULT_PRICE_REDUCTION: dict[str, float] = {"biosimilar": 0.5, "generic": 0.9}


def uptake_profile(
    months_since: np.ndarray | Sequence[int] | int,
    target: float,
    months_to_target: int,
    shape: str = "linear",
) -> np.ndarray:
    """Uptake in each month counted from the month of the date (that month is 0).

    ``"linear"``: ``target x clip(k / months_to_target, 0, 1)``, the rule of
    :func:`medlib.switch.savings.uptake_path`. ``"step"``: 0 before month ``months_to_target``,
    ``target`` from it. ``months_to_target = 0`` gives ``target`` from month 0 in both. Months
    before the date (negative ``k``) have uptake 0.

    Args:
        months_since: Month numbers ``k``.
        target: Share reached (0-1).
        months_to_target: Months to reach it.
        shape: ``"linear"`` or ``"step"``.

    Returns:
        The uptake (0-1) for each ``k``.

    Raises:
        InputError: An unknown shape.

    Example:
        >>> uptake_profile([-1, 0, 6, 12, 18], 0.8, 12).tolist()
        [0.0, 0.0, 0.4, 0.8, 0.8]
        >>> uptake_profile([0, 1, 2, 3, 4], 1.0, 3, "step").tolist()
        [0.0, 0.0, 0.0, 1.0, 1.0]
    """
    if shape not in UPTAKE_SHAPES:
        raise InputError(f"uptake shape must be one of {', '.join(UPTAKE_SHAPES)}, got {shape!r}")
    k = np.asarray(months_since, dtype=float)
    if months_to_target == 0 or shape == "step":
        return np.where(k >= months_to_target, float(target), 0.0)
    return float(target) * np.clip(k / months_to_target, 0.0, 1.0)


# --- the pipeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineEntry:
    """One molecule of the pipeline.

    Attributes:
        molecule: Lower-case molecule (VTM) name, e.g. ``"ustekinumab"``.
        type: ``"biosimilar"`` or ``"generic"``.
        event: What the date marks (one of :data:`EVENTS`).
        date: The date of the event.
        source: The public source of the date.
        price_reduction: Expected fall in price (0-1).
        uptake: The uptake profile.
        assumptions_source: Where the price reduction and uptake come from.
        note: Anything a reader should know (e.g. that a date is approximate).
    """

    molecule: str
    type: str
    event: str
    date: dt.date
    source: str
    price_reduction: float
    uptake: UptakeProfile
    assumptions_source: str = ASSUMPTIONS_SOURCE
    note: str = ""

    @property
    def month(self) -> pd.Timestamp:
        """The first day of the month of the date (month 0)."""
        return pd.Timestamp(self.date.year, self.date.month, 1)


def months_since_date(entry: PipelineEntry, month: object) -> int:
    """Calendar months from the month of the entry's date to ``month`` (that month is 0).

    Example:
        >>> e = PipelineEntry("x", "generic", "generic launch", dt.date(2024, 10, 15), "s",
        ...                   0.9, DEFAULT_UPTAKE["generic"])
        >>> months_since_date(e, "2024-10"), months_since_date(e, "2025-04-01")
        (0, 6)
    """
    stamp = parse_month(month)
    return (stamp.year - entry.date.year) * 12 + (stamp.month - entry.date.month)


def uptake(entry: PipelineEntry, month: int | object) -> float:
    """The entry's assumed uptake in one month.

    Args:
        entry: The pipeline entry.
        month: A month number ``k`` (an ``int``, the month of the date being 0), or a month
            (``"YYYY-MM"``, a date or a Timestamp).

    Returns:
        The uptake, 0-1.

    Example:
        >>> e = PipelineEntry("x", "biosimilar", "biosimilar launch", dt.date(2024, 10, 15),
        ...                   "s", 0.5, DEFAULT_UPTAKE["biosimilar"])
        >>> uptake(e, 0), round(uptake(e, "2024-11"), 4), uptake(e, "2025-04"), uptake(e, 30)
        (0.0, 0.0667, 0.4, 0.8)
    """
    if isinstance(month, int | np.integer) and not isinstance(month, bool):
        k = int(month)
    else:
        k = months_since_date(entry, month)
    profile = entry.uptake
    return float(uptake_profile([k], profile.target, profile.months_to_target, profile.shape)[0])


class _UniqueKeyLoader(UniqueKeyLoader):
    """The pipeline's loader: no aliases, no repeated keys, dates as text (reported per entry)."""


_ENTRY_REQUIRED = {"molecule", "type", "event", "date", "source"}
_ENTRY_OPTIONAL = {"price_reduction", "uptake", "assumptions_source", "note"}
_UPTAKE_FIELDS = {"target", "months_to_target", "shape"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _check_keys(
    mapping: Any, entry: str | None, field_name: str | None, required: set[str], optional: set[str]
) -> Mapping[str, Any]:
    if not isinstance(mapping, Mapping):
        raise EfficiencyPipelineError(
            f"expected a mapping of fields to values, got {type(mapping).__name__}",
            entry=entry,
            field=field_name,
        )
    unknown = sorted(map(str, set(mapping) - required - optional))
    if unknown:
        raise EfficiencyPipelineError(
            f"unknown field(s) {', '.join(unknown)}; allowed fields: "
            f"{', '.join(sorted(required | optional))}",
            entry=entry,
            field=field_name,
        )
    missing = sorted(required - set(mapping))
    if missing:
        raise EfficiencyPipelineError(
            f"missing required field(s) {', '.join(missing)}", entry=entry, field=field_name
        )
    return mapping


def _text(value: Any, entry: str, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise EfficiencyPipelineError(
            f"expected non-empty text, got {value!r}", entry=entry, field=field_name
        )
    return " ".join(value.split())


def _choice(value: Any, entry: str, field_name: str, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise EfficiencyPipelineError(
            f"expected one of {', '.join(allowed)}, got {value!r}", entry=entry, field=field_name
        )
    return value


def _share(value: Any, entry: str, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise EfficiencyPipelineError(
            f"expected a share from 0 to 1 (e.g. 0.5 for 50%), got {value!r}",
            entry=entry,
            field=field_name,
        )
    return float(value)


def _months(value: Any, entry: str, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EfficiencyPipelineError(
            f"expected a whole number of months, 0 or more, got {value!r}",
            entry=entry,
            field=field_name,
        )
    return value


def _date(value: Any, entry: str, field_name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise EfficiencyPipelineError(
        f"expected a real date written YYYY-MM-DD (e.g. 2024-09-01), got {value!r}",
        entry=entry,
        field=field_name,
    )


def _uptake(value: Any, entry: str, kind: str) -> UptakeProfile:
    spec = _check_keys(value, entry, "uptake", set(), _UPTAKE_FIELDS)
    default = DEFAULT_UPTAKE[kind]
    return UptakeProfile(
        target=_share(spec.get("target", default.target), entry, "uptake.target"),
        months_to_target=_months(
            spec.get("months_to_target", default.months_to_target),
            entry,
            "uptake.months_to_target",
        ),
        shape=_choice(spec.get("shape", default.shape), entry, "uptake.shape", UPTAKE_SHAPES),
    )


def _entry(value: Any, entry: str) -> PipelineEntry:
    spec = _check_keys(value, entry, None, _ENTRY_REQUIRED, _ENTRY_OPTIONAL)
    molecule = _text(spec["molecule"], entry, "molecule")
    if molecule != molecule.lower():
        raise EfficiencyPipelineError(
            f"write the molecule in lower case, got {molecule!r}", entry=entry, field="molecule"
        )
    kind = _choice(spec["type"], entry, "type", ENTRY_TYPES)
    overridden = [f for f in ("price_reduction", "uptake") if f in spec]
    if overridden and "assumptions_source" not in spec:
        raise EfficiencyPipelineError(
            f"{' and '.join(overridden)} differ from the programme's defaults, so the entry "
            "needs an assumptions_source saying where they come from",
            entry=entry,
            field="assumptions_source",
        )
    return PipelineEntry(
        molecule=molecule,
        type=kind,
        event=_choice(spec["event"], entry, "event", EVENTS),
        date=_date(spec["date"], entry, "date"),
        source=_text(spec["source"], entry, "source"),
        price_reduction=_share(spec["price_reduction"], entry, "price_reduction")
        if "price_reduction" in spec
        else DEFAULT_PRICE_REDUCTION[kind],
        uptake=_uptake(spec["uptake"], entry, kind) if "uptake" in spec else DEFAULT_UPTAKE[kind],
        assumptions_source=_text(spec["assumptions_source"], entry, "assumptions_source")
        if "assumptions_source" in spec
        else ASSUMPTIONS_SOURCE,
        note=_text(spec["note"], entry, "note") if "note" in spec else "",
    )


def parse_pipeline(document: Any) -> list[PipelineEntry]:
    """Validate an already-parsed pipeline document.

    Args:
        document: The mapping read from the YAML file: ``schema_version`` (optional, 1) and
            ``entries``, a non-empty list of mappings with the fields ``molecule``, ``type``,
            ``event``, ``date``, ``source`` and, optionally, ``price_reduction``, ``uptake``
            (``target``, ``months_to_target``, ``shape``; missing ones take the type's
            default), ``assumptions_source`` (required with either override) and ``note``.

    Returns:
        The entries in file order.

    Raises:
        EfficiencyPipelineError: Naming the entry and the field that is wrong and what was
            expected (a molecule listed twice is an error).

    Example:
        >>> entries = parse_pipeline({"entries": [{"molecule": "apixaban", "type": "generic",
        ...     "event": "loss of exclusivity", "date": "2026-05-01", "source": "a source"}]})
        >>> entries[0].price_reduction, entries[0].uptake.describe()
        (0.9, 'rising linearly to 100% over 3 months')
    """
    spec = _check_keys(document, None, None, {"entries"}, {"schema_version"})
    version = spec.get("schema_version", 1)
    if version != 1:
        raise EfficiencyPipelineError(
            f"this version of medlib reads version 1, got {version!r}", field="schema_version"
        )
    items = spec["entries"]
    if not isinstance(items, list) or not items:
        raise EfficiencyPipelineError(
            "expected a non-empty list of pipeline entries", field="entries"
        )
    out: list[PipelineEntry] = []
    first: dict[str, str] = {}
    for i, item in enumerate(items):
        name = item.get("molecule") if isinstance(item, Mapping) else None
        label = f"entries[{i}]" + (f" ({name})" if isinstance(name, str) else "")
        entry = _entry(item, label)
        if entry.molecule in first:
            raise EfficiencyPipelineError(
                f"{entry.molecule!r} is already listed at {first[entry.molecule]}; "
                "list each molecule once",
                entry=label,
                field="molecule",
            )
        first[entry.molecule] = label
        out.append(entry)
    return out


def load_pipeline(path: str | Path | None = None) -> list[PipelineEntry]:
    """Read and validate an efficiency pipeline YAML file.

    Args:
        path: The file; None reads the project's ``parameters/efficiency_pipeline.yaml``.

    Returns:
        The entries in file order.

    Raises:
        EfficiencyPipelineError: The file is missing, is not YAML, repeats a key, or an entry
            is invalid; the message names the file, the entry and the field.
    """
    path = Path(path) if path is not None else DEFAULT_PIPELINE_PATH
    if not path.is_file():
        raise EfficiencyPipelineError("efficiency pipeline file not found", path=path.name)
    try:
        # A SafeLoader that also refuses repeated keys (see _UniqueKeyLoader).
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError:
        raise EfficiencyPipelineError("not UTF-8 text: save it as UTF-8", path=path.name) from None
    except RefusedYAMLError as exc:
        raise EfficiencyPipelineError(exc.problem, path=path.name) from None
    except yaml.YAMLError as exc:
        raise EfficiencyPipelineError(f"not valid YAML ({exc})", path=path.name) from None
    except RecursionError:
        raise EfficiencyPipelineError(
            "a value contains itself (a YAML alias inside its own anchor)", path=path.name
        ) from None
    try:
        return parse_pipeline(document)
    except EfficiencyPipelineError as exc:
        raise exc.in_file(path.name) from None


# --- inputs -----------------------------------------------------------------------------------

_MONTHLY_NEEDED = ["year_month", "trust_code", "cost_gbp", "quantity"]


@dataclass(frozen=True)
class _Data:
    """The monthly table reduced to what the pipeline needs, and the months it covers."""

    rows: pd.DataFrame  # year_month, trust_code, molecule key, cost_gbp, quantity
    months: pd.DatetimeIndex


def _prepare(monthly: pd.DataFrame, molecule_column: str, through: object | None) -> _Data:
    require_columns(monthly, [*_MONTHLY_NEEDED, molecule_column], "monthly spend")
    try:
        month = pd.to_datetime(monthly["year_month"])
    except (ValueError, TypeError) as exc:
        raise InputError(f"monthly spend: year_month must hold dates ({exc})") from None
    rows = pd.DataFrame(
        {
            "year_month": month.dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]"),
            "trust_code": monthly["trust_code"].astype(str).to_numpy(),
            "molecule": monthly[molecule_column].astype(str).str.casefold().to_numpy(),
            "cost_gbp": pd.to_numeric(monthly["cost_gbp"], errors="coerce").astype(float),
            "quantity": pd.to_numeric(monthly["quantity"], errors="coerce").astype(float),
        }
    )
    if through is not None:
        rows = rows[rows["year_month"] <= parse_month(through, "through")]
    months = pd.DatetimeIndex(sorted(rows["year_month"].unique()), name="year_month")
    return _Data(rows=rows, months=months)


def _trust_list(trusts: Sequence[str], system_code: str | None) -> list[str]:
    if isinstance(trusts, str) or not isinstance(trusts, Sequence) or not trusts:
        raise InputError(f"trusts must be a non-empty list of trust codes, got {trusts!r}")
    out = [str(t) for t in trusts]
    if len(set(out)) != len(out):
        raise InputError(f"a trust is listed twice in {out}")
    if system_code is not None and str(system_code) in out:
        raise InputError(f"the system code {system_code!r} is also one of the trusts")
    return out


def _entries(entries: Sequence[PipelineEntry]) -> list[PipelineEntry]:
    if isinstance(entries, PipelineEntry | str | Mapping):
        raise InputError(f"entries must be a list of PipelineEntry objects, got {entries!r}")
    out = list(entries)
    bad = [e for e in out if not isinstance(e, PipelineEntry)]
    if bad:
        raise InputError(f"entries must be PipelineEntry objects (load_pipeline), got {bad[0]!r}")
    molecules = [e.molecule.casefold() for e in out]
    repeated = sorted({m for m in molecules if molecules.count(m) > 1})
    if repeated:
        raise InputError(f"molecule(s) {', '.join(repeated)} appear in more than one entry")
    return out


def _series(
    data: _Data, molecule: str, trusts: list[str], system_code: str | None
) -> dict[str, pd.DataFrame]:
    """Per organisation: cost and quantity in every month of data (no rows there = 0)."""
    rows = data.rows[data.rows["molecule"] == molecule.casefold()]
    grouped = rows.groupby(["trust_code", "year_month"])[["cost_gbp", "quantity"]].sum(min_count=1)
    out: dict[str, pd.DataFrame] = {}
    for trust in trusts:
        if trust in grouped.index.get_level_values(0):
            own = grouped.xs(trust, level="trust_code")
        else:
            own = grouped.iloc[0:0].droplevel(0)
        out[trust] = own.reindex(data.months, fill_value=0.0)
    if system_code is not None:
        # The sum over the trusts; a month in which any trust's cost (or quantity) is unknown
        # is unknown for the system too.
        out[system_code] = pd.DataFrame(
            {
                column: pd.concat([out[t][column] for t in trusts], axis=1).sum(
                    axis=1, skipna=False
                )
                for column in ("cost_gbp", "quantity")
            },
            index=data.months,
        )
    return out


# --- baselines --------------------------------------------------------------------------------

#: Columns of :func:`baselines`.
EFFICIENCY_BASELINE_COLUMNS = [
    "trust_code",
    "level",
    "molecule",
    "date",
    "baseline_first_month",
    "baseline_last_month",
    "baseline_months",
    "months_without_cost",
    "baseline_cost_gbp",
    "baseline_quantity",
    "baseline_monthly_cost_gbp",
    "baseline_monthly_quantity",
    "baseline_price_per_unit_gbp",
    "status",
    "note",
]


def _baseline(series: pd.DataFrame, entry: PipelineEntry) -> dict[str, Any]:
    window = series[series.index < entry.month].tail(_MONTHS_IN_BASELINE)
    known = window[window["cost_gbp"].notna()]
    n = len(known)
    cost = float(known["cost_gbp"].sum()) if n else float("nan")
    quantity = float(known["quantity"].sum(min_count=1)) if n else float("nan")
    ok = n > 0 and cost > 0
    if not len(window):
        note = "no months of data before the date"
    elif not n:
        note = "no cost recorded in the months before the date"
    elif not ok:
        note = "no spend in the months before the date"
    elif n < _MONTHS_IN_BASELINE:
        note = f"baseline from {n} months, fewer than {_MONTHS_IN_BASELINE}"
    else:
        note = ""
    gaps = len(window) - n
    if gaps and n:
        note += ("; " if note else "") + f"{gaps} month(s) without a cost left out"
    per_unit = cost / quantity if ok and quantity > 0 else float("nan")
    return {
        "baseline_first_month": known.index.min() if n else pd.NaT,
        "baseline_last_month": known.index.max() if n else pd.NaT,
        "baseline_months": n,
        "months_without_cost": gaps,
        "baseline_cost_gbp": cost,
        "baseline_quantity": quantity,
        "baseline_monthly_cost_gbp": cost / n if ok else float("nan"),
        "baseline_monthly_quantity": quantity / n if ok else float("nan"),
        "baseline_price_per_unit_gbp": per_unit,
        "status": _HAS_BASELINE if ok else STATUS_NO_BASELINE,
        "note": note,
    }


def _baseline_table(
    data: _Data, entries: list[PipelineEntry], trusts: list[str], system_code: str | None
) -> tuple[pd.DataFrame, dict[tuple[str, str], pd.DataFrame]]:
    records = []
    series_by_key: dict[tuple[str, str], pd.DataFrame] = {}
    for entry in entries:
        series = _series(data, entry.molecule, trusts, system_code)
        for org, frame in series.items():
            series_by_key[(entry.molecule, org)] = frame
            records.append(
                {
                    "trust_code": org,
                    "level": "system" if org == system_code else "trust",
                    "molecule": entry.molecule,
                    "date": pd.Timestamp(entry.date),
                    **_baseline(frame, entry),
                }
            )
    table = pd.DataFrame.from_records(records, columns=EFFICIENCY_BASELINE_COLUMNS)
    table["baseline_months"] = table["baseline_months"].astype("int64")
    table["months_without_cost"] = table["months_without_cost"].astype("int64")
    for column in ("date", "baseline_first_month", "baseline_last_month"):
        table[column] = pd.to_datetime(table[column]).astype("datetime64[ns]")
    return table, series_by_key


def baselines(
    monthly: pd.DataFrame,
    entries: Sequence[PipelineEntry],
    trusts: Sequence[str],
    system_code: str | None = "SYSTEM",
    *,
    through: object | None = None,
    molecule_column: str = "molecule",
) -> pd.DataFrame:
    """Each entry's baseline spend for each trust and the system.

    Args:
        monthly: Columns ``year_month`` (dates; any day counts as its month), ``trust_code``,
            the molecule column, ``cost_gbp`` (missing where unknown) and ``quantity``. Molecule
            names are matched to the entries' without regard to case, so the ``vtm_name`` of
            :func:`medlib.spend.measures.aggregate_monthly` (``"Adalimumab"``) works too.
        entries: From :func:`load_pipeline`.
        trusts: Trust codes to report, in order (a trust with no rows spent nothing).
        system_code: Code of the system row (the sum of the trusts); None for no system row.
        through: Last month of data to use (default: all of it).
        molecule_column: The column holding the molecule.

    Returns:
        One row per entry and organisation (entries in order; trusts in order, then the
        system): :data:`EFFICIENCY_BASELINE_COLUMNS`. ``level`` is ``trust`` or ``system``;
        ``baseline_first_month``/``baseline_last_month`` bound the months used,
        ``baseline_months`` counts them and ``months_without_cost`` the months in the window
        left out because no cost was recorded; ``baseline_cost_gbp`` and ``baseline_quantity``
        are their totals, the ``_monthly_`` columns the means; ``baseline_price_per_unit_gbp``
        is cost / quantity. ``status`` is ``baseline`` or ``no baseline in this data`` (then the
        means and the price per unit are missing); ``note`` says why, or that fewer than 12
        months were used.

    Raises:
        InputError: A missing column, no trusts, a trust listed twice or the system code
            among the trusts.
    """
    trust_list = _trust_list(trusts, system_code)
    data = _prepare(monthly, molecule_column, through)
    table, _ = _baseline_table(data, _entries(entries), trust_list, system_code)
    return table


# --- the forecast -----------------------------------------------------------------------------

#: Columns of :attr:`EfficiencyForecast.monthly`.
EFFICIENCY_MONTHLY_COLUMNS = [
    "trust_code",
    "level",
    "molecule",
    "type",
    "date",
    "financial_year",
    "year_month",
    "months_since_date",
    "passed",
    "uptake",
    "price_reduction",
    "baseline_monthly_cost_gbp",
    "baseline_price_per_unit_gbp",
    "forecast_efficiency_gbp",
    "actual_quantity",
    "actual_cost_gbp",
    "actual_price_per_unit_gbp",
    "realised_efficiency_gbp",
    "realised_note",
]

#: Columns of :attr:`EfficiencyForecast.summary`.
EFFICIENCY_SUMMARY_COLUMNS = [
    "trust_code",
    "level",
    "molecule",
    "type",
    "event",
    "date",
    "financial_year",
    "period_end",
    "status",
    "baseline_months",
    "baseline_monthly_cost_gbp",
    "baseline_price_per_unit_gbp",
    "price_reduction",
    "uptake_at_year_end",
    "forecast_year_gbp",
    "forecast_to_date_gbp",
    "forecast_remaining_gbp",
    "realised_to_date_gbp",
    "months_passed",
    "months_remaining",
    "note",
    "source",
]


@dataclass(frozen=True)
class EfficiencyForecast:
    """The pipeline's forecast for one financial year.

    Attributes:
        monthly: One row per entry, organisation and month of the year
            (:data:`EFFICIENCY_MONTHLY_COLUMNS`).
        summary: One row per entry and organisation (:data:`EFFICIENCY_SUMMARY_COLUMNS`).
        baselines: The baselines behind them (:data:`EFFICIENCY_BASELINE_COLUMNS`).
        financial_year: The year, e.g. ``"2024/25"``.
        period_end: The last month that has passed.
        system_code: Code of the system rows (None if there are none).
    """

    monthly: pd.DataFrame
    summary: pd.DataFrame
    baselines: pd.DataFrame
    financial_year: str
    period_end: pd.Timestamp
    system_code: str | None = None

    def sentences(self, trust_code: str | None = None) -> list[str]:
        """One :func:`efficiency_sentence` per summary row.

        Args:
            trust_code: Only this organisation's rows; without it every row's sentence starts
                with its organisation's code.
        """
        if trust_code is not None:
            rows = self.summary[self.summary["trust_code"] == trust_code]
            return [efficiency_sentence(row) for _, row in rows.iterrows()]
        return [
            efficiency_sentence(row, name=str(row["trust_code"]))
            for _, row in self.summary.iterrows()
        ]


def _realised(
    baseline_per_unit: float, quantity: float, cost: float, in_data: bool
) -> tuple[float, str]:
    if not in_data:
        return float("nan"), "no data for this month"
    if not np.isfinite(baseline_per_unit):
        return float("nan"), "no baseline price per unit"
    if quantity == 0:
        return 0.0, "no use this month"
    if not np.isfinite(quantity) or quantity < 0:
        return float("nan"), "quantity missing or negative (returns)"
    if not np.isfinite(cost):
        return float("nan"), "no cost recorded this month"
    return baseline_per_unit * quantity - cost, ""


def _status(
    entry: PipelineEntry, has_baseline: bool, fy_end: pd.Timestamp, end: pd.Timestamp
) -> str:
    if entry.month > fy_end:
        return STATUS_NOT_DUE
    if not has_baseline:
        return STATUS_NO_BASELINE
    return STATUS_UNDER_WAY if entry.month <= end else STATUS_DUE


@dataclass(frozen=True)
class _Year:
    """The financial year forecast: its label and months, the period end and the data months."""

    label: str
    months: pd.DatetimeIndex
    end: pd.Timestamp
    fy_end: pd.Timestamp
    data: set[pd.Timestamp]


def _org_months(
    entry: PipelineEntry,
    org: str,
    level: str,
    base: pd.Series,
    series: pd.DataFrame,
    year: _Year,
) -> list[dict[str, Any]]:
    """The monthly rows of one entry for one organisation."""
    has_baseline = base["status"] == _HAS_BASELINE
    not_due = entry.month > year.fy_end
    monthly_cost = float(base["baseline_monthly_cost_gbp"])
    per_unit = float(base["baseline_price_per_unit_gbp"])
    profile = entry.uptake
    k = np.array([months_since_date(entry, m) for m in year.months])
    shares = uptake_profile(k, profile.target, profile.months_to_target, profile.shape)
    if not_due:
        forecast = np.zeros(len(k))
    elif has_baseline:
        forecast = monthly_cost * entry.price_reduction * shares
    else:
        forecast = np.full(len(k), np.nan)
    rows = []
    for month, k_i, share, value in zip(year.months, k, shares, forecast, strict=True):
        passed = bool(month <= year.end)
        in_data = passed and month in year.data
        quantity = float(series.at[month, "quantity"]) if in_data else float("nan")
        cost = float(series.at[month, "cost_gbp"]) if in_data else float("nan")
        if not passed:
            realised, note = float("nan"), "to come"
        elif k_i < 0:
            realised, note = float("nan"), "before the date"
        else:
            realised, note = _realised(per_unit, quantity, cost, in_data)
        rows.append(
            {
                "trust_code": org,
                "level": level,
                "molecule": entry.molecule,
                "type": entry.type,
                "date": pd.Timestamp(entry.date),
                "financial_year": year.label,
                "year_month": month,
                "months_since_date": int(k_i),
                "passed": passed,
                "uptake": float(share),
                "price_reduction": entry.price_reduction,
                "baseline_monthly_cost_gbp": monthly_cost,
                "baseline_price_per_unit_gbp": per_unit,
                "forecast_efficiency_gbp": float(value),
                "actual_quantity": quantity,
                "actual_cost_gbp": cost,
                "actual_price_per_unit_gbp": cost / quantity
                if np.isfinite(cost) and quantity > 0
                else float("nan"),
                "realised_efficiency_gbp": realised,
                "realised_note": note,
            }
        )
    return rows


def _org_summary(
    entry: PipelineEntry,
    org: str,
    level: str,
    base: pd.Series,
    rows: list[dict[str, Any]],
    year: _Year,
) -> dict[str, Any]:
    """The summary row of one entry for one organisation, from its monthly rows."""
    frame = pd.DataFrame(rows)
    passed = frame[frame["passed"]]
    return {
        "trust_code": org,
        "level": level,
        "molecule": entry.molecule,
        "type": entry.type,
        "event": entry.event,
        "date": pd.Timestamp(entry.date),
        "financial_year": year.label,
        "period_end": year.end,
        "status": _status(entry, base["status"] == _HAS_BASELINE, year.fy_end, year.end),
        "baseline_months": int(base["baseline_months"]),
        "baseline_monthly_cost_gbp": float(base["baseline_monthly_cost_gbp"]),
        "baseline_price_per_unit_gbp": float(base["baseline_price_per_unit_gbp"]),
        "price_reduction": entry.price_reduction,
        "uptake_at_year_end": float(frame["uptake"].iloc[-1]),
        "forecast_year_gbp": _total(frame["forecast_efficiency_gbp"]),
        "forecast_to_date_gbp": _total(passed["forecast_efficiency_gbp"]),
        "forecast_remaining_gbp": _total(frame.loc[~frame["passed"], "forecast_efficiency_gbp"]),
        "realised_to_date_gbp": float(passed["realised_efficiency_gbp"].sum(min_count=1)),
        "months_passed": len(passed),
        "months_remaining": len(frame) - len(passed),
        "note": base["note"],
        "source": entry.source,
    }


def forecast_efficiencies(
    monthly: pd.DataFrame,
    entries: Sequence[PipelineEntry],
    trusts: Sequence[str],
    period_end: object,
    system_code: str | None = "SYSTEM",
    *,
    financial_year: str | None = None,
    molecule_column: str = "molecule",
) -> EfficiencyForecast:
    """Forecast and realised efficiencies of the pipeline for one financial year.

    Data after ``period_end`` are ignored. Months of the year up to and including
    ``period_end`` have passed; the months after it are the remaining months.

    Args:
        monthly: As for :func:`baselines`.
        entries: From :func:`load_pipeline`.
        trusts: Trust codes to report, in order.
        period_end: The report's last month (``"YYYY-MM"`` or a date).
        system_code: Code of the system rows (the sum of the trusts); None for none.
        financial_year: The year, e.g. ``"2024/25"`` (default: the one containing
            ``period_end``).
        molecule_column: The column of ``monthly`` holding the molecule.

    Returns:
        An :class:`EfficiencyForecast`. In ``monthly``: ``months_since_date`` is ``k`` (the
        month of the date is 0), ``passed`` is true up to ``period_end``, ``uptake`` is the
        entry's profile at ``k``, ``forecast_efficiency_gbp`` is ``baseline_monthly_cost_gbp
        x price_reduction x uptake`` (0 for an entry not due this year, missing without a
        baseline), ``actual_*`` are the month's spend (passed months with data only) and
        ``realised_efficiency_gbp`` is ``baseline_price_per_unit_gbp x actual_quantity -
        actual_cost_gbp`` for passed months from the date on, 0 with no use, otherwise
        missing; ``realised_note`` says why a value is 0 or missing (``before the date``,
        ``to come``, ``no use this month``, ``no cost recorded this month``, ...).
        In ``summary``: ``status`` is ``under way`` (date on or before ``period_end``),
        ``due later this year``, ``not due this year`` or ``no baseline in this data``;
        ``uptake_at_year_end`` is the uptake in March; ``forecast_year_gbp`` is the year's
        total, split into ``forecast_to_date_gbp`` (passed months) and
        ``forecast_remaining_gbp``; ``realised_to_date_gbp`` sums the realised months
        (missing if none could be measured); ``note`` is the baseline's note and ``source``
        the entry's.

    Raises:
        InputError: A bad column, trust list, month or financial year.

    Example:
        >>> e = PipelineEntry("x", "biosimilar", "biosimilar launch", dt.date(2024, 10, 1),
        ...                   "s", 0.5, DEFAULT_UPTAKE["biosimilar"])
        >>> months = pd.date_range("2023-10-01", "2024-09-01", freq="MS")
        >>> m = pd.DataFrame({"year_month": months, "trust_code": "A", "molecule": "x",
        ...                   "cost_gbp": 1200.0, "quantity": 10.0})
        >>> f = forecast_efficiencies(m, [e], ["A"], "2024-09", system_code=None)
        >>> row = f.summary.iloc[0]  # uptake Oct-Mar: 0.8 x (0+1+2+3+4+5)/12 = 1.0
        >>> row["status"], float(row["forecast_year_gbp"])  # 1200 x 0.5 x 1.0
        ('due later this year', 600.0)
    """
    trust_list = _trust_list(trusts, system_code)
    end = parse_month(period_end, "period_end")
    label = fy_of_month(end) if financial_year is None else str(financial_year)
    fy_start, fy_end = fy_bounds(label)
    year_months = pd.date_range(fy_start, fy_end, freq="MS")
    data = _prepare(monthly, molecule_column, end)
    entry_list = _entries(entries)
    table, series_by_key = _baseline_table(data, entry_list, trust_list, system_code)
    monthly_records: list[dict[str, Any]] = []
    summary_records: list[dict[str, Any]] = []
    by_key = table.set_index(["molecule", "trust_code"])
    year = _Year(label=label, months=year_months, end=end, fy_end=fy_end, data=set(data.months))
    for entry in entry_list:
        for org in [*trust_list, *([system_code] if system_code is not None else [])]:
            base = by_key.loc[(entry.molecule, org)]
            level = "system" if org == system_code else "trust"
            rows = _org_months(entry, org, level, base, series_by_key[(entry.molecule, org)], year)
            monthly_records.extend(rows)
            summary_records.append(_org_summary(entry, org, level, base, rows, year))
    monthly_out = pd.DataFrame.from_records(monthly_records, columns=EFFICIENCY_MONTHLY_COLUMNS)
    summary_out = pd.DataFrame.from_records(summary_records, columns=EFFICIENCY_SUMMARY_COLUMNS)
    for frame, columns in ((monthly_out, ("date", "year_month")), (summary_out, ("date",))):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return EfficiencyForecast(
        monthly=monthly_out,
        summary=summary_out,
        baselines=table,
        financial_year=label,
        period_end=end,
        system_code=system_code,
    )


def _total(values: pd.Series) -> float:
    """Sum of a run of months: 0 for no months, missing if any month is missing."""
    if not len(values):
        return 0.0
    return float("nan") if values.isna().any() else float(values.sum())


# --- sentences --------------------------------------------------------------------------------


def _value(row: Mapping[str, Any] | pd.Series, key: str) -> Any:
    value = row[key]
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def efficiency_sentence(row: Mapping[str, Any] | pd.Series, name: str | None = None) -> str:
    """One plain-English sentence for a lead from one :attr:`EfficiencyForecast.summary` row.

    Args:
        row: A summary row.
        name: The organisation's name to start the sentence with (optional).

    Returns:
        The sentence.

    Example:
        >>> row = {"molecule": "ustekinumab", "type": "biosimilar",
        ...     "event": "biosimilar launch", "date": pd.Timestamp("2024-09-01"),
        ...     "financial_year": "2024/25", "period_end": pd.Timestamp("2024-12-01"),
        ...     "status": "under way", "baseline_months": 12, "forecast_year_gbp": 52000.0,
        ...     "forecast_to_date_gbp": 22000.0, "forecast_remaining_gbp": 30000.0,
        ...     "realised_to_date_gbp": 18500.0, "months_remaining": 3,
        ...     "baseline_monthly_cost_gbp": 40000.0}
        >>> efficiency_sentence(row)  # doctest: +NORMALIZE_WHITESPACE
        'Ustekinumab (biosimilar launch, September 2024): forecast efficiency £52,000 in
        2024/25; £18,500 realised to December 2024 against £22,000 forecast, and £30,000
        forecast for the remaining 3 months.'
    """
    molecule = str(row["molecule"])
    event = str(row["event"])
    kind = str(row["type"])
    what = event if kind in event else f"{kind}; {event}"
    head = f"{molecule[:1].upper()}{molecule[1:]} ({what}, {format_month(row['date'])})"
    if name:
        head = f"{name}: {head}"
    year = row["financial_year"]
    status = row["status"]
    if status == STATUS_NOT_DUE:
        return f"{head}: not due this year ({year}), so no efficiency is forecast for it."
    if status == STATUS_NO_BASELINE:
        return f"{head}: no baseline in this data, so no efficiency can be forecast for {year}."
    total = format_gbp(_value(row, "forecast_year_gbp"))
    months = int(row["baseline_months"])
    short = (
        f" (baseline from {months} months of data, fewer than {_MONTHS_IN_BASELINE})"
        if months < _MONTHS_IN_BASELINE
        else ""
    )
    end = format_month(row["period_end"])
    if status == STATUS_DUE:
        base = format_gbp(_value(row, "baseline_monthly_cost_gbp"))
        return (
            f"{head}: forecast efficiency {total} in {year}, all of it after {end}, from spend "
            f"of {base} a month before the date{short}."
        )
    realised = _value(row, "realised_to_date_gbp")
    realised_text = (
        f"{format_gbp(realised)} realised to {end}"
        if realised is not None
        else f"nothing measurable realised to {end} (no cost or use recorded)"
    )
    text = (
        f"{head}: forecast efficiency {total} in {year}{short}; {realised_text} against "
        f"{format_gbp(_value(row, 'forecast_to_date_gbp'))} forecast"
    )
    remaining = int(row["months_remaining"])
    if remaining:
        plural = "month" if remaining == 1 else f"{remaining} months"
        text += (
            f", and {format_gbp(_value(row, 'forecast_remaining_gbp'))} forecast for the "
            f"remaining {plural}"
        )
    return text + "."
