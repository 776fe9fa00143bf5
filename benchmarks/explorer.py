"""Benchmark: how long one explorer interaction takes on the bundled sample data.

Each interaction sets one control of the explorer panel, exactly as a click does, and times the
whole update: the query, the SPC and decile answers, the summary table and the chart drawn to
PNG. The panel's PNG memory is emptied before every timed change, so a redraw is always a real
one; the explorer's query caches are kept, because reusing them is the point.

Beside it, the naive approach recomputes everything from the raw usage table on every change
(map merged trusts, join products, aggregate, deciles, SPC, table, chart) with a fresh
``Explorer``. The what-if slider is timed through the what-if panel; its naive version also
recomputes the volume from the raw SCMD rows.

Run on demand: ``python benchmarks/explorer.py --repeats 10``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable

import numpy as np

from medlib.explorer import Explorer
from medlib.explorer.render import figure_png
from medlib.explorer.whatif import WhatIf, scmd_units_per_month
from medlib.explorer.widgets import ExplorerPanel
from medlib.io.datasets import load_dataset

TRUSTS = [("RTD",), ("RTF",), ("R0B",), ("RXP",), ("RTD", "RTF")]
LITHIUM = ["Lithium carbonate", "Lithium citrate", "Lithium chloride"]
BIOLOGICS = ["Adalimumab", "Etanercept", "Infliximab", "Rituximab", "Tocilizumab"]
MEASURES = ["quantity", "spend", "ddds"]
CHARTS = ["deciles", "spc"]
UPTAKES = [0.6, 0.7, 0.8, 0.9, 1.0]


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _summary(samples: list[float]) -> tuple[float, float, float]:
    values = np.asarray(samples)
    return float(np.median(values)), float(np.percentile(values, 95)), float(values.max())


def time_panel(
    panel: ExplorerPanel, control: str, values: list, repeats: int
) -> tuple[list[float], list[float]]:
    """Time setting one control to each value in turn, ``repeats`` times.

    Returns:
        Every sample, and the samples that had to run a query (nothing cached yet).
    """
    samples, cold = [], []
    widget = panel.controls[control]
    counts = panel.explorer.query_counts
    for value in itertools.islice(itertools.cycle(values), repeats):
        if widget.value == value:
            continue
        panel._png.clear()  # a real redraw every time
        queries = sum(counts.values())
        started = time.perf_counter()
        widget.value = value
        elapsed = _ms(time.perf_counter() - started)
        samples.append(elapsed)
        if sum(counts.values()) > queries:
            cold.append(elapsed)
    return samples, cold


def naive_update(raw: dict, products, trusts, selection: dict) -> None:
    """Everything from the raw table: a fresh explorer, its table, chart data and chart PNG."""
    ex = Explorer(raw, product_table=products, trust_table=trusts, **selection)
    _answers = (ex.table, ex.chart_data)
    fig = ex.figure()
    if fig is not None:
        figure_png(fig)


def time_naive(
    make_selection: Callable[[int], dict], raw: dict, products, trusts, repeats: int
) -> list[float]:
    samples = []
    for i in range(repeats):
        started = time.perf_counter()
        naive_update(raw, products, trusts, make_selection(i))
        samples.append(_ms(time.perf_counter() - started))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="changes timed per interaction")
    parser.add_argument("--naive-repeats", type=int, default=3, help="naive updates timed")
    args = parser.parse_args()
    n, k = args.repeats, args.naive_repeats

    started = time.perf_counter()
    products, trusts = load_dataset("products"), load_dataset("trusts")
    raw = {name: load_dataset(name) for name in ("scmd_lithium", "scmd_biologics")}
    ex = Explorer(raw, product_table=products, trust_table=trusts, trusts=["RTD"])
    panel = ExplorerPanel(ex, export_dir="exports")
    print(f"Set-up (load the two extracts, first view): {time.perf_counter() - started:.1f} s")

    rows = []

    def record(name: str, timed: tuple[list[float], list[float]], slow: list[float]) -> None:
        fast, cold = timed
        cold_median = statistics.median(cold) if cold else float("nan")
        rows.append(
            (name, len(fast), *_summary(fast), len(cold), cold_median, statistics.median(slow))
        )

    base = {"dataset": "scmd_lithium", "molecule": "Lithium carbonate", "trusts": ["RTD"]}
    record(
        "change trust",
        time_panel(panel, "trusts", TRUSTS, n),
        time_naive(
            lambda i: {**base, "trusts": list(TRUSTS[i % len(TRUSTS)])}, raw, products, trusts, k
        ),
    )
    record(
        "change molecule (lithium)",
        time_panel(panel, "focus", LITHIUM, n),
        time_naive(
            lambda i: {**base, "molecule": LITHIUM[i % len(LITHIUM)]}, raw, products, trusts, k
        ),
    )
    months = [value for _label, value in panel.controls["period"].options]
    periods = [(months[i], months[-1]) for i in (0, 12, 24, 36, 48)]
    record(
        "change period",
        time_panel(panel, "period", periods, n),
        time_naive(
            lambda i: {**base, "period": periods[i % len(periods)]}, raw, products, trusts, k
        ),
    )
    record(
        "change measure",
        time_panel(panel, "measure", MEASURES, n),
        time_naive(
            lambda i: {**base, "measure": MEASURES[i % len(MEASURES)]}, raw, products, trusts, k
        ),
    )
    record(
        "change chart type",
        time_panel(panel, "chart", CHARTS, n),
        time_naive(lambda i: {**base, "chart": CHARTS[i % len(CHARTS)]}, raw, products, trusts, k),
    )
    panel.controls["dataset"].value = "scmd_biologics"
    panel.controls["measure"].value = "quantity"
    bio = {"dataset": "scmd_biologics", "trusts": ["RTD"], "measure": "quantity"}
    record(
        "change molecule (biologics)",
        time_panel(panel, "focus", BIOLOGICS, n),
        time_naive(
            lambda i: {**bio, "molecule": BIOLOGICS[i % len(BIOLOGICS)]}, raw, products, trusts, k
        ),
    )

    panel.whatif_box.selected_index = 0
    whatif = panel.whatif
    fast = []
    for value in itertools.islice(itertools.cycle(UPTAKES), n):
        if whatif.target_uptake.value == value:
            continue
        started = time.perf_counter()
        whatif.target_uptake.value = value
        fast.append(_ms(time.perf_counter() - started))
    definition = ex.switches[whatif.switch.value]
    slow = []
    for i in range(k):
        started = time.perf_counter()
        units = scmd_units_per_month(raw["scmd_biologics"], definition, ["RTD"]) or 100.0
        WhatIf.from_definition(definition, units, target_uptake=UPTAKES[i % 5]).sentence()
        slow.append(_ms(time.perf_counter() - started))
    record("what-if slider", (fast, []), slow)

    print()
    print(
        f"{'interaction':28} {'n':>3} {'median':>8} {'p95':>8} {'max':>8} "
        f"{'cold n':>6} {'cold med':>8} {'naive':>8} {'naive/median':>12}"
    )
    for name, count, median, p95, worst, n_cold, cold, naive in rows:
        cold_text = f"{cold:6.0f}ms" if n_cold else f"{'-':>8}"
        print(
            f"{name:28} {count:3d} {median:6.0f}ms {p95:6.0f}ms {worst:6.0f}ms "
            f"{n_cold:6d} {cold_text} {naive:6.0f}ms {naive / median:11.1f}x"
        )
    print()
    print("cold: changes that ran a query because nothing was cached yet (a first visit).")
    print(f"Queries really run: {dict(ex.query_counts)}")
    print("Target: every interaction under 300 ms on the sample data.")


if __name__ == "__main__":
    main()
