"""Benchmark: rendering a report pack, against a naive loop of papermill CLI calls.

Renders the first N trusts of a parameter set with every notebook, three ways:

* naive: the papermill CLI called once per report in a shell loop (what a team might script;
  it only executes the notebooks: no HTML, guard, workbook or manifest);
* ``medlib report --jobs 1``: one report at a time, papermill's Python API, HTML, guard, Excel;
* ``medlib report --jobs J --no-share-work``: a process pool, every report computing the work
  common to all trusts itself (what the notebooks cost on their own);
* ``medlib report --jobs J``: the same, the common work computed once per render and shared
  (the default; see docs/reports.md).

It prints wall seconds, seconds per report, the parallel speed-up and the speed-up over the
naive loop, and the fixed cost of one notebook: an empty notebook (parameters only) rendered
through the same pipeline, i.e. kernel start, papermill, guard and HTML export.

Run on demand (not a test): ``python benchmarks/render.py --trusts 11 --jobs 2``. The naive loop
and the one-job run cost the most; ``--naive-trusts 2`` and ``--serial-trusts 2`` time them
on fewer trusts and scale the result to N (marked ``scaled``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from medlib.paths import NOTEBOOKS_DIR
from medlib.render import load_parameter_set, render_pack
from medlib.render.params import (
    check_against_notebooks,
    parse_parameter_set,
    report_parameters,
    resolve_parameter_path,
)
from medlib.render.runner import default_jobs

EMPTY_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "id": "parameters",
            "execution_count": None,
            "metadata": {"tags": ["parameters"]},
            "outputs": [],
            "source": 'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""',
        }
    ],
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def naive_loop(pset, trusts: list[str], work: Path) -> float:
    """Time a bash loop calling the papermill CLI once per report; returns seconds."""
    specs = check_against_notebooks(pset, NOTEBOOKS_DIR)
    papermill = Path(sys.executable).with_name("papermill")
    lines = ["set -e"]
    for trust in trusts:
        for name, spec in specs.items():
            values = report_parameters(pset, spec, trust)
            tables = work / "naive" / trust / "tables"
            tables.mkdir(parents=True, exist_ok=True)
            values["tables_dir"] = str(tables)
            output = work / "naive" / trust / f"{name}.ipynb"
            lines.append(
                f"{shlex.quote(str(papermill))} --no-progress-bar --log-level ERROR "
                f"{shlex.quote(str(spec.path))} {shlex.quote(str(output))} "
                f"-y {shlex.quote(json.dumps(values))}"
            )
    script = work / "naive.sh"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    start = time.perf_counter()
    subprocess.run(["bash", str(script)], check=True, cwd=work, capture_output=True)
    return time.perf_counter() - start


def render(
    pset,
    trusts: list[str],
    jobs: int,
    out: Path,
    notebooks_dir: Path | None = None,
    share_work: bool = True,
):
    """Time ``render_pack`` for the given trusts; returns (seconds, result)."""
    start = time.perf_counter()
    result = render_pack(
        pset,
        trusts=trusts,
        jobs=jobs,
        output_dir=out,
        notebooks_dir=notebooks_dir,
        progress=False,
        share_work=share_work,
    )
    return time.perf_counter() - start, result


def fixed_cost(trusts: list[str], work: Path) -> tuple[float, float]:
    """Fixed costs, from an empty notebook (parameters only) rendered with one job.

    Returns:
        ``(per_notebook, per_pack)``: mean seconds per report in its worker (kernel start,
        papermill, guard, HTML export), and the rest of the wall time (validation, hashing the
        data files, starting the worker process, publishing).
    """
    folder = work / "empty_notebooks"
    folder.mkdir()
    (folder / "empty.ipynb").write_text(json.dumps(EMPTY_NOTEBOOK), encoding="utf-8")
    pset = parse_parameter_set(
        {
            "name": "empty",
            "title": "Empty notebook",
            "period_end": "2024-03",
            "trusts": trusts,
            "notebooks": ["empty"],
        }
    )
    seconds, result = render(pset, trusts, 1, work / "empty_pack", folder)
    assert result.ok, result.failed
    in_workers = sum(r.seconds for r in result.reports)
    return in_workers / len(result.reports), seconds - in_workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="nenc", help="parameter set name or YAML file")
    parser.add_argument("--trusts", type=int, default=None, help="first N trusts (default all)")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="parallel jobs")
    parser.add_argument(
        "--naive-trusts", type=int, default=None, help="time the naive loop on fewer trusts"
    )
    parser.add_argument(
        "--serial-trusts", type=int, default=None, help="time the --jobs 1 run on fewer trusts"
    )
    parser.add_argument(
        "--skip-unshared",
        action="store_true",
        help="skip the parallel run that recomputes shared work in every report",
    )
    args = parser.parse_args()

    pset = load_parameter_set(resolve_parameter_path(args.params))
    trusts = list(pset.trusts[: args.trusts] if args.trusts else pset.trusts)
    reports = len(trusts) * len(pset.notebooks)
    print(
        f"Render benchmark: {pset.name}, {len(trusts)} trusts x {len(pset.notebooks)} notebooks "
        f"= {reports} reports; {default_jobs()} CPUs; parallel run with {args.jobs} jobs"
    )
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="medlib-render-bench-") as tmp:
        work = Path(tmp)
        parallel, result = render(pset, trusts, args.jobs, work / "parallel")
        failed = [(r.trust_code, r.notebook, r.error) for r in result.failed]
        unshared = None
        if not args.skip_unshared:
            unshared = render(pset, trusts, args.jobs, work / "unshared", share_work=False)[0]
        serial_trusts = trusts[: args.serial_trusts] if args.serial_trusts else trusts
        serial = render(pset, serial_trusts, 1, work / "serial")[0] * len(trusts)
        serial /= len(serial_trusts)
        naive_trusts = trusts[: args.naive_trusts] if args.naive_trusts else trusts
        naive = naive_loop(pset, naive_trusts, work) * len(trusts) / len(naive_trusts)
        rows.append((f"naive: papermill CLI per report{_scaled(naive_trusts, trusts)}", naive))
        rows.append((f"medlib report --jobs 1{_scaled(serial_trusts, trusts)}", serial))
        if unshared is not None:
            rows.append((f"medlib report --jobs {args.jobs} --no-share-work", unshared))
        rows.append((f"medlib report --jobs {args.jobs}", parallel))
        fixed, per_pack = fixed_cost(trusts, work)
        per_notebook = _execute_seconds(result)

    print()
    print(f"{'method':52} {'wall s':>8} {'s/report':>9} {'vs naive':>9}")
    for name, seconds in rows:
        print(f"{name:52} {seconds:8.1f} {seconds / reports:9.2f} {naive / seconds:8.1f}x")
    print(f"\nparallel speed-up, {args.jobs} jobs vs 1: {serial / parallel:.2f}x")
    print(
        f"fixed cost per notebook (empty notebook: kernel start, papermill, guard, HTML): "
        f"{fixed:.2f} s; fixed cost per pack (validation, data hashes, worker start, "
        f"publishing; one job): {per_pack:.2f} s"
    )
    print("mean seconds per report by notebook (execute / whole report, parallel run):")
    for name, (execute, whole) in per_notebook.items():
        print(f"  {name:24} {execute:6.1f} / {whole:6.1f}")
    target = 90.0 * reports / 33
    verdict = "met" if parallel <= target else "NOT met"
    print(
        f"target (33 reports in 90 s, i.e. {target:.0f} s for {reports}): {verdict}; "
        f"3x faster than naive: {'met' if naive / parallel >= 3 else 'NOT met'} "
        f"({naive / parallel:.1f}x)"
    )
    if failed:
        print(f"\n{len(failed)} report(s) failed in the parallel run:")
        for trust, notebook, error in failed:
            print(f"  {trust}/{notebook}: {error}")


def _scaled(measured: list[str], trusts: list[str]) -> str:
    return "" if len(measured) == len(trusts) else f" (scaled from {len(measured)} trusts)"


def _execute_seconds(result) -> dict[str, tuple[float, float]]:
    manifest = json.loads((result.output_dir / "manifest.json").read_text(encoding="utf-8"))
    by_notebook: dict[str, list[tuple[float, float]]] = {}
    for entry in manifest["reports"].values():
        timings = entry.get("timings") or {}
        by_notebook.setdefault(entry["notebook"], []).append(
            (timings.get("execute", 0.0), entry.get("seconds") or 0.0)
        )
    return {
        name: (sum(e for e, _ in rows) / len(rows), sum(w for _, w in rows) / len(rows))
        for name, rows in by_notebook.items()
    }


if __name__ == "__main__":
    main()
