"""Measures per trust and month, national percentiles, ranks and the two improvement metrics.

:func:`compute_measures` runs every definition over a usage table in the query engine (DuckDB
by default, Spark through the same Ibis expressions): the usage rows are joined to each
measure's products and summed per trust and month there, and only those sums come back.

The method follows OpenPrescribing Hospitals (OP-H):

* **Value.** ``value = numerator / denominator``, each the sum over the trust's products that month
  of quantity x DDDs per unit (or quantity, or indicative cost): a fraction, not a percentage. Every
  trust that used any of the measure's products in the period has a row for every month from the
  measure's first month of data to its last (a store may hold other products for longer; their
  months are not the measure's). A zero denominator (no issues of the products that month, or issues
  and returns that cancel) gives **no value**; a negative denominator (more returned than issued)
  keeps its value but is not compared with other trusts; a value below 0 or above 1 with a positive
  denominator (returns of some products) is kept and compared. The ``note`` column says which. OP-H
  itself shows a value of 0 for a non-positive denominator and counts it in the percentiles; here it
  is no value, as in OpenPrescribing (METHODS.md 2.1).
* **National percentiles**, per month, over the trusts with a positive denominator, by linear
  interpolation between the sorted values (``(n - 1) x p``, numpy's default ``linear``,
  BigQuery ``PERCENTILE_CONT``, DuckDB ``quantile_cont``; OP-H computes its percentiles this
  way). The default is the deciles 10th to 90th (OpenPrescribing's); OP-H charts the 5th to
  95th in steps of 10 and the median (:data:`OPH_PERCENTILES`).
* **Percentile rank**, per month, ``percent_rank`` = ``(rank - 1) / (n - 1) x 100`` among the
  same trusts, ascending (SQL ``PERCENT_RANK``, METHODS.md 2.1).
* **Percentile position**, the trust's value read off that month's OP-H percentiles
  (:func:`percentile_position`): linear between neighbouring percentiles, 5 at or below the
  5th, 95 at or above the 95th. This is what OP-H's two improvement metrics rank on.
* **Potential for improvement** and **most improved**, per trust, over the last 12 months of
  the data (:func:`improvement`): for a lower-is-better measure, the highest percentile
  position in those months, and the mean position in the first 3 of them minus the mean in
  the last 3; for a higher-is-better measure, 100 minus the lowest position, and last 3 minus
  first 3. Higher means more room to improve, and more improvement. A measure without a value
  judgement (``lower_is_better: null``) is not ranked. Source: OP-H's measures list sort
  (``src/utils/measuresSortUtils.js`` and the FAQ "How is potential for improvement and most
  improved determined?", ``bennettoxford/openprescribing-hospitals`` at commit ``41940a5``;
  the sort was withdrawn from the site in March 2026). OP-H ranks on the negative of the
  lowest position for a higher-is-better measure; 100 minus it orders trusts the same way and
  stays on the 0-100 scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.measures.definitions import MeasureDefinition, load_definitions
from medlib.measures.products import PRODUCT_COLUMNS, measure_products, select
from medlib.paths import DATA_DIR
from medlib.validation import parse_month, require_columns

__all__ = [
    "DECILES",
    "NOTES",
    "OPH_PERCENTILES",
    "MeasureResults",
    "compute_measures",
    "improvement",
    "measure_roles",
    "percentile_position",
]

#: OpenPrescribing's deciles.
DECILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
#: The percentiles OP-H charts and reads percentile positions from.
OPH_PERCENTILES = (5, 15, 25, 35, 45, 50, 55, 65, 75, 85, 95)
#: What the ``note`` column says, by case.
NOTES = {
    "no_rows": "denominator is zero (none of the products issued this month): no value",
    "zero": "denominator is zero (issues and returns cancel out): no value",
    "negative": "denominator is negative (more returned than issued): value kept, not ranked",
    "no_cost": "no indicative cost in the data for these products: no value",
    "below_zero": "value below 0% (returns of numerator products): kept and ranked",
    "above_one": "value above 100% (returns of other denominator products): kept and ranked",
}
#: The improvement window (months), the months averaged at each end, and the fewest months of
#: data for which OP-H computes the metrics.
WINDOW_MONTHS, EDGE_MONTHS, MIN_MONTHS = 12, 3, 6

_USAGE_NEEDED = ["year_month", "trust_code", "vmp_code", "quantity"]
_BUNDLED_ANTIBACTERIALS = DATA_DIR / "scmd_antibacterials.parquet"


@dataclass(frozen=True)
class MeasureResults:
    """Everything :func:`compute_measures` works out, as small pandas tables.

    Attributes:
        values: One row per measure, trust and month: ``measure_id, trust_code, year_month,
            numerator, denominator, value, note, ranked`` (compared with other trusts: a
            positive denominator), ``percent_rank, rows`` (usage rows summed) and
            ``percentile_position``.
        percentiles: ``measure_id, year_month, percentile, value, trusts`` (the requested
            percentiles, over ``trusts`` trusts with a positive denominator).
        improvement: One row per measure and trust (see :func:`improvement`).
        products: The products each measure selects: ``measure_id, vmp_code, vmp_name,
            in_numerator, counted, ddd_per_unit, ddd_note``.
        excluded: Selected products found in the usage data but left out (no DDD per unit):
            ``measure_id, vmp_code, vmp_name, in_numerator, reason, rows, quantity``.
        definitions: The measures computed.
    """

    values: pd.DataFrame
    percentiles: pd.DataFrame
    improvement: pd.DataFrame
    products: pd.DataFrame
    excluded: pd.DataFrame
    definitions: tuple[MeasureDefinition, ...]


def measure_roles(definitions: Sequence[MeasureDefinition], products: pd.DataFrame) -> pd.DataFrame:
    """The products each measure selects, whether they are in its numerator, and their weight.

    Args:
        definitions: The measures.
        products: The columns of :data:`~medlib.measures.products.PRODUCT_COLUMNS`.

    Returns:
        ``measure_id, vmp_code, vmp_name, in_numerator, counted, factor, uses_cost,
        ddd_per_unit, ddd_note``: ``factor`` is DDDs per unit for a DDD measure and 1
        otherwise; ``counted`` is False for a product a DDD measure cannot count (no DDD).
    """
    require_columns(products, PRODUCT_COLUMNS, "products")
    parts = []
    for definition in definitions:
        in_denominator = select(products, definition.denominator)
        chosen = products[in_denominator]
        part = pd.DataFrame(
            {
                "measure_id": definition.id,
                "vmp_code": chosen["vmp_code"].astype(str).to_numpy(),
                "vmp_name": chosen["vmp_name"].to_numpy(),
                "in_numerator": select(chosen, definition.numerator).to_numpy(),
                "ddd_per_unit": chosen["ddd_per_unit"].astype(float).to_numpy(),
                "ddd_note": chosen["ddd_note"].to_numpy(),
            }
        )
        if definition.quantity == "ddd":
            part["factor"] = part["ddd_per_unit"]
            part["counted"] = part["factor"].notna()
        else:
            part["factor"] = 1.0
            part["counted"] = True
        part["uses_cost"] = definition.quantity == "cost"
        parts.append(part)
    columns = [
        "measure_id",
        "vmp_code",
        "vmp_name",
        "in_numerator",
        "counted",
        "factor",
        "uses_cost",
        "ddd_per_unit",
        "ddd_note",
    ]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def compute_measures(
    usage: Any = None,
    definitions: Sequence[MeasureDefinition] | None = None,
    products: pd.DataFrame | None = None,
    *,
    percentiles: Sequence[float] = DECILES,
    through: object | None = None,
    successors: Mapping[str, str] | None = None,
    backend: str = "duckdb",
    con: Any = None,
) -> MeasureResults:
    """Every measure for every trust and month, with national percentiles, ranks and metrics.

    Args:
        usage: The usage rows: an Ibis table or a pandas frame with ``year_month, trust_code,
            vmp_code, quantity`` (and ``cost_gbp`` for cost measures), or a Parquet file of
            canonical usage rows; None reads the bundled antibacterial SCMD extract (in the
            engine, not through pandas).
        definitions: The measures; None reads the package's (:func:`load_definitions`).
        products: The products table (:func:`~medlib.measures.products.measure_products`);
            None builds it from the bundled products and antibacterial reference.
        percentiles: The national percentiles to report, 0-100.
        through: The last month to use (``"YYYY-MM"``); None uses all the data. The
            improvement window ends here.
        successors: ``{predecessor: successor}`` trust codes; merged trusts are counted under
            their successor, as OP-H does. None uses the bundled trust lineage; ``{}`` maps
            nothing.
        backend: ``duckdb`` or ``pyspark`` (when ``con`` is not given).
        con: An engine connection (:func:`medlib.engine.connect`); None opens one.

    Returns:
        The :class:`MeasureResults`.

    Raises:
        InputError: A percentile is outside 0-100, the usage lacks a needed column, or
            ``through`` is not a month.
    """
    from medlib import engine  # Ibis loads here, only when measures are computed

    wanted = tuple(float(p) for p in percentiles)
    bad = [p for p in wanted if not 0 <= p <= 100]
    if bad or not wanted:
        raise InputError(f"percentiles must be between 0 and 100, got {list(percentiles)}")
    definitions = tuple(load_definitions() if definitions is None else definitions)
    products = measure_products() if products is None else products
    roles = measure_roles(definitions, products)
    con = engine.connect(backend) if con is None else con
    needs_cost = any(d.quantity == "cost" for d in definitions)
    rows = _usage_expr(con, usage, needs_cost)
    if through is not None:
        rows = rows.filter(rows.year_month <= parse_month(through, "through").date())
    if successors is None:
        from medlib.reference.trusts import successor_map

        successors = successor_map()
    rows = _mapped(con, engine, rows, successors)

    counted = roles[roles["counted"]][["measure_id", "vmp_code", "in_numerator", "factor"]]
    counted = counted.assign(uses_cost=roles.loc[roles["counted"], "uses_cost"].to_numpy())
    monthly = _monthly(con, engine, rows, counted)
    all_levels = tuple(sorted(set(wanted) | set(OPH_PERCENTILES)))
    values, national = _ranked(engine, monthly, all_levels)
    values = _with_notes(values, definitions)

    oph = national[national["percentile"].isin(OPH_PERCENTILES)]
    values["percentile_position"] = _positions(values, oph)
    lower = {d.id: d.lower_is_better for d in definitions}
    metrics = improvement(values, lower)
    reported = national[national["percentile"].isin(wanted)].reset_index(drop=True)
    excluded = _excluded(con, engine, rows, roles)
    products_out = roles[
        [
            "measure_id",
            "vmp_code",
            "vmp_name",
            "in_numerator",
            "counted",
            "ddd_per_unit",
            "ddd_note",
        ]
    ].reset_index(drop=True)
    return MeasureResults(
        values=values,
        percentiles=reported,
        improvement=metrics,
        products=products_out,
        excluded=excluded,
        definitions=definitions,
    )


def _usage_expr(con: Any, usage: Any, needs_cost: bool) -> Any:
    """The usage rows as an engine table with canonical columns and types."""
    import ibis

    from medlib import engine

    if usage is None:
        raw = con.read_parquet(str(_BUNDLED_ANTIBACTERIALS))
        return raw.select(
            year_month=raw.year_month.cast("date"),
            trust_code=raw.ods_code.cast("string").strip().upper(),
            vmp_code=raw.vmp_snomed_code.cast("string").strip(),
            quantity=raw.total_quantity.cast("float64"),
            cost_gbp=ibis.null().cast("float64"),
        )
    if isinstance(usage, str | Path):
        usage = con.read_parquet(str(usage))
    if isinstance(usage, pd.DataFrame):
        require_columns(usage, _USAGE_NEEDED + (["cost_gbp"] if needs_cost else []), "usage")
        frame = usage[[c for c in [*_USAGE_NEEDED, "cost_gbp"] if c in usage.columns]].copy()
        frame["year_month"] = pd.to_datetime(frame["year_month"])
        if "cost_gbp" in frame:
            frame["cost_gbp"] = frame["cost_gbp"].astype("float64")
        usage = engine.register(con, "usage_for_measures", frame)
    columns = set(usage.columns)
    missing = [c for c in _USAGE_NEEDED if c not in columns]
    if needs_cost and "cost_gbp" not in columns:
        missing.append("cost_gbp")
    if missing:
        raise InputError(
            f"usage is missing column(s) {', '.join(missing)}; it has {', '.join(sorted(columns))}"
        )
    cost = usage.cost_gbp.cast("float64") if "cost_gbp" in columns else ibis.null("float64")
    return usage.select(
        year_month=usage.year_month.cast("date"),
        trust_code=usage.trust_code.cast("string"),
        vmp_code=usage.vmp_code.cast("string"),
        quantity=usage.quantity.cast("float64"),
        cost_gbp=cost,
    )


def _mapped(con: Any, engine: Any, rows: Any, successors: Mapping[str, str]) -> Any:
    import ibis

    if not successors:
        return rows
    pairs = pd.DataFrame(
        {"predecessor_code": list(successors), "successor_code": list(successors.values())},
        dtype=object,
    )
    lineage = engine.register(con, "measure_trust_successors", pairs)
    joined = rows.left_join(lineage, rows.trust_code == lineage.predecessor_code)
    return joined.select(
        year_month=joined.year_month,
        trust_code=ibis.coalesce(joined.successor_code, joined.trust_code),
        vmp_code=joined.vmp_code,
        quantity=joined.quantity,
        cost_gbp=joined.cost_gbp,
    )


def _monthly(con: Any, engine: Any, rows: Any, counted: pd.DataFrame) -> Any:
    """Numerator and denominator per measure, trust and month, on the full trust x month grid."""
    import ibis

    if counted.empty:
        counted = pd.DataFrame(
            {
                "measure_id": ["-"],
                "vmp_code": ["-"],
                "in_numerator": [False],
                "factor": [0.0],
                "uses_cost": [False],
            }
        )
    roles = engine.register(con, "measure_roles", counted.astype({"factor": "float64"}))
    joined = rows.inner_join(roles, rows.vmp_code == roles.vmp_code)
    amount = ibis.ifelse(joined.uses_cost, joined.cost_gbp, joined.quantity * joined.factor)
    keys = ["measure_id", "trust_code", "year_month"]
    sums = (
        joined.mutate(amount=amount)
        .group_by(keys)
        .aggregate(
            numerator=ibis.ifelse(ibis._.in_numerator, ibis._.amount, 0.0).sum(),
            denominator=ibis._.amount.sum(),
            rows=ibis._.count(),
        )
    )
    # Every trust that used any of a measure's products has a row for every month of the data
    # from the measure's first month with rows to its last: a month without rows is a zero
    # denominator, not a missing trust. Months outside that span are not the measure's (a store
    # can hold other products for longer), so they are left out rather than shown as zeros.
    trusts = sums.select("measure_id", "trust_code").distinct()
    span = sums.group_by("measure_id").aggregate(
        first_month=sums.year_month.min(), last_month=sums.year_month.max()
    )
    months = rows.select("year_month").distinct()
    spans = span.cross_join(months)
    spans = spans.filter(
        (spans.year_month >= spans.first_month) & (spans.year_month <= spans.last_month)
    ).select("measure_id", "year_month")
    grid = trusts.inner_join(spans, "measure_id")
    full = grid.left_join(
        sums,
        [
            grid.measure_id == sums.measure_id,
            grid.trust_code == sums.trust_code,
            grid.year_month == sums.year_month,
        ],
    )
    found = full.rows.notnull()
    return full.select(
        measure_id=grid.measure_id,
        trust_code=grid.trust_code,
        year_month=grid.year_month,
        numerator=ibis.ifelse(found, full.numerator, 0.0),
        denominator=ibis.ifelse(found, full.denominator, 0.0),
        rows=full.rows.fill_null(0),
    )


def _ranked(
    engine: Any, monthly: Any, levels: tuple[float, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Values with their percent rank, and the national percentiles, from the engine."""
    import ibis

    value = monthly.numerator / monthly.denominator.nullif(0)
    with_value = monthly.mutate(value=value)
    ranked = (with_value.denominator > 0) & with_value.value.notnull()
    with_value = with_value.mutate(ranked=ranked)
    rank = ibis.percent_rank().over(
        group_by=[with_value.measure_id, with_value.year_month, with_value.ranked],
        order_by=with_value.value,
    )
    with_rank = with_value.mutate(
        percent_rank=ibis.ifelse(with_value.ranked, rank * 100.0, ibis.null("float64"))
    )
    population = with_value.filter(with_value.ranked)
    national = population.group_by(["measure_id", "year_month"]).aggregate(
        trusts=population.count(),
        **{f"q{i}": population.value.quantile(level / 100) for i, level in enumerate(levels)},
    )
    values = engine.to_pandas(with_rank)
    wide = engine.to_pandas(national)
    values["year_month"] = pd.to_datetime(values["year_month"]).astype("datetime64[ns]")
    for column in ("numerator", "denominator", "value", "percent_rank"):
        values[column] = values[column].astype("float64")
    values["rows"] = values["rows"].astype("int64")
    values["ranked"] = values["ranked"].astype(bool)
    values = values.sort_values(["measure_id", "trust_code", "year_month"], kind="mergesort")
    long = wide.melt(
        id_vars=["measure_id", "year_month", "trusts"], var_name="key", value_name="value"
    )
    long["percentile"] = long["key"].map({f"q{i}": level for i, level in enumerate(levels)})
    long["year_month"] = pd.to_datetime(long["year_month"]).astype("datetime64[ns]")
    long["value"] = long["value"].astype("float64")
    long["trusts"] = long["trusts"].astype("int64")
    long = long[["measure_id", "year_month", "percentile", "value", "trusts"]]
    long = long.sort_values(["measure_id", "year_month", "percentile"], kind="mergesort")
    return values.reset_index(drop=True), long.reset_index(drop=True)


