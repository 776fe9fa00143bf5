"""Spend measures per trust and per system: monthly, FYTD, financial years, year on year.

The heavy step, from the canonical ``usage`` table (one row per trust x product x month) to one
row per month and group, runs through :mod:`medlib.engine` (Ibis over DuckDB by default, Spark
for national scale). Everything after that works on small pandas frames.

Conventions:

- ``cost_gbp`` is the SCMD indicative cost. Where a source has no cost it stays missing: spend
  is never invented from quantities. Quantities and defined daily doses (DDDs, from the dm+d
  DDD and the product's DDDs per unit) are reported instead.
- A financial year that starts before the data does is left out of financial-year tables (its
  total would be partial). The financial year containing ``period_end`` is a year to date and is
  compared with the same months of the year before.
- A trust with no rows in a month used none of the products that month (a sum over nothing is
  zero); a trust with no rows in a whole financial year has no total for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.present.wording import format_pct
from medlib.reference.financial_years import add_fy_columns, fy_bounds, fy_month, fy_of_month
from medlib.validation import parse_month, require_columns

__all__ = [
    "BNF_CHAPTERS",
    "Entity",
    "PRODUCT_ATTRIBUTES",
    "SPEND_BY_FY_COLUMNS",
    "UNKNOWN",
    "aggregate_monthly",
    "bnf_codes_filled",
    "data_quality",
    "entity_monthly",
    "fytd_comparison",
    "monthly_detail",
    "product_attributes",
    "quality_counts",
    "quality_counts_expr",
    "QUALITY_COUNTS",
    "rolling_12_months",
    "rows_frame",
    "spend_by_financial_year",
    "store_usage",
    "totals_by_financial_year",
    "totals_by_group",
    "with_product_attributes",
    "yoy_rank_table",
]

USAGE_NEEDED = ["year_month", "trust_code", "vmp_code", "quantity", "cost_gbp"]
MONTHLY_COLUMNS = ["quantity", "cost_gbp", "rows", "rows_without_cost"]

#: Column contract of the published ``spend_by_financial_year`` table.
SPEND_BY_FY_COLUMNS = [
    "trust_code",
    "financial_year",
    "cost_gbp",
    "yoy_change_gbp",
    "yoy_change_pct",
]

#: BNF chapter names (BNF legacy chapters used by the 8-character BNF codes in dm+d).
BNF_CHAPTERS = {
    "01": "Gastro-intestinal system",
    "02": "Cardiovascular system",
    "03": "Respiratory system",
    "04": "Central nervous system",
    "05": "Infections",
    "06": "Endocrine system",
    "07": "Obstetrics, gynaecology and urinary-tract disorders",
    "08": "Malignant disease and immunosuppression",
    "09": "Nutrition and blood",
    "10": "Musculoskeletal and joint diseases",
    "11": "Eye",
    "12": "Ear, nose and oropharynx",
    "13": "Skin",
    "14": "Immunological products and vaccines",
    "15": "Anaesthesia",
    "18": "Preparations used in diagnosis",
    "19": "Other drugs and preparations",
    "20": "Dressings",
    "21": "Appliances",
    "22": "Incontinence appliances",
    "23": "Stoma appliances",
}
UNKNOWN = "Not known"


# --- aggregation --------------------------------------------------------------------------


def aggregate_monthly(
    usage: pd.DataFrame, by: Sequence[str] = ("trust_code",), backend: str = "duckdb"
) -> pd.DataFrame:
    """Monthly quantity, cost and DDDs per group, computed by the query engine.

    Args:
        usage: Canonical usage rows, optionally with extra columns to group by (e.g. from
            :func:`with_product_attributes`) and a ``ddds`` column.
        by: Grouping columns besides ``year_month``.
        backend: ``"duckdb"`` (default) or ``"pyspark"``.

    Returns:
        ``year_month, *by, quantity, cost_gbp, rows, rows_without_cost`` (plus ``ddds`` when
        ``usage`` has it); ``cost_gbp`` is missing where no row in the group has a cost.
    """
    by = list(by)
    require_columns(usage, ["year_month", "quantity", "cost_gbp", *by], "usage")
    cols = ["year_month", *by, "quantity", "cost_gbp"]
    frame = usage[cols].copy()
    frame["cost_gbp"] = frame["cost_gbp"].astype("float64")
    from medlib import engine  # Ibis loads here, only when something is aggregated

    con = engine.connect(backend)
    table = engine.register(con, "usage_for_spend", frame)
    out = engine.to_pandas(engine.monthly_usage(table, by))
    if "ddds" in usage.columns:
        # DDDs are a product attribute times quantity: a small extra sum done alongside.
        ddds = usage.groupby(["year_month", *by], dropna=False)["ddds"].sum(min_count=1)
        out = out.merge(ddds.reset_index(), on=["year_month", *by], how="left")
    out["year_month"] = pd.to_datetime(out["year_month"]).astype("datetime64[ns]")
    for col in ("quantity", "cost_gbp"):
        out[col] = out[col].astype("float64")
    return out.sort_values(["year_month", *by], kind="mergesort").reset_index(drop=True)


def bnf_codes_filled(products: pd.DataFrame) -> pd.Series:
    """Each product's BNF code, filling a missing one from other products of the same molecule.

    dm+d leaves the BNF code blank for some products (e.g. newer lithium VMPs); the most common
    code among products with the same VTM is used, so a molecule sits in one BNF section.
    """
    require_columns(products, ["vmp_code", "vtm_name", "bnf_code"], "products")
    known = products.dropna(subset=["bnf_code", "vtm_name"])
    modal = known.groupby("vtm_name")["bnf_code"].agg(lambda s: s.value_counts().index[0])
    filled = products["bnf_code"].where(
        products["bnf_code"].notna(), products["vtm_name"].map(modal)
    )
    return filled.astype(object).where(filled.notna(), None)


#: Product attributes joined to usage rows (see :func:`product_attributes`).
PRODUCT_ATTRIBUTES = [
    "vtm_name",
    "bnf_chapter",
    "bnf_section",
    "bnf_chapter_name",
    "high_cost",
    "ddd_per_unit",
    "route",
    "form",
]


def product_attributes(products: pd.DataFrame) -> pd.DataFrame:
    """Per product: molecule, BNF chapter and section, high-cost flag, DDDs per unit, route, form.

    ``bnf_chapter`` is e.g. ``"04"``, ``bnf_section`` ``"0402"``; a product without a BNF code
    takes its molecule's (:func:`bnf_codes_filled`) and otherwise gets ``"Not known"``.
    """
    require_columns(
        products, ["vmp_code", "vtm_name", "bnf_code", "ddd_per_unit", "high_cost"], "products"
    )
    out = products[["vmp_code"]].copy()
    out["vtm_name"] = products["vtm_name"].astype(object).where(products["vtm_name"].notna(), None)
    code = bnf_codes_filled(products)
    out["bnf_chapter"] = code.map(
        lambda c: c[:2] if isinstance(c, str) and len(c) >= 2 else UNKNOWN
    )
    out["bnf_section"] = code.map(
        lambda c: c[:4] if isinstance(c, str) and len(c) >= 4 else UNKNOWN
    )
    out["bnf_chapter_name"] = out["bnf_chapter"].map(lambda c: BNF_CHAPTERS.get(c, UNKNOWN))
    out["high_cost"] = products["high_cost"].astype("boolean").fillna(False).astype(bool)
    out["ddd_per_unit"] = products["ddd_per_unit"].astype(float)
    for column in ("route", "form"):
        values = products[column] if column in products else pd.Series(None, index=products.index)
        out[column] = values.astype(object).where(values.notna(), None)
    return out.reset_index(drop=True)


def _prefix(code: object, n: int) -> str:
    return code[:n] if isinstance(code, str) and len(code) >= n else UNKNOWN


def with_product_attributes(usage: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Usage rows joined to their molecule, BNF chapter/section, high-cost flag and DDDs.

    Adds ``vtm_name``, ``bnf_chapter`` (e.g. ``"04"``), ``bnf_chapter_name``, ``bnf_section``
    (e.g. ``"0402"``), ``high_cost`` (bool) and ``ddds = quantity * ddd_per_unit`` (missing when
    the product has no DDD). Products missing from ``products`` get ``"Not known"`` labels.
    """
    require_columns(usage, USAGE_NEEDED, "usage")
    attrs = product_attributes(products).drop(columns=["route", "form"])
    out = usage.merge(attrs, on="vmp_code", how="left", validate="many_to_one")
    for column in ("vtm_name", "bnf_chapter", "bnf_section", "bnf_chapter_name"):
        out[column] = out[column].fillna(UNKNOWN)
    out["high_cost"] = out["high_cost"].astype("boolean").fillna(False).astype(bool)
    out["ddds"] = out["quantity"] * out["ddd_per_unit"].astype(float)
    return out.drop(columns=["ddd_per_unit"])


