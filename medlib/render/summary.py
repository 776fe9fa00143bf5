"""The end-of-render summary table printed to the terminal."""

from __future__ import annotations

from rich.table import Table

from medlib.render.manifest import STATUS_NOT_AVAILABLE, STATUS_OK
from medlib.render.runner import STATUS_SKIPPED, PackResult

__all__ = ["summary_table"]


def summary_table(result: PackResult) -> Table:
    """One row per report: status, attempts, seconds and, for failures, why.

    Args:
        result: What :func:`medlib.render.render_pack` returned.

    Returns:
        A rich table titled with the pack name and the counts.
    """
    counts = {
        "ok": sum(r.status == STATUS_OK for r in result.reports),
        "failed": len(result.failed),
        "skipped": sum(r.status == STATUS_SKIPPED for r in result.reports),
        "not available": sum(r.status == STATUS_NOT_AVAILABLE for r in result.reports),
    }
    unavailable = (
        f"{counts['not available']} not available from the data, "
        if counts["not available"]
        else ""
    )
    title = (
        f"{result.name}: {counts['ok']} ok, {counts['failed']} failed, {unavailable}"
        f"{counts['skipped']} already complete; {result.seconds:.1f} s with {result.jobs} jobs"
    )
    table = Table(title=title, title_justify="left")
    for column in ("trust", "notebook", "status", "attempts", "seconds", "reason"):
        table.add_column(column, justify="right" if column in {"attempts", "seconds"} else "left")
    styles = {STATUS_OK: "green", STATUS_SKIPPED: "dim", STATUS_NOT_AVAILABLE: "yellow"}
    for report in result.reports:
        style = styles.get(report.status, "red")
        table.add_row(
            report.trust_code,
            report.notebook,
            f"[{style}]{report.status}[/]",
            str(report.attempts) if report.attempts else "",
            f"{report.seconds:.1f}" if report.seconds else "",
            report.error or "",
        )
    return table