def _with_notes(values: pd.DataFrame, definitions: Sequence[MeasureDefinition]) -> pd.DataFrame:
    cost = values["measure_id"].isin([d.id for d in definitions if d.quantity == "cost"])
    den, value = values["denominator"], values["value"]
    conditions = [
        values["rows"].eq(0),
        cost & den.isna(),
        den.eq(0),
        den < 0,
        value < 0,
        value > 1,
    ]
    choices = [
        NOTES["no_rows"],
        NOTES["no_cost"],
        NOTES["zero"],
        NOTES["negative"],
        NOTES["below_zero"],
        NOTES["above_one"],
    ]
    note = pd.Series(np.select(conditions, choices, default=""), index=values.index, dtype=object)
    values = values.assign(note=note.where(note != "", None))
    return values[
        [
            "measure_id",
            "trust_code",
            "year_month",
            "numerator",
            "denominator",
            "value",
            "note",
            "ranked",
            "percent_rank",
            "rows",
        ]
    ]


def _positions(values: pd.DataFrame, oph: pd.DataFrame) -> np.ndarray:
    out = pd.Series(np.nan, index=values.index)
    curves = {
        key: dict(zip(points["percentile"], points["value"], strict=True))
        for key, points in oph.groupby(["measure_id", "year_month"], sort=False)
    }
    for key, part in values[values["ranked"]].groupby(["measure_id", "year_month"], sort=False):
        curve = curves.get(key)
        if curve:
            out.loc[part.index] = percentile_position(part["value"].to_numpy(), curve)
    return out.to_numpy()