def store_usage(
    con: Any,
    usage_glob: str,
    products: pd.DataFrame,
    successors: Mapping[str, str],
    sources: Sequence[str] | None = None,
) -> Any:
    """The store's usage rows as an engine expression, ready for the spend measures.

    Nothing is loaded into pandas: the Parquet files are read by the engine, merged trusts are
    mapped onto their successors, and each row is joined to its product's attributes
    (:func:`product_attributes`) with ``ddds = quantity * ddd_per_unit``, all in DuckDB (or
    Spark). Only the aggregates or filtered rows a report asks for come back.

    Args:
        con: An engine connection (:func:`medlib.engine.connect`).
        usage_glob: The store's usage files (:meth:`medlib.io.store.Store.usage_glob`).
        products: The products reference.
        successors: ``{predecessor_code: successor_code}`` (:func:`successor_map`).
        sources: Streams to keep (the ``source`` column); None keeps all.

    Returns:
        An Ibis table with the canonical usage columns (``trust_code`` mapped) plus the product
        attributes and ``ddds``.
    """
    import ibis

    from medlib import engine

    rows = con.read_parquet(usage_glob)
    rows = rows.select(
        "year_month", "trust_code", "vmp_code", "vmp_name", "quantity", "cost_gbp", "source"
    )
    if sources is not None:
        rows = rows.filter(rows.source.isin(list(sources)))
    pairs = pd.DataFrame(
        {"predecessor_code": list(successors), "successor_code": list(successors.values())},
        dtype=object,
    )
    if pairs.empty:
        # An empty frame has no column types for the engine to join on; "-" is no ODS code.
        pairs = pd.DataFrame({"predecessor_code": ["-"], "successor_code": ["-"]})
    lineage = engine.register(con, "trust_successors", pairs)
    attrs = engine.register(con, "product_attributes", product_attributes(products))
    joined = rows.left_join(lineage, rows.trust_code == lineage.predecessor_code)
    joined = joined.select(
        year_month=joined.year_month.cast("date"),
        trust_code=ibis.coalesce(joined.successor_code, joined.trust_code),
        vmp_code=joined.vmp_code,
        vmp_name=joined.vmp_name,
        quantity=joined.quantity,
        cost_gbp=joined.cost_gbp,
        source=joined.source,
    )
    full = joined.left_join(attrs, joined.vmp_code == attrs.vmp_code)
    return full.select(
        *[full[c] for c in ("year_month", "trust_code", "vmp_name", "quantity", "cost_gbp")],
        vmp_code=joined.vmp_code,
        source=full.source,
        vtm_name=full.vtm_name.fill_null(UNKNOWN),
        bnf_chapter=full.bnf_chapter.fill_null(UNKNOWN),
        bnf_section=full.bnf_section.fill_null(UNKNOWN),
        bnf_chapter_name=full.bnf_chapter_name.fill_null(UNKNOWN),
        high_cost=full.high_cost.fill_null(False),
        ddds=full.quantity * full.ddd_per_unit,
        route=full.route,
        form=full.form,
    )


