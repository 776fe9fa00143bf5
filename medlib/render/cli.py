"""The ``report`` command: render a parameter set's report pack from the command line.

The ``medlib`` command line mounts it as ``medlib report``; ``python -m medlib.render`` runs
it on its own. Exit codes: 0 all reports rendered, 1 some report failed, 2 the parameter set
or options are invalid (nothing was run), 3 another render holds the pack folder, 4 the disk
filled up (the render stopped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

__all__ = ["EXIT_BUSY", "EXIT_FAILED", "EXIT_INVALID", "EXIT_NO_SPACE", "main", "report"]

EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_BUSY = 3
#: The disk (or quota) filled up: the render stopped, whatever its reports would have done.
EXIT_NO_SPACE = 4
#: Lines of a failing cell's traceback printed under the summary.
DETAIL_LINES = 12


def report(
    params: Annotated[
        str,
        typer.Argument(
            help="Parameter set: a YAML file, or a name in parameters/ (e.g. nenc).",
            metavar="PARAMS",
        ),
    ],
    trusts: Annotated[
        list[str] | None,
        typer.Option(
            "--trusts",
            help="Only these trusts (ODS codes; repeat the option or separate with commas).",
        ),
    ] = None,
    notebooks: Annotated[
        list[str] | None,
        typer.Option(
            "--notebooks",
            help="Only these notebooks (repeat the option or separate with commas).",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", help="Reports rendered at once (default: the number of CPUs)."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Only the first N trusts of the set.")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Render only reports that are missing, failed or out of date."
        ),
    ] = False,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print each report to PDF (needs Chromium).")
    ] = False,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="Pack folder (default: reports/<parameter set name>)."),
    ] = None,
    notebooks_dir: Annotated[
        Path | None,
        typer.Option("--notebooks-dir", help="Folder of the notebooks (default: notebooks/)."),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
    share_work: Annotated[
        bool,
        typer.Option(
            "--share-work/--no-share-work",
            help="Compute work that is the same for every trust (comparisons of all trusts, "
            "synthetic samples) once per render and share it; --no-share-work recomputes it "
            "in every report.",
        ),
    ] = True,
) -> None:
    """Render every (trust x notebook) report of a parameter set into a report pack.

    Writes index.html, HTML reports without code, the executed notebooks, CSV tables,
    one Excel workbook per trust and manifest.json under reports/<name>/.

    Exit codes: 0 all rendered, 1 a report failed, 2 invalid parameters, 3 pack busy,
    4 disk full.
    """
    import sys

    if "jsonschema" not in sys.modules:
        # A command-line process runs only this command: skip the IRI grammar jsonschema would
        # build when nbformat loads (~1.4 s; see medlib.render.execute.worker_init).
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from medlib.render.params import ParameterError
    from medlib.render.runner import DiskFullError, PackBusyError, render_pack
    from medlib.render.summary import summary_table

    console = Console(stderr=True)
    try:
        result = render_pack(
            params,
            notebooks_dir=notebooks_dir,
            output_dir=output_dir,
            trusts=_split(trusts),
            notebooks=_split(notebooks),
            jobs=jobs,
            limit=limit,
            resume=resume,
            pdf=pdf,
            progress=progress,
            console=console,
            share_work=share_work,
        )
    except ParameterError as exc:
        console.print("[bold red]Invalid parameters:[/] nothing was rendered.")
        console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    except PackBusyError as exc:
        console.print("[bold red]Busy:[/]", str(exc), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BUSY) from None
    except DiskFullError as exc:
        _disk_full(console, str(exc))
    except OSError as exc:
        from medlib.render.execute import no_space

        if no_space(exc) is None:
            raise
        # Before the render took the pack folder (creating it, or its lock file).
        _disk_full(console, f"{exc}: the render could not start")
    out = Console()
    for failed in result.failed:
        if failed.detail:
            # The end of the traceback, for the analyst running the render (not written to
            # the pack).
            tail = "\n".join(failed.detail.strip().splitlines()[-DETAIL_LINES:])
            console.rule(f"{failed.trust_code}/{failed.notebook}", style="red")
            console.print(tail, markup=False, highlight=False, soft_wrap=True)
    out.print(summary_table(result))
    out.print(f"Index: {result.index_path}", highlight=False, soft_wrap=True)
    if result.version is not None:
        latest = result.output_dir / "latest" / "index.html"
        out.print(
            f"Published as {result.version.name}; the latest complete pack: {latest}",
            highlight=False,
            soft_wrap=True,
        )
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


def _disk_full(console: Console, message: str) -> NoReturn:
    from rich.markup import escape

    # The message names a path, which may hold brackets that rich would read as markup.
    console.print("[bold red]Disk full:[/]", escape(message), highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_NO_SPACE)


def main() -> None:
    """Run the ``report`` command on its own (``python -m medlib.render``)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command("report")(report)
    app()


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]