def percentile_position(
    values: Sequence[float] | np.ndarray, curve: Mapping[float, float]
) -> np.ndarray:
    """Where each value sits on a month's percentile curve, as OP-H reads it (0-100).

    Linear between the two neighbouring percentiles; the lowest percentile at or below its
    value, the highest at or above its value. Percentiles with equal values take the lowest.

    Args:
        values: Trust values for one month (NaN gives NaN).
        curve: ``{percentile: value}`` for that month, e.g. the 5th to 95th.

    Returns:
        The positions, one per value.

    Example:
        >>> curve = {5: 0.0, 50: 0.5, 95: 1.0}
        >>> percentile_position([-0.1, 0.25, 0.5, 0.75, 2.0], curve).tolist()
        [5.0, 27.5, 50.0, 72.5, 95.0]
    """
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, np.nan)
    items = sorted(curve.items(), key=lambda kv: (kv[1], kv[0]))
    if not items or any(np.isnan(q) for _, q in items):
        return out
    p = np.array([float(k) for k, _ in items])
    q = np.array([float(x) for _, x in items])
    known = ~np.isnan(v)
    low = known & (v <= q[0])
    high = known & ~low & (v >= q[-1])
    mid = known & ~low & ~high
    out[low], out[high] = p[0], p[-1]
    i = np.searchsorted(q, v[mid], side="left") - 1
    out[mid] = p[i] + (p[i + 1] - p[i]) * (v[mid] - q[i]) / (q[i + 1] - q[i])
    return out


