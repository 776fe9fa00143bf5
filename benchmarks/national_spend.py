"""Benchmark: the store at national scale, against plain DuckDB (the floor) and pandas (naive).

Generates national-shaped SCMD monthly files in the published layout (seeded: real trust codes
and dm+d VMP codes from the bundled references, padded with made-up VMP codes, quantities and a
heavily skewed cost per unit), then measures, each step in its own process so its peak memory
is its own:

1. ``medlib ingest`` of the monthly files (validation, quarantine, atomic month swaps) against
   DuckDB copying the same CSV files to Parquet with no checks;
2. the pack's shared spend preparation (``prepared_usage``: successor mapping, product join and
   monthly aggregation in the engine) against the same aggregation in one plain DuckDB SQL
   query, and against pandas loading the rows and grouping them;
3. one trust's spend report built on the prepared aggregates (as each report of a pack is);
4. every medicines measure for every trust and month with national percentiles, percent
   ranks and the improvement metrics (``compute_measures`` over the store, as the measures
   report's shared work does) against the same sums, deciles and ranks in plain DuckDB SQL,
   and against pandas loading the rows, joining the measures' products and grouping.

Run on demand, e.g. ``python benchmarks/national_spend.py --months 12`` (about 5 million rows)
or ``--months 60 --density 0.65`` (about 50 million rows, five national years).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv


def generate(folder: Path, months: int, trusts: int, vmps: int, density: float, seed: int) -> int:
    """Write one published-layout CSV per month; return the number of rows written."""
    from medlib.io.datasets import load_dataset
    from medlib.io.usage import SCMD_PUBLISHED_HEADER
    from medlib.reference.trusts import trusts_table

    rng = np.random.default_rng(seed)
    table = trusts_table()
    current = [c for c in table.loc[table["successor_code"].isna(), "trust_code"] if c != "RTD"]
    codes = np.array(["RTD", *current][:trusts])  # the trust whose report is timed
    products = load_dataset("products")
    real = products["vmp_code"].to_numpy()[:vmps]
    made_up = np.array([f"{90000000000000000 + i}" for i in range(max(vmps - len(real), 0))])
    vmp_codes = np.concatenate([real, made_up])
    names = np.array([f"Product {i}" for i in range(len(vmp_codes))])
    # A few products carry most of the cost (as high-cost drugs do): Pareto unit prices.
    unit_price = (rng.pareto(1.2, len(vmp_codes)) + 0.05) * 2.0
    rows = 0
    for m in range(months):
        month = pd.Period("2019-04", freq="M") + m
        keep = rng.random((len(codes), len(vmp_codes))) < density
        t_idx, v_idx = np.nonzero(keep)
        quantity = np.round(rng.lognormal(3.0, 1.5, len(t_idx)), 1)
        cost = np.round(quantity * unit_price[v_idx], 2)
        frame = pa.table(
            {
                "YEAR_MONTH": np.full(len(t_idx), f"{month:%Y%m}"),
                "ODS_CODE": codes[t_idx],
                "VMP_SNOMED_CODE": vmp_codes[v_idx],
                "VMP_PRODUCT_NAME": names[v_idx],
                "UNIT_OF_MEASURE_IDENTIFIER": np.full(len(t_idx), "428673006"),
                "UNIT_OF_MEASURE_NAME": np.full(len(t_idx), "tablet"),
                "TOTAL_QUANITY_IN_VMP_UNIT": quantity,
                "INDICATIVE_COST": cost,
            }
        )
        pacsv.write_csv(
            frame.select(SCMD_PUBLISHED_HEADER), folder / f"scmd_final_{month:%Y%m}.csv"
        )
        rows += len(t_idx)
    return rows


def measured(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; return its seconds and peak RSS (MiB).

    The clock starts before ``code``; code that sets ``_start = time.perf_counter()`` restarts
    it, to leave its setup out of the time (the peak memory still includes it).
    """
    wrapper = textwrap.dedent(
        """
        import json, resource, time
        _start = time.perf_counter()
        {code}
        seconds = time.perf_counter() - _start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({{"seconds": seconds, "peak_mib": peak}}))
        """
    ).format(code=textwrap.dedent(code).strip())
    out = subprocess.run(
        [sys.executable, "-c", wrapper], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--trusts", type=int, default=210)
    parser.add_argument("--vmps", type=int, default=6000)
    parser.add_argument("--density", type=float, default=0.33)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="medlib-national-") as tmp:
        root = Path(tmp)
        raw = root / "raw"
        raw.mkdir()
        start = time.perf_counter()
        rows = generate(raw, args.months, args.trusts, args.vmps, args.density, args.seed)
        size = sum(p.stat().st_size for p in raw.iterdir()) / 2**20
        print(
            f"generated {rows:,} rows in {args.months} monthly files ({size:,.0f} MiB of CSV) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        store = root / "store"
        plain = root / "plain"
        plain.mkdir()
        last = pd.Period("2019-04", freq="M") + args.months - 1
        figures = {
            "ingest (medlib, validated)": measured(
                f"""
                from pathlib import Path
                from medlib.io.store import ingest
                files = sorted(Path({str(raw)!r}).glob("*.csv"))
                ingest(files, {str(store)!r})
                """
            ),
            "CSV to Parquet (plain DuckDB)": measured(
                f"""
                import duckdb
                duckdb.execute(
                    "COPY (SELECT * FROM read_csv('{raw}/*.csv', all_varchar=false)) "
                    "TO '{plain}/usage.parquet' (FORMAT parquet, COMPRESSION zstd)"
                )
                """
            ),
            "shared spend preparation (medlib)": measured(
                f"""
                from medlib.spend.report import prepared_usage
                prepared_usage("duckdb", {str(store)!r})
                """
            ),
            "same aggregation (plain DuckDB SQL)": measured(
                f"""
                import duckdb
                from medlib.io.datasets import load_dataset
                from medlib.spend.measures import product_attributes
                attrs = product_attributes(load_dataset("products"))
                duckdb.register("attrs", attrs)
                duckdb.execute(
                    "SELECT u.year_month, u.trust_code, a.vtm_name, a.bnf_chapter_name, "
                    "a.bnf_section, a.high_cost, sum(u.quantity), sum(u.cost_gbp), count(*), "
                    "sum(u.quantity * a.ddd_per_unit) "
                    "FROM read_parquet('{store}/usage/*/*.parquet') u "
                    "LEFT JOIN attrs a USING (vmp_code) GROUP BY ALL"
                ).df()
                """
            ),
            "same aggregation (pandas, naive)": measured(
                f"""
                import pandas as pd
                from medlib.io.datasets import load_dataset
                from medlib.spend.measures import with_product_attributes
                rows = pd.read_parquet("{store}/usage")
                rows = with_product_attributes(rows, load_dataset("products"))
                rows.groupby(
                    ["year_month", "trust_code", "vtm_name", "bnf_chapter_name",
                     "bnf_section", "high_cost"], dropna=False
                )[["quantity", "cost_gbp", "ddds"]].sum()
                """
            ),
            "one trust's spend report (shared work ready)": measured(
                f"""
                import os
                os.environ["MEDLIB_PACK_CACHE"] = {str(root / "cache")!r}
                from medlib.context import resolve_context
                from medlib.spend.report import build, prepared_usage
                prepared_usage("duckdb", {str(store)!r})
                _start = time.perf_counter()
                report = build(
                    resolve_context("RTD", "{last:%Y-%m}"),
                    store={str(store)!r},
                )
                report.tables()
                """
            ),
            "every measure, trust and month (medlib)": measured(
                f"""
                from medlib import engine
                from medlib.measures.compute import compute_measures
                con = engine.connect("duckdb")
                compute_measures(con.read_parquet("{store}/usage/*/*.parquet"), con=con)
                """
            ),
            "same sums, deciles, ranks (plain DuckDB SQL)": measured(
                f"""
                import duckdb
                from medlib.measures.compute import measure_roles
                from medlib.measures.definitions import load_definitions
                from medlib.measures.products import measure_products
                from medlib.reference.trusts import successor_map
                import pandas as pd
                roles = measure_roles(load_definitions(), measure_products())
                keep = ["measure_id", "vmp_code", "in_numerator", "factor"]
                roles = roles.loc[roles["counted"], keep]
                lineage = pd.DataFrame(list(successor_map().items()), columns=["old", "new"])
                duckdb.register("roles", roles)
                duckdb.register("lineage", lineage)
                duckdb.execute(
                    "WITH sums AS (SELECT r.measure_id, coalesce(l.new, u.trust_code) AS trust, "
                    "u.year_month, sum(CASE WHEN r.in_numerator THEN u.quantity * r.factor "
                    "ELSE 0 END) AS num, sum(u.quantity * r.factor) AS den "
                    "FROM read_parquet('{store}/usage/*/*.parquet') u "
                    "JOIN roles r USING (vmp_code) LEFT JOIN lineage l ON u.trust_code = l.old "
                    "GROUP BY ALL), ranked AS (SELECT *, num / den AS value, percent_rank() "
                    "OVER (PARTITION BY measure_id, year_month ORDER BY num / den) AS pr "
                    "FROM sums WHERE den > 0) SELECT measure_id, year_month, "
                    "quantile_cont(value, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]), "
                    "count(*) FROM ranked GROUP BY ALL"
                ).df()
                """
            ),
            "same sums, deciles, ranks (pandas, naive)": measured(
                f"""
                import numpy as np
                import pandas as pd
                from medlib.measures.compute import measure_roles
                from medlib.measures.definitions import load_definitions
                from medlib.measures.products import measure_products
                from medlib.reference.trusts import successor_map
                roles = measure_roles(load_definitions(), measure_products())
                keep = ["measure_id", "vmp_code", "in_numerator", "factor"]
                roles = roles.loc[roles["counted"], keep]
                rows = pd.read_parquet("{store}/usage", columns=["year_month", "trust_code",
                                                                 "vmp_code", "quantity"])
                rows["trust_code"] = rows["trust_code"].replace(successor_map())
                rows = rows.merge(roles, on="vmp_code")
                rows["den"] = rows["quantity"] * rows["factor"]
                rows["num"] = rows["den"].where(rows["in_numerator"], 0.0)
                keys = ["measure_id", "trust_code", "year_month"]
                sums = rows.groupby(keys)[["num", "den"]].sum()
                sums = sums[sums["den"] > 0].assign(value=lambda f: f["num"] / f["den"])
                groups = sums.groupby(level=["measure_id", "year_month"])["value"]
                groups.rank(pct=True)
                groups.apply(lambda v: np.percentile(v, range(10, 100, 10)))
                """
            ),
        }
        store_mib = sum(p.stat().st_size for p in store.rglob("*.parquet")) / 2**20
        print(f"store: {store_mib:,.0f} MiB of Parquet for {rows:,} rows")
        print(f"{'step':48} {'seconds':>9} {'peak MiB':>9}")
        for name, f in figures.items():
            print(f"{name:48} {f['seconds']:9.1f} {f['peak_mib']:9.0f}")
        ingest_ratio = (
            figures["ingest (medlib, validated)"]["seconds"]
            / figures["CSV to Parquet (plain DuckDB)"]["seconds"]
        )
        prep = figures["shared spend preparation (medlib)"]
        floor = figures["same aggregation (plain DuckDB SQL)"]
        naive = figures["same aggregation (pandas, naive)"]
        print(f"ingest / plain DuckDB copy: {ingest_ratio:.1f}x (target <= 2x)")
        print(
            f"shared preparation / DuckDB floor: {prep['seconds'] / floor['seconds']:.1f}x "
            f"time (target <= 2x), peak {prep['peak_mib']:,.0f} MiB (target <= 4096); "
            f"pandas: {naive['seconds'] / prep['seconds']:.1f}x slower than medlib, "
            f"peak {naive['peak_mib']:,.0f} MiB"
        )
        measures = figures["every measure, trust and month (medlib)"]
        m_floor = figures["same sums, deciles, ranks (plain DuckDB SQL)"]
        m_naive = figures["same sums, deciles, ranks (pandas, naive)"]
        # The floor leaves out what medlib adds: the full trust x month grid, notes, the OP-H
        # percentile positions, the improvement metrics and the excluded-products listing.
        print(
            f"measures / DuckDB floor: {measures['seconds'] / m_floor['seconds']:.1f}x time "
            f"(target <= 3x), peak {measures['peak_mib']:,.0f} MiB; pandas: "
            f"{m_naive['seconds'] / measures['seconds']:.1f}x the time, peak "
            f"{m_naive['peak_mib']:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
