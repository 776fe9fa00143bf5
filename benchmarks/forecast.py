"""Benchmark: year-end forecasts on the bundled lithium extract, every trust at once.

Backtests every forecast method of ``medlib.stats.forecast`` (and the default, chosen for each
year and month from the pooled backtest of the years before it) on the trusts with a cost in
every month from April 2020 to March 2024 (the set-up of issue 16: 93 trusts under the codes
they reported, 279 trust-years), for the financial years 2021/22 to 2023/24. The pool that the
national methods read and the intervals are calibrated on is every trust in the data, as in a
report pack. Only the months up to each forecast month are used, and a year's intervals and
default come from the years before it.

For each month (``--month``; 3, 6 and 9 by default) it prints one line per method, one for the
default and one for the default with the optional trust-level choice, each as
``NAME: MAPE mean=16.73 median=12.31 coverage80=62.0 coverage95=82.8``; then the default's
error and coverage from every month 1-11, and the seconds the whole backtest of every trust
took (every method, months 1-11, intervals and choice; the work a report pack shares).

Run on demand: ``python benchmarks/forecast.py`` (``--successors`` counts merged trusts under
their successors, as the spend report does; ``--ets`` adds exponential smoothing, which fits
one model per trust, year and month and takes many minutes).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from medlib.io.datasets import load_dataset
from medlib.reference.trusts import map_to_successor
from medlib.stats import forecast

YEARS = ("2021/22", "2022/23", "2023/24")
COMPLETE_FROM, COMPLETE_TO = "2020-04-01", "2024-03-01"


def trusts_with_complete_cost(rows: pd.DataFrame) -> pd.Index:
    """Trusts with a known cost in every month from April 2020 to March 2024."""
    months = pd.date_range(COMPLETE_FROM, COMPLETE_TO, freq="MS")
    cost = rows.groupby(["trust_code", "year_month"])["cost_gbp"].sum(min_count=1).unstack()
    return cost.index[cost.reindex(columns=months).notna().all(axis=1)]


def line(name: str, rows: pd.DataFrame) -> str:
    """``NAME: MAPE mean=.. median=.. coverage80=.. coverage95=..`` for backtest rows."""
    ape = rows["ape_pct"]
    return (
        f"{name}: MAPE mean={ape.mean():.2f} median={ape.median():.2f} "
        f"coverage80={rows['covered_80'].mean() * 100:.1f} "
        f"coverage95={rows['covered_95'].mean() * 100:.1f}"
    )


def run(
    methods: list[str], successors: bool
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Index, dict[str, float]]:
    """The calibrated backtest of every trust, with the default and the trust-choice default.

    Returns the backtest (with the default's rows), the trust-choice default's rows, the
    trusts judged and the seconds of each step.
    """
    rows = load_dataset("scmd_lithium")
    if successors:
        rows = map_to_successor(rows)
    judged = trusts_with_complete_cost(rows)
    seconds = {}
    start = time.perf_counter()
    panel = forecast.monthly_panel(rows)
    pooled_methods = [m for m in methods if m != "ets"]
    detail = forecast.panel_backtest(panel, pooled_methods)
    detail = forecast.calibrate(detail)
    default = forecast.with_default(detail, methods=pooled_methods)
    seconds["backtest"] = time.perf_counter() - start
    start = time.perf_counter()
    own = forecast.with_default(detail, methods=pooled_methods, trust_choice=True)
    seconds["trust choice"] = time.perf_counter() - start
    if "ets" in methods:
        start = time.perf_counter()
        ets = forecast.panel_backtest(panel.loc[judged], ["ets"], financial_years=list(YEARS))
        default = pd.concat([default, forecast.calibrate(ets)], ignore_index=True)
        seconds["ets"] = time.perf_counter() - start
    return default, own[own["method"] == "default"], judged, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", type=int, action="append", choices=range(1, 12))
    parser.add_argument("--successors", action="store_true")
    parser.add_argument("--ets", action="store_true")
    args = parser.parse_args()
    months = args.month or [3, 6, 9]
    methods = list(forecast.POOLED_METHODS) + (["ets"] if args.ets else [])

    detail, own, judged, seconds = run(methods, args.successors)

    tested = detail[detail["entity"].isin(judged) & detail["financial_year"].isin(YEARS)]
    own = own[own["entity"].isin(judged) & own["financial_year"].isin(YEARS)]
    years = tested[["entity", "financial_year"]].drop_duplicates()
    codes = "successor" if args.successors else "reported"
    print(
        f"{len(judged)} trusts with a cost in every month {COMPLETE_FROM[:7]} to "
        f"{COMPLETE_TO[:7]} ({codes} codes), {len(years)} trust-years, "
        f"{YEARS[0]} to {YEARS[-1]}"
    )
    for k in months:
        print(f"\nfrom month {k}:")
        at_k = tested[tested["months_observed"] == k]
        for method in [*methods, "default"]:
            print(line(method, at_k[at_k["method"] == method]))
        print(line("trust_choice", own[own["months_observed"] == k]))
        chosen = at_k[at_k["method"] == "default"].groupby("financial_year")["chosen_method"]
        print(
            "  default chose: " + ", ".join(f"{y} {', '.join(sorted(set(m)))}" for y, m in chosen)
        )
    default = tested[tested["method"] == "default"]
    by_month = default.groupby("months_observed").agg(
        mape=("ape_pct", "mean"), coverage80=("covered_80", "mean")
    )
    print("\ndefault by month observed (MAPE mean / coverage80):")
    print(
        "  "
        + "  ".join(f"{k}: {r.mape:.1f}/{r.coverage80 * 100:.0f}" for k, r in by_month.iterrows())
    )
    pooled = detail[detail["method"].isin(forecast.POOLED_METHODS)]
    print(
        f"\nwhole backtest of all {pooled['entity'].nunique()} trusts in the data "
        f"({len(pooled):,} forecasts: {len(forecast.POOLED_METHODS)} methods, months 1-11, "
        f"intervals and default): {seconds['backtest']:.1f} s; "
        f"the trust-level choice adds {seconds['trust choice']:.1f} s"
        + (f"; ETS on the trusts judged: {seconds['ets']:.0f} s" if "ets" in seconds else "")
    )


if __name__ == "__main__":
    main()