def improvement(
    positions: pd.DataFrame,
    lower_is_better: Mapping[str, bool | None],
    *,
    window: int = WINDOW_MONTHS,
    edge: int = EDGE_MONTHS,
    min_months: int = MIN_MONTHS,
) -> pd.DataFrame:
    """OP-H's potential for improvement and most improved, per measure and trust.

    The window is the last ``window`` months of the data (the months in ``positions``); with
    fewer than ``min_months`` of them nothing is computed. Only months with a percentile
    position count; an end with none of its ``edge`` months positioned gives no "most
    improved".

    Args:
        positions: ``measure_id, trust_code, year_month, percentile_position`` (positions may
            be missing).
        lower_is_better: ``{measure_id: True | False | None}``.
        window: Months in the window.
        edge: Months averaged at each end of it.
        min_months: Fewest months of data for any metric.

    Returns:
        ``measure_id, trust_code, window_start, window_end, months_positioned,
        highest_position, lowest_position, first_months_mean, last_months_mean,
        potential_for_improvement, most_improved, note``. For ``lower_is_better`` True:
        potential = highest position, most improved = first mean - last mean; for False:
        potential = 100 - lowest position, most improved = last mean - first mean; for None:
        neither.

    Example:
        >>> rows = pd.DataFrame({"measure_id": "m", "trust_code": "A",
        ...     "year_month": pd.date_range("2024-01", periods=6, freq="MS"),
        ...     "percentile_position": [80.0, 70, 60, 50, 40, 30]})
        >>> out = improvement(rows, {"m": True})
        >>> out[["potential_for_improvement", "most_improved"]].to_numpy().tolist()
        [[80.0, 30.0]]
    """
    require_columns(
        positions, ["measure_id", "trust_code", "year_month", "percentile_position"], "positions"
    )
    out = []
    for measure_id, part in positions.groupby("measure_id", sort=True):
        months = sorted(pd.to_datetime(part["year_month"]).unique())[-window:]
        judgement = lower_is_better.get(measure_id)
        for trust_code, rows in part.groupby("trust_code", sort=True):
            by_month = rows.set_index(pd.to_datetime(rows["year_month"]))["percentile_position"]
            series = by_month.reindex(months).astype(float)
            out.append(_metrics(measure_id, trust_code, series, judgement, edge, min_months))
    columns = [
        "measure_id",
        "trust_code",
        "window_start",
        "window_end",
        "months_positioned",
        "highest_position",
        "lowest_position",
        "first_months_mean",
        "last_months_mean",
        "potential_for_improvement",
        "most_improved",
        "note",
    ]
    frame = pd.DataFrame(out, columns=columns)
    for column in ("window_start", "window_end"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


def _metrics(
    measure_id: str,
    trust_code: str,
    series: pd.Series,
    judgement: bool | None,
    edge: int,
    min_months: int,
) -> dict[str, object]:
    valid = series.dropna()
    first = series.iloc[:edge].dropna()
    last = series.iloc[-edge:].dropna()
    row: dict[str, object] = {
        "measure_id": measure_id,
        "trust_code": trust_code,
        "window_start": series.index[0] if len(series) else pd.NaT,
        "window_end": series.index[-1] if len(series) else pd.NaT,
        "months_positioned": int(len(valid)),
        "highest_position": float(valid.max()) if len(valid) else np.nan,
        "lowest_position": float(valid.min()) if len(valid) else np.nan,
        "first_months_mean": float(first.mean()) if len(first) else np.nan,
        "last_months_mean": float(last.mean()) if len(last) else np.nan,
        "potential_for_improvement": np.nan,
        "most_improved": np.nan,
        "note": None,
    }
    if judgement is None:
        row["note"] = "no value judgement for this measure: trusts are not ranked"
        return row
    if len(series) < min_months:
        row["note"] = f"fewer than {min_months} months of data: not ranked"
        return row
    if not len(valid):
        row["note"] = f"no month of the last {len(series)} has a percentile position"
        return row
    if judgement:
        row["potential_for_improvement"] = row["highest_position"]
        change = row["first_months_mean"] - row["last_months_mean"]  # type: ignore[operator]
    else:
        row["potential_for_improvement"] = 100.0 - row["lowest_position"]  # type: ignore[operator]
        change = row["last_months_mean"] - row["first_months_mean"]  # type: ignore[operator]
    row["most_improved"] = float(change)
    if np.isnan(change):
        row["note"] = f"no percentile position in the first or last {edge} months"
    return row


def _excluded(con: Any, engine: Any, rows: Any, roles: pd.DataFrame) -> pd.DataFrame:
    """Selected products that are in the usage data but a measure cannot count (no DDD)."""
    columns = ["measure_id", "vmp_code", "vmp_name", "in_numerator", "reason", "rows", "quantity"]
    left_out = roles[~roles["counted"]]
    if left_out.empty:
        return pd.DataFrame(columns=columns)
    codes = sorted(set(left_out["vmp_code"]))
    used = rows.filter(rows.vmp_code.isin(codes))
    totals = engine.to_pandas(
        used.group_by("vmp_code").aggregate(rows=used.count(), quantity=used.quantity.sum())
    )
    out = left_out.merge(totals, on="vmp_code", how="inner")
    out = out.rename(columns={"ddd_note": "reason"})
    out["rows"] = out["rows"].astype("int64")
    out["quantity"] = out["quantity"].astype("float64")
    out = out.sort_values(["measure_id", "quantity"], ascending=[True, False], kind="mergesort")
    return out[columns].reset_index(drop=True)
