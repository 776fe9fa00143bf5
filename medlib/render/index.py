"""The pack's ``index.html``: every trust, every report, with links and status.

The page is built from the manifest alone, so it says exactly what the manifest says: only a
complete report gets a link; a report that failed shows why; a report not yet rendered (or
interrupted) shows that. A banner says when the pack as a whole is incomplete.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medlib.present.disclosure import POLICY
from medlib.present.wording import format_period
from medlib.render.html import notebook_label
from medlib.render.tracker import TRACKER_CSS

__all__ = [
    "STATE_FAILED",
    "STATE_NOT_AVAILABLE",
    "STATE_OK",
    "STATE_PENDING",
    "STATE_STALE",
    "CellState",
    "build_index",
]

#: Report states shown on the index.
STATE_OK = "ok"
STATE_FAILED = "failed"
STATE_PENDING = "not rendered"
STATE_STALE = "out of date"
STATE_NOT_AVAILABLE = "not available"

_CSS = """
body { font-family: Arial, "Liberation Sans", sans-serif; margin: 0; color: #212b32; }
header { background: #005EB8; color: #fff; padding: 16px 24px; }
header h1 { margin: 0; font-size: 1.5em; }
header p { margin: 4px 0 0; }
main { padding: 16px 24px; }
table { border-collapse: collapse; margin-top: 12px; }
th, td { border: 1px solid #d8dde0; padding: 6px 10px; text-align: left; vertical-align: top; }
th { background: #E8EDEE; }
.ok { color: #007f3b; }
.failed { color: #DA291C; font-weight: bold; }
.pending, .stale { color: #768692; }
.na { color: #425563; background: #f0f4f5; }
.note { padding: 8px 12px; background: #f0f4f5; border-left: 6px solid #768692; }
.reason { display: block; font-size: 0.85em; color: #425563; max-width: 28em; }
.warning { background: #FFB81C; padding: 10px 14px; font-weight: bold; }
footer { padding: 16px 24px; font-size: 0.85em; color: #425563; }
"""


@dataclass(frozen=True)
class CellState:
    """What the index shows for one report."""

    state: str
    href: str | None = None
    pdf_href: str | None = None
    reason: str | None = None


def build_index(
    manifest: Mapping[str, Any],
    trusts: Sequence[str],
    notebooks: Sequence[str],
    states: Mapping[str, CellState],
    trust_names: Mapping[str, str],
    workbooks: Mapping[str, str],
    front: str = "",
) -> str:
    """The index page.

    Args:
        manifest: The pack manifest.
        trusts: Trust codes in display order.
        notebooks: Notebook names in display order.
        states: ``{"<trust>/<notebook>": CellState}``.
        trust_names: ``{trust_code: name}``.
        workbooks: ``{trust_code: relative path of its Excel workbook}`` for trusts that have one.
        front: HTML shown above the list of reports (the system tracker), already escaped.

    Returns:
        The HTML document.
    """
    esc = html.escape
    pset = manifest.get("parameter_set", {})
    run = manifest.get("run", {})
    title = pset.get("title") or pset.get("name", "Report pack")
    period = _period(pset)
    total = len(trusts) * len(notebooks)
    done = sum(1 for s in states.values() if s.state == STATE_OK)
    failed = sum(1 for s in states.values() if s.state == STATE_FAILED)
    unavailable = sum(1 for s in states.values() if s.state == STATE_NOT_AVAILABLE)

    rows = []
    for trust in trusts:
        cells = [
            f'<th scope="row">{esc(trust_names.get(trust, ""))}'
            f'<span class="reason">{esc(trust)}</span></th>'
        ]
        for nb in notebooks:
            cells.append(_cell(states.get(f"{trust}/{nb}", CellState(STATE_PENDING))))
        workbook = workbooks.get(trust)
        cells.append(
            f'<td><a href="{esc(workbook)}">Excel tables</a></td>' if workbook else "<td>-</td>"
        )
        rows.append("<tr>" + "".join(cells) + "</tr>")

    warning = ""
    if unavailable:
        warning = (
            f'<p class="note">{unavailable} of {total} reports are not available: the data has '
            "nothing for them (each says why).</p>"
        )
    if done + unavailable < total:
        if run.get("status") == "running":
            reason = "a render is in progress or was interrupted"
        elif run.get("status") == "failed" and run.get("error"):
            # The render itself stopped (a full disk): say why, not only that reports are missing.
            reason = f"the last render stopped: {run['error']}"
        else:
            reason = "some reports failed or have not been rendered"
        warning = (
            f'<p class="warning">This pack is incomplete: {done} of {total} reports are '
            f"complete ({failed} failed); {esc(reason)}.</p>"
        ) + warning
    git = manifest.get("git") or {}
    commit = (git.get("commit") or "not under git")[:12]
    version = str(manifest.get("medlib_version", ""))
    updated = str(run.get("updated", "")).replace("T", " ")[:16]
    head = "".join(f'<th scope="col">{esc(notebook_label(nb))}</th>' for nb in notebooks)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{esc(title)}</title>
<style>{_CSS}{TRACKER_CSS if front else ""}</style>
</head>
<body>
<header><h1>{esc(title)}</h1>
<p>{esc(period)} &middot; {done} of {total} reports complete</p></header>
<main>
{warning}
{front}
<h2>Reports</h2>
<table>
<thead><tr><th scope="col">Trust</th>{head}<th scope="col">Tables</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</main>
<footer>
<p>Disclosure control: {esc(POLICY)}</p>
<p>Parameter set {esc(str(pset.get("name", "")))} &middot; medlib {esc(version)}
&middot; commit {esc(commit)} &middot; last updated {esc(updated)}.
Data files, parameters and timings: <a href="manifest.json">manifest.json</a>.</p>
</footer>
</body>
</html>
"""


def _cell(state: CellState) -> str:
    esc = html.escape
    if state.state == STATE_OK and state.href:
        pdf = f' &middot; <a href="{esc(state.pdf_href)}">PDF</a>' if state.pdf_href else ""
        return f'<td class="ok"><a href="{esc(state.href)}">Report</a>{pdf}</td>'
    css = {STATE_FAILED: "failed", STATE_STALE: "stale", STATE_NOT_AVAILABLE: "na"}.get(
        state.state, "pending"
    )
    reason = f'<span class="reason">{esc(state.reason)}</span>' if state.reason else ""
    return f'<td class="{css}">{esc(state.state.capitalize())}{reason}</td>'


def _period(pset: Mapping[str, Any]) -> str:
    return format_period(pset.get("period_start"), pset.get("period_end"))
