"""The ``medlib`` command line: validate and ingest files, describe the data, render packs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from medlib import __version__
from medlib.present.wording import format_pct

__all__ = [
    "app",
    "describe_usage",
    "info",
    "ingest_command",
    "main",
    "quarantine_names",
    "store_app",
    "store_status_command",
    "validate",
]

app = typer.Typer(
    help="Medicines value workbook: validate data, describe it, render per-trust report packs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        console.print(f"medlib {__version__}")
        raise typer.Exit()


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="SCMD usage files (CSV or Parquet).")],
    quarantine_dir: Annotated[
        Path,
        typer.Option(help="Folder for <file>.quarantine.csv files listing every rejected row."),
    ] = Path("quarantine"),
) -> None:
    """Read each file, print its load summary and write its quarantined rows to CSV.

    Quarantined values are written as they were read, except that text a spreadsheet would run
    as a formula gets a leading ``'`` (:func:`medlib.io.cells.neutralise_frame`).

    Exits 1 if any row was quarantined, 2 if any file could not be read at all, else 0.
    """
    from medlib.io.cells import neutralise_frame
    from medlib.io.usage import UnusableFileError, read_usage

    worst = 0
    for path, name in zip(files, quarantine_names(files), strict=True):
        try:
            result = read_usage(path)
        except UnusableFileError as exc:
            err_console.print(f"[bold red]Unusable file[/]: {exc}", highlight=False)
            worst = 2
            continue
        except Exception as exc:  # one file's failure must not stop the others being checked
            err_console.print(
                f"[bold red]Could not read[/] {path}: {type(exc).__name__}: {exc}",
                highlight=False,
            )
            worst = 2
            continue
        for line in result.summary.lines():
            console.print(line, highlight=False)
        if len(result.quarantine):
            quarantine_dir.mkdir(parents=True, exist_ok=True)
            out = quarantine_dir / name
            # Rejected rows are the least trusted text there is; opened in a spreadsheet,
            # none of it may run.
            neutralise_frame(result.quarantine).to_csv(out, index=False)
            console.print(f"  quarantined rows written to {out}", highlight=False)
            worst = max(worst, 1)
    raise typer.Exit(worst)


def quarantine_names(files: list[Path]) -> list[str]:
    """A quarantine file name per input, unique even when inputs share a file name.

    Example:
        >>> quarantine_names([Path("a/x.csv"), Path("b/x.csv"), Path("y.csv")])
        ['x.csv.quarantine.csv', 'x.csv.2.quarantine.csv', 'y.csv.quarantine.csv']
    """
    seen: dict[str, int] = {}
    names = []
    for path in files:
        base = Path(path).name
        seen[base] = seen.get(base, 0) + 1
        suffix = "" if seen[base] == 1 else f".{seen[base]}"
        names.append(f"{base}{suffix}.quarantine.csv")
    return names


@app.command()
def info(
    dataset: Annotated[
        str, typer.Option(help="Bundled dataset to describe (see the list with --dataset list).")
    ] = "usage",
) -> None:
    """Describe the bundled data: date range, trusts, products and cost coverage."""
    from medlib.io.datasets import dataset_names, load_dataset

    names = dataset_names()
    if dataset == "list" or dataset not in names:
        if dataset != "list":
            err_console.print(f"No bundled dataset called {dataset!r}.")
        for name, text in names.items():
            console.print(f"{name:22} {text}", highlight=False)
        raise typer.Exit(0 if dataset == "list" else 2)
    frame = load_dataset(dataset)
    console.print(f"{dataset}: {names[dataset]}", highlight=False)
    console.print(f"  rows {len(frame):,}; columns {', '.join(frame.columns)}", highlight=False)
    if "year_month" in frame:
        for line in describe_usage(frame):
            console.print(line, highlight=False)


def describe_usage(frame: pd.DataFrame) -> list[str]:
    """Lines describing a usage table per source: months, trusts, products, cost coverage."""
    from medlib.io.datasets import describe_usage as describe

    return [
        f"  {r.source}: {r.first_month} to {r.last_month} ({r.months} months), {r.trusts} trusts,"
        f" {r.products} products, cost on {r.rows_with_cost:,} of {r.rows:,} rows"
        f" ({format_pct(r.cost_coverage_pct)})"
        for r in describe(frame).itertuples()
    ]


STORE_OPTION = typer.Option(
    help="The store's folder (created by the first ingest).", show_default="store/"
)


@app.command("ingest")
def ingest_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="SCMD files: published monthly CSV (also .csv.gz), extracts, Parquet; with "
            "--table patients, folders each holding one patient extract's four tables."
        ),
    ],
    store: Annotated[Path | None, STORE_OPTION] = None,
    stream: Annotated[
        str | None,
        typer.Option(help="Stream the files belong to (default: from each file's name)."),
    ] = None,
    table: Annotated[
        str,
        typer.Option(
            help="The store's table: usage (SCMD), hcd_activity, patients (a folder of four "
            "tables) or products (dm+d reference)."
        ),
    ] = "usage",
) -> None:
    """Validate files and add their months to the store.

    A month's rows replace that stream's rows of the month unless the store holds a higher
    release (final > provisional > wip > unclassified); the same file twice changes nothing.
    Exits 1 if any row was quarantined, 2 if any file could not be read at all, else 0.
    """
    from medlib.io.patient_store import LOG_TABLE, ingest_patients
    from medlib.io.patient_tables import PatientDataError
    from medlib.io.reference_store import ingest_products
    from medlib.io.store import TABLES, Store, StoreError, ingest
    from medlib.io.usage import UnusableFileError
    from medlib.paths import STORE_DIR

    try:
        target = Store(store or STORE_DIR, create=True)
        choices = sorted([*TABLES, LOG_TABLE, "products"])
        if table not in choices:
            raise StoreError(f"--table must be one of {choices}, not {table!r}")
    except StoreError as exc:
        err_console.print(f"[bold red]Store[/]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    worst = 0
    for path in files:
        try:
            if table == LOG_TABLE:
                result = ingest_patients(path, target, stream=stream)
                quarantined = result.rows_quarantined
            elif table == "products":
                result = ingest_products(path, target)
                quarantined = result.rows_quarantined
            else:
                [result] = ingest([path], target, table=table, stream=stream)
                quarantined = result.summary.rows_quarantined
        except (UnusableFileError, PatientDataError) as exc:
            err_console.print(f"[bold red]Unusable file[/]: {exc}", highlight=False)
            worst = 2
            continue
        for line in result.lines():
            console.print(line, highlight=False)
        if quarantined:
            worst = max(worst, 1)
    console.print(f"Store: {target.root}", highlight=False)
    raise typer.Exit(worst)


store_app = typer.Typer(help="Look after a data store.", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("status")
def store_status_command(store: Annotated[Path | None, STORE_OPTION] = None) -> None:
    """Coverage at a glance: per month its release, trusts, rows and cost coverage."""
    from medlib.io.store import StoreError, store_status
    from medlib.paths import STORE_DIR

    try:
        status = store_status(store or STORE_DIR)
    except StoreError as exc:
        err_console.print(f"[bold red]Store[/]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    for line in status.lines():
        console.print(line, highlight=False)
    from medlib.io.patient_store import patient_status_lines
    from medlib.io.reference_store import products_status_lines
    from medlib.io.store import Store

    opened = Store(store or STORE_DIR)
    for line in patient_status_lines(opened) + products_status_lines(opened):
        console.print(line, highlight=False)


def _mount_report() -> None:
    from medlib.render.cli import report

    app.command("report")(report)


_mount_report()


def main() -> None:
    """Entry point for the ``medlib`` console script."""
    app()