def monthly_detail(table: Any, by: Sequence[str]) -> pd.DataFrame:
    """Monthly totals per group of a :func:`store_usage` expression, computed in the engine.

    Returns:
        The columns of :func:`aggregate_monthly`: ``year_month, *by, quantity, cost_gbp, rows,
        rows_without_cost, ddds`` (``cost_gbp`` and ``ddds`` missing where no row has one).
    """
    from medlib import engine

    keys = ["year_month", *by]
    expr = table.group_by(keys).aggregate(
        quantity=table.quantity.sum(),
        cost_gbp=table.cost_gbp.sum(),
        rows=table.count(),
        rows_without_cost=table.cost_gbp.isnull().cast("int64").sum(),
        ddds=table.ddds.sum(),
    )
    out = engine.to_pandas(expr)
    return _monthly_frame(out, by)


def rows_frame(table: Any) -> pd.DataFrame:
    """Execute a (filtered) :func:`store_usage` expression into a pandas usage frame."""
    from medlib import engine

    return _typed_rows(engine.to_pandas(table))


def _typed_rows(out: pd.DataFrame) -> pd.DataFrame:
    out["year_month"] = pd.to_datetime(out["year_month"]).astype("datetime64[ns]")
    for col in ("quantity", "cost_gbp", "ddds"):
        if col in out:
            out[col] = out[col].astype("float64")
    if "high_cost" in out:
        out["high_cost"] = out["high_cost"].astype(bool)
    return out


