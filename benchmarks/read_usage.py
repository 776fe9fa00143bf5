"""Benchmark: reading and validating SCMD usage files.

Writes the bundled lithium extract in the published SCMD layout, repeated with shifted years to
reach the requested size, then times ``medlib.io.usage.read_usage`` against a naive reader that
checks
each row in a Python loop, and against ``pandas.read_csv`` with no validation (the floor).
Run on demand: ``python benchmarks/read_usage.py --copies 20``.
"""

from __future__ import annotations

import argparse
import csv
import re
import tempfile
import time
import tracemalloc
from pathlib import Path

import pandas as pd

from medlib.io.datasets import load_dataset
from medlib.io.usage import read_usage
from medlib.reference.trusts import known_trust_codes


def make_file(path: Path, copies: int) -> int:
    base = load_dataset("scmd_lithium")
    frames = []
    for k in range(copies):
        part = base.copy()
        part["YEAR_MONTH"] = (part["year_month"] + pd.DateOffset(years=5 * k)).dt.strftime("%Y%m")
        frames.append(part)
    big = pd.concat(frames, ignore_index=True)
    out = pd.DataFrame(
        {
            "YEAR_MONTH": big["YEAR_MONTH"],
            "ODS_CODE": big["trust_code"],
            "VMP_SNOMED_CODE": big["vmp_code"],
            "VMP_PRODUCT_NAME": big["vmp_name"],
            "UNIT_OF_MEASURE_IDENTIFIER": "1",
            "UNIT_OF_MEASURE_NAME": big["unit"],
            "TOTAL_QUANITY_IN_VMP_UNIT": big["quantity"],
            "INDICATIVE_COST": big["cost_gbp"],
        }
    )
    out.to_csv(path, index=False)
    return len(out)


def naive_read(path: Path) -> tuple[int, int]:
    """Row-by-row validation in plain Python: the approach the vectorised reader replaces."""
    known = known_trust_codes()
    seen: dict[tuple[str, str, str], int] = {}
    accepted = quarantined = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            ok = bool(re.fullmatch(r"\d{6}", row["YEAR_MONTH"]))
            ok &= row["ODS_CODE"] in known
            ok &= bool(re.fullmatch(r"\d{6,20}", row["VMP_SNOMED_CODE"]))
            try:
                float(row["TOTAL_QUANITY_IN_VMP_UNIT"])
                if row["INDICATIVE_COST"]:
                    float(row["INDICATIVE_COST"])
            except ValueError:
                ok = False
            key = (row["YEAR_MONTH"], row["ODS_CODE"], row["VMP_SNOMED_CODE"])
            if key in seen:
                ok = False
            seen[key] = 1
            accepted += ok
            quarantined += not ok
    return accepted, quarantined


def timed(fn, *args):
    """Seconds from an untraced run, then peak traced memory from a second run.

    tracemalloc slows Python-level allocation a lot, so timing and memory are separate runs.
    It sees only memory allocated through Python, not Arrow buffers, so pandas with the Arrow
    string type looks smaller than it is.
    """
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10, help="copies of the 26,629-row extract")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scmd.csv"
        rows = make_file(path, args.copies)
        known_trust_codes()  # warm the reference cache so it is not timed
        result, t_medlib, m_medlib = timed(read_usage, path)
        (acc, _), t_naive, m_naive = timed(naive_read, path)
        _, t_pandas, m_pandas = timed(lambda p: pd.read_csv(p, dtype=str), path)
        assert result.summary.rows_accepted == acc == rows
        print(f"rows: {rows:,} ({path.stat().st_size / 2**20:.1f} MiB)")
        print(f"{'reader':34} {'seconds':>8} {'rows/s':>12} {'peak MiB':>9}")
        for name, t, m in (
            ("medlib read_usage (validated)", t_medlib, m_medlib),
            ("naive row-by-row validation", t_naive, m_naive),
            ("pandas.read_csv (no validation)", t_pandas, m_pandas),
        ):
            print(f"{name:34} {t:8.2f} {rows / t:12,.0f} {m:9.0f}")
        print(f"naive / medlib time ratio: {t_naive / t_medlib:.2f}x")


if __name__ == "__main__":
    main()