def _monthly_frame(out: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    out = _typed_rows(out)
    for col in ("rows", "rows_without_cost"):
        out[col] = out[col].astype("int64")
    return out.sort_values(["year_month", *by], kind="mergesort").reset_index(drop=True)


# --- entities: a trust or a system of trusts ----------------------------------------------


@dataclass(frozen=True)
class Entity:
    """What a report is about: one trust, or a system (a list of trusts).

    Attributes:
        label: The trust code, or the system's name.
        trust_codes: The trusts it covers.
        is_system: True for a system.
    """

    label: str
    trust_codes: tuple[str, ...]
    is_system: bool = False


def entity_monthly(monthly: pd.DataFrame, entity: Entity, org: str = "trust_code") -> pd.DataFrame:
    """Sum a monthly per-trust table over an entity's trusts.

    Returns:
        The same columns with ``org`` replaced by the entity label; ``cost_gbp`` stays missing
        for a month where no trust has a cost.
    """
    require_columns(monthly, ["year_month", org], "monthly table")
    keys = [c for c in monthly.columns if c not in (org, *MONTHLY_COLUMNS, "ddds")]
    part = monthly[monthly[org].isin(entity.trust_codes)]
    values = [c for c in (*MONTHLY_COLUMNS, "ddds") if c in monthly.columns]
    out = part.groupby(keys, as_index=False)[values].sum(min_count=1)
    out.insert(1, org, entity.label)
    for col in ("rows", "rows_without_cost"):
        if col in out.columns:
            out[col] = out[col].fillna(0).astype("int64")
    return out


# --- financial-year measures --------------------------------------------------------------


def _period_end(monthly: pd.DataFrame, period_end: object | None) -> pd.Timestamp:
    if period_end is None:
        if monthly.empty:
            raise InputError("monthly table has no rows")
        return pd.Timestamp(monthly["year_month"].max())
    return parse_month(period_end, "period_end")


def totals_by_financial_year(
    monthly: pd.DataFrame,
    value: str = "cost_gbp",
    by: str = "trust_code",
    period_end: object | None = None,
    data_start: object | None = None,
) -> pd.DataFrame:
    """Financial-year totals and year-on-year change per organisation.

    Args:
        monthly: One or more rows per organisation and month.
        value: Column to total.
        by: Organisation column.
        period_end: Last month included (``"YYYY-MM"``); default the last month in the data.
        data_start: First month the source covers; default the first month in ``monthly``.
            The financial year containing it is left out unless it starts in April.

    Returns:
        ``by, financial_year, value, months, previous, yoy_change, yoy_change_pct`` sorted by
        organisation and year. ``months`` is how many months of the year are included (12, or
        fewer in the year to date); ``previous`` is the same months of the year before, missing
        when the organisation has no rows then or that year starts before the data.
        ``yoy_change_pct`` is a percentage (12.5 means +12.5%), missing when ``previous`` is 0.
        A year with values all missing totals to missing, not zero.
    """
    require_columns(monthly, ["year_month", by, value], "monthly table")
    end = _period_end(monthly, period_end)
    start = _data_start(monthly, data_start)
    data = add_fy_columns(monthly[monthly["year_month"] <= end])
    if fy_bounds(fy_of_month(start))[0] < start:
        data = data[data["financial_year"] != fy_of_month(start)]
    end_fy, end_k = fy_of_month(end), int(fy_month(pd.Series([end])).iloc[0])

    totals = data.groupby([by, "financial_year"], as_index=False)[value].sum(min_count=1)
    totals["months"] = np.where(totals["financial_year"] == end_fy, end_k, 12)
    # Like-for-like comparison: the year to date is compared with the same months a year before.
    part = data[data["fy_month"] <= end_k]
    partial = part.groupby([by, "financial_year"])[value].sum(min_count=1)
    full = data.groupby([by, "financial_year"])[value].sum(min_count=1)
    previous = []
    for org, label in zip(totals[by], totals["financial_year"], strict=True):
        prev_label = _previous_label(label)
        source = partial if label == end_fy else full
        previous.append(source.get((org, prev_label), np.nan))
    totals["previous"] = np.asarray(previous, dtype=float)
    totals["yoy_change"] = totals[value] - totals["previous"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = totals["yoy_change"] / totals["previous"] * 100
    totals["yoy_change_pct"] = pct.where(totals["previous"] != 0)
    return totals.sort_values([by, "financial_year"], kind="mergesort").reset_index(drop=True)


def _data_start(monthly: pd.DataFrame, data_start: object | None) -> pd.Timestamp:
    if data_start is None:
        if monthly.empty:
            raise InputError("monthly table has no rows")
        return pd.Timestamp(monthly["year_month"].min())
    return parse_month(data_start, "data_start")


def _previous_label(label: str) -> str:
    start = int(label[:4]) - 1
    return f"{start}/{(start + 1) % 100:02d}"


def spend_by_financial_year(
    monthly: pd.DataFrame,
    period_end: object | None = None,
    decimals: int | None = 2,
    data_start: object | None = None,
) -> pd.DataFrame:
    """The published ``spend_by_financial_year`` table: spend per trust and financial year.

    Args:
        monthly: Monthly spend per trust (``year_month, trust_code, cost_gbp``).
        period_end: Last month included; default the last month in the data.
        decimals: Round money to this many places (2 = pennies); None keeps full precision.
        data_start: First month the source covers (see :func:`totals_by_financial_year`).

    Returns:
        Exactly ``trust_code, financial_year, cost_gbp, yoy_change_gbp, yoy_change_pct``; see
        :func:`totals_by_financial_year` for the rules. ``yoy_change_gbp`` is the difference of
        the rounded totals, so the table adds up to the penny.
    """
    totals = totals_by_financial_year(monthly, "cost_gbp", "trust_code", period_end, data_start)
    out = pd.DataFrame(
        {
            "trust_code": totals["trust_code"],
            "financial_year": totals["financial_year"],
            "cost_gbp": totals["cost_gbp"],
            "previous": totals["previous"],
        }
    )
    if decimals is not None:
        out["cost_gbp"] = out["cost_gbp"].round(decimals)
        out["previous"] = out["previous"].round(decimals)
    out["yoy_change_gbp"] = out["cost_gbp"] - out["previous"]
    if decimals is not None:
        out["yoy_change_gbp"] = out["yoy_change_gbp"].round(decimals)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = out["yoy_change_gbp"] / out["previous"] * 100
    out["yoy_change_pct"] = pct.where(out["previous"] != 0)
    if decimals is not None:
        out["yoy_change_pct"] = out["yoy_change_pct"].round(1)
    return out[SPEND_BY_FY_COLUMNS]


def fytd_comparison(
    monthly: pd.DataFrame,
    period_end: object,
    value: str = "cost_gbp",
    by: str = "trust_code",
    data_start: object | None = None,
) -> pd.DataFrame:
    """Financial year to date against the same period last year, per organisation.

    Returns:
        ``by, financial_year, months, fytd, same_period_last_year, change, change_pct`` for the
        financial year containing ``period_end``.
    """
    end = parse_month(period_end, "period_end")
    totals = totals_by_financial_year(monthly, value, by, end, data_start)
    current = totals[totals["financial_year"] == fy_of_month(end)]
    return pd.DataFrame(
        {
            by: current[by],
            "financial_year": current["financial_year"],
            "months": current["months"],
            "fytd": current[value],
            "same_period_last_year": current["previous"],
            "change": current["yoy_change"],
            "change_pct": current["yoy_change_pct"],
        }
    ).reset_index(drop=True)


def rolling_12_months(
    monthly: pd.DataFrame, value: str = "cost_gbp", by: str = "trust_code"
) -> pd.DataFrame:
    """Rolling 12-month totals per organisation.

    Months with no rows inside an organisation's span count as zero; the first 11 months of
    each organisation have no rolling total.

    Returns:
        ``year_month, by, value, rolling_12m``.
    """
    require_columns(monthly, ["year_month", by, value], "monthly table")
    frames = []
    for org, frame in monthly.groupby(by, sort=True):
        sums = frame.groupby("year_month")[value].sum(min_count=1)
        index = pd.date_range(sums.index.min(), sums.index.max(), freq="MS")
        series = sums.reindex(index).fillna(0.0)
        frames.append(
            pd.DataFrame(
                {
                    "year_month": index,
                    by: org,
                    value: series.to_numpy(),
                    "rolling_12m": series.rolling(12, min_periods=12).sum().to_numpy(),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["year_month", by, value, "rolling_12m"])
    return pd.concat(frames, ignore_index=True)


def totals_by_group(
    df: pd.DataFrame,
    group: str,
    period_end: object,
    value: str = "cost_gbp",
    data_start: object | None = None,
) -> pd.DataFrame:
    """Year to date by group (molecule, BNF chapter...) against the same period last year.

    Args:
        df: Rows with ``year_month``, ``group`` and ``value`` for one entity.
        group: Column to break down by, e.g. ``"vtm_name"`` or ``"bnf_chapter_name"``.
        period_end: Last month included.
        value: Column to total.
        data_start: First month the source covers; default the first month in ``df``. Last
            year's figures are missing when last year's period starts before it.

    Returns:
        ``group, fytd, same_period_last_year, change, change_pct, share_pct`` (share of this
        year's total), largest first. A group with no rows in a covered period counts as 0.
    """
    require_columns(df, ["year_month", group, value], "data by group")
    end = parse_month(period_end, "period_end")
    start = fy_bounds(fy_of_month(end))[0]
    last_start, last_end = start - pd.DateOffset(years=1), end - pd.DateOffset(years=1)
    covered_from = _data_start(df, data_start)

    def period_totals(first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
        rows = df[(df["year_month"] >= first) & (df["year_month"] <= last)]
        sums = rows.groupby(group)[value].sum(min_count=1).reindex(df[group].dropna().unique())
        if first < covered_from:
            return sums * np.nan
        if not rows[value].notna().any():
            return sums
        return sums.fillna(0.0)

    out = pd.DataFrame(
        {
            "fytd": period_totals(start, end),
            "same_period_last_year": period_totals(last_start, last_end),
        }
    )
    out["change"] = out["fytd"] - out["same_period_last_year"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change_pct"] = (out["change"] / out["same_period_last_year"] * 100).where(
            out["same_period_last_year"] != 0
        )
    total = out["fytd"].sum(min_count=1)
    out["share_pct"] = out["fytd"] / total * 100 if pd.notna(total) and total != 0 else np.nan
    out.index.name = group
    out = out.reset_index()
    return out.sort_values("fytd", ascending=False, kind="mergesort").reset_index(drop=True)


#: Per-month row counts behind the data-quality checks (see :func:`quality_counts`).
QUALITY_COUNTS = ["rows", "rows_without_cost", "rows_negative", "rows_unknown_product"]


def quality_counts(usage: pd.DataFrame, org: str = "trust_code") -> pd.DataFrame:
    """Rows per month and organisation: all, without a cost, negative, unknown product.

    Args:
        usage: Usage rows; ``rows_unknown_product`` is counted when they carry ``vtm_name``
            (from :func:`with_product_attributes`) and left missing otherwise.
        org: Organisation column.

    Returns:
        ``year_month, <org>, rows, rows_without_cost, rows_negative, rows_unknown_product``.
    """
    require_columns(usage, ["year_month", org, "quantity", "cost_gbp"], "usage")
    flags = pd.DataFrame(
        {
            "year_month": usage["year_month"],
            org: usage[org],
            "rows": 1,
            "rows_without_cost": usage["cost_gbp"].isna().astype(int),
            "rows_negative": (usage["quantity"] < 0).astype(int),
            "rows_unknown_product": (
                (usage["vtm_name"] == UNKNOWN).astype(float) if "vtm_name" in usage else np.nan
            ),
        }
    )
    out = flags.groupby(["year_month", org], as_index=False).sum(min_count=1)
    return out


def quality_counts_expr(table: Any) -> Any:
    """:func:`quality_counts` of a :func:`store_usage` expression, in the engine.

    Also counts ``rows_with_ddd`` (rows whose product has a DDD), so one scan gives both.
    """
    return table.group_by(["year_month", "trust_code"]).aggregate(
        rows=table.count(),
        rows_without_cost=table.cost_gbp.isnull().cast("int64").sum(),
        rows_negative=(table.quantity < 0).cast("int64").sum(),
        rows_unknown_product=(table.vtm_name == UNKNOWN).cast("int64").sum(),
        rows_with_ddd=table.ddds.notnull().cast("int64").sum(),
    )


def data_quality(counts: pd.DataFrame, period_start: object, period_end: object) -> pd.DataFrame:
    """Data-quality checks on one entity's rows over a period, from :func:`quality_counts`.

    Args:
        counts: Row counts per month (any organisations: they are added up).
        period_start: First month checked.
        period_end: Last month checked.

    Returns:
        ``check, value, detail`` rows: months with no data, rows without a cost, negative
        quantities (returns or corrections), products not in the product reference, and the
        first and last month with data.
    """
    require_columns(counts, ["year_month", *QUALITY_COUNTS[:3]], "row counts")
    start, end = parse_month(period_start, "period_start"), parse_month(period_end, "period_end")
    part = counts[(counts["year_month"] >= start) & (counts["year_month"] <= end)]
    part = part[part["rows"] > 0]
    months = pd.date_range(start, end, freq="MS")
    present = set(pd.to_datetime(part["year_month"]).unique())
    missing = [m for m in months if m not in present]
    rows = int(part["rows"].sum())
    no_cost = int(part["rows_without_cost"].sum())
    negative = int(part["rows_negative"].sum())
    checks = [
        (
            "Months with no data",
            len(missing),
            ", ".join(m.strftime("%b %Y") for m in missing[:12])
            + (" ..." if len(missing) > 12 else ""),
        ),
        ("Months expected", len(months), f"{start:%B %Y} to {end:%B %Y}"),
        ("Rows", rows, ""),
        (
            "Rows without a cost",
            no_cost,
            f"{format_pct(no_cost / rows * 100)} of rows" if rows else "",
        ),
        (
            "Rows with a negative quantity",
            negative,
            "returns or corrections; kept in the totals" if negative else "",
        ),
    ]
    if "rows_unknown_product" in part and part["rows_unknown_product"].notna().any():
        unknown = int(part["rows_unknown_product"].sum())
        checks.append(("Rows for products not in the product reference", unknown, ""))
    return pd.DataFrame(checks, columns=["check", "value", "detail"])


def yoy_rank_table(
    monthly_by_trust: pd.DataFrame,
    period_end: object,
    members: Mapping[str, str] | None = None,
    value: str = "cost_gbp",
) -> pd.DataFrame:
    """FYTD and year-on-year change per trust, for ranking a trust among its comparators.

    Args:
        monthly_by_trust: Monthly values per trust.
        period_end: Last month included.
        members: Optional ``{trust_code: trust_name}`` restricting and naming the trusts.
        value: Column to total.

    Returns:
        :func:`fytd_comparison` columns plus ``trust_name`` when ``members`` is given.
    """
    table = fytd_comparison(monthly_by_trust, period_end, value)
    if members is not None:
        table = table[table["trust_code"].isin(members)].copy()
        table.insert(1, "trust_name", table["trust_code"].map(members))
    return table.reset_index(drop=True)
