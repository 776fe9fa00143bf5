"""The pack's front page: the whole region at a glance, one row per trust and a system total.

Built from the tables each trust's reports published (``<trust>/tables/*.csv``), never by
computing anything again, so every figure on the front page is the figure in the trust's own
report, and a cell links to the section it comes from. Only complete reports are read; a
trust whose report is missing, failed or not available shows that instead of a number.

The system total adds the trusts' figures that add up (spend, the same months last year,
the year-end forecasts, high-cost spend, block values, efficiencies) and recomputes the
percentages from the sums. Forecast intervals do not add, so the system row has none; the
SPC signal, switch targets and PINCER rates are per trust only.

The same table is written as ``tracker.csv`` (machine-readable columns, see
:data:`TRACKER_COLUMNS`), ``tracker_switches.csv`` (each switch's target status per trust) and
the workbook ``tracker.xlsx``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from medlib.present.wording import format_gbp, format_pct
from medlib.render.excel import read_table_csv, write_workbook
from medlib.render.html import notebook_label
from medlib.stats.spc import variation_icon

__all__ = [
    "SYSTEM_CODE",
    "TRACKER_COLUMNS",
    "Tracker",
    "build_tracker",
    "tracker_html",
    "write_tracker",
]

#: The code of the system total row.
SYSTEM_CODE = "SYSTEM"

#: Columns of ``tracker.csv``, one row per trust and the system total.
TRACKER_COLUMNS = [
    "trust_code",
    "trust_name",
    "financial_year",
    "months",
    "spend_fytd_gbp",
    "spend_same_months_last_year_gbp",
    "change_gbp",
    "change_pct",
    "forecast_outturn_gbp",
    "forecast_lower_80_gbp",
    "forecast_upper_80_gbp",
    "forecast_method",
    "high_cost_fytd_gbp",
    "high_cost_share_pct",
    "block_to_date_gbp",
    "block_variance_gbp",
    "efficiency_forecast_gbp",
    "efficiency_note",
    "spc_latest",
    "switch_targets_met",
    "switch_targets_not_met",
    "switch_targets_not_yet_due",
    "switch_data",
    "pincer_gi_bleed_pct",
    "pincer_gi_bleed_position",
    "pincer_other_pct",
    "pincer_other_position",
    "pincer_monitoring_pct",
    "pincer_monitoring_position",
    "pincer_data",
    "measure_most_potential",
    "measure_most_potential_score",
    "measures_ranked",
    "amd_latest_12w_plus_pct",
    "amd_funnel_position",
    "amd_data",
]

#: Columns the system total adds up.
_SUMMED = [
    "spend_fytd_gbp",
    "spend_same_months_last_year_gbp",
    "change_gbp",
    "forecast_outturn_gbp",
    "high_cost_fytd_gbp",
    "block_to_date_gbp",
    "block_variance_gbp",
    "efficiency_forecast_gbp",
]
#: PINCER composite rows of ``poly_pincer`` (by the start of their name) and their columns.
_COMPOSITES = {"GI bleed": "gi_bleed", "Other prescribing": "other", "Monitoring": "monitoring"}
_SPEND, _SWITCH, _POLY = "spend_trends", "switch_uptake", "polypharmacy_audit"
_MEASURES, _AMD = "measures", "wet_amd"
#: Heading id prefixes of the report sections a column comes from (nbconvert's ids).
_SECTIONS = {
    "spend": (_SPEND, "Headline"),
    "forecast": (_SPEND, "Year-end-forecast"),
    "high_cost": (_SPEND, "High-cost-drugs"),
    "spc": (_SPEND, "Month-by-month"),
    "efficiency": (_SPEND, "Efficiency-forecast"),
    "switch": (_SWITCH, "Headline"),
    "pincer": (_POLY, "PINCER"),
    "measures": (_MEASURES, "Where-to-look-first"),
    "amd": (_AMD, "This-trust-against-the-others"),
}
_SYNTHETIC = re.compile(r"synthetic", re.IGNORECASE)
#: The latest month's SPC variation, in the front page's words (Making Data Count icons).
SPC_WORDS = {
    "common_cause": "common cause",
    "neutral_high": "special cause: high",
    "neutral_low": "special cause: low",
    "improvement_high": "improvement: high",
    "improvement_low": "improvement: low",
    "concern_high": "concern: high",
    "concern_low": "concern: low",
}


@dataclass
class Tracker:
    """The front page's content.

    Attributes:
        table: One row per trust, then the system total (:data:`TRACKER_COLUMNS`).
        switches: Each switch's target statuses per trust: ``trust_code, molecule,
            new_status, existing_status, data_source``.
        links: ``{(trust_code, section): href}`` for the sections of :data:`_SECTIONS`.
        missing: ``{trust_code: [reports not complete]}``.
        period: The financial year and months shown, in words.
    """

    table: pd.DataFrame
    switches: pd.DataFrame
    links: dict[tuple[str, str], str] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    period: str = ""


def _read(pack_dir: Path, trust: str, name: str) -> pd.DataFrame | None:
    path = pack_dir / trust / "tables" / f"{name}.csv"
    return read_table_csv(path) if path.is_file() else None


def _anchor(page: Path, prefix: str) -> str:
    """``page#id`` of the first heading whose id starts with ``prefix`` (the page if none)."""
    if not page.is_file():
        return ""
    found = re.search(rf'<h2 id="({re.escape(prefix)}[^"]*)"', page.read_text(encoding="utf-8"))
    return f"#{found.group(1)}" if found else ""


def _spend_row(pack_dir: Path, trust: str) -> dict[str, object]:
    row: dict[str, object] = {}
    ranks = _read(pack_dir, trust, "benchmark_percentile_ranks")
    by_year = _read(pack_dir, trust, "spend_by_financial_year")
    if ranks is None or by_year is None or ranks.empty:
        return row
    mine = ranks[ranks["trust_code"] == trust]
    r = (mine if len(mine) else ranks).iloc[0]
    fy = str(r["financial_year"])
    row.update(financial_year=fy, months=int(r["months"]))
    this_year = by_year[by_year["financial_year"] == fy]
    if this_year.empty or this_year["cost_gbp"].isna().all():
        row["efficiency_note"] = "no cost in this data"
        return row
    row.update(
        spend_fytd_gbp=r["fytd"],
        spend_same_months_last_year_gbp=r["same_period_last_year"],
        change_gbp=r["change"],
        change_pct=r["change_pct"],
    )
    outturn = _read(pack_dir, trust, "forecast_outturn")
    if outturn is not None:
        chosen = outturn[(outturn["financial_year"] == fy) & outturn["chosen"].astype(bool)]
        if len(chosen):
            c = chosen.iloc[0]
            row.update(
                forecast_outturn_gbp=c["forecast"],
                forecast_lower_80_gbp=c["lower_80"],
                forecast_upper_80_gbp=c["upper_80"],
                forecast_method=c["method_name"],
            )
    split = _read(pack_dir, trust, "high_cost_split")
    if split is not None and "high_cost_gbp" in split:
        year = split[split["financial_year"] == fy]
        if len(year):
            row.update(
                high_cost_fytd_gbp=year["high_cost_gbp"].iloc[0],
                high_cost_share_pct=year["high_cost_share_pct"].iloc[0],
            )
    blocks = _read(pack_dir, trust, "high_cost_block_variance")
    if blocks is not None:
        own = blocks[blocks["trust_code"] == trust]
        if len(own):
            row.update(
                block_to_date_gbp=own["block_to_date_gbp"].iloc[0],
                block_variance_gbp=own["variance_gbp"].iloc[0],
            )
    row.update(_efficiency(_read(pack_dir, trust, "efficiency_forecast")))
    spc = _read(pack_dir, trust, "monthly_spc")
    if spc is not None and len(spc):
        icon = variation_icon(str(spc["point_type"].iloc[-1]), "neutral")
        row["spc_latest"] = SPC_WORDS[icon]
    return row


def _efficiency(table: pd.DataFrame | None) -> dict[str, object]:
    if table is None or table.empty:
        return {}
    active = table[table["status"].isin(["under way", "due later this year"])]
    none = int((table["status"] == "no baseline in this data").sum())
    note = f"no baseline in this data for {none} of {len(table)} molecules" if none else ""
    total = active["forecast_year_gbp"].sum(min_count=1) if len(active) else 0.0
    return {"efficiency_forecast_gbp": total, "efficiency_note": note}


def _switch_rows(pack_dir: Path, trust: str) -> tuple[dict[str, object], pd.DataFrame | None]:
    headline = _read(pack_dir, trust, "switch_headline")
    if headline is None:
        return {}, None
    statuses = pd.concat([headline["new_status"], headline["existing_status"]])
    source = headline["data_source"].iloc[0] if "data_source" in headline and len(headline) else ""
    row = {
        "switch_targets_met": int((statuses == "met").sum()),
        "switch_targets_not_met": int((statuses == "not met").sum()),
        "switch_targets_not_yet_due": int((statuses == "not yet due").sum()),
        "switch_data": source,
    }
    detail = headline[["molecule", "new_status", "existing_status"]].copy()
    detail.insert(0, "trust_code", trust)
    detail["data_source"] = source
    return row, detail


def _pincer_row(pack_dir: Path, trust: str) -> dict[str, object]:
    table = _read(pack_dir, trust, "poly_pincer")
    if table is None:
        return {}
    mine = table[(table["organisation"] == trust) & (table["group"] == "Composite")]
    row: dict[str, object] = {}
    for prefix, short in _COMPOSITES.items():
        hit = mine[mine["indicator"].astype(str).str.startswith(prefix)]
        if len(hit):
            row[f"pincer_{short}_pct"] = hit["percent"].iloc[0]
            row[f"pincer_{short}_position"] = hit["funnel_position"].iloc[0]
    if len(mine):
        row["pincer_data"] = mine["data_source"].iloc[0]
    return row


def _measures_row(pack_dir: Path, trust: str) -> dict[str, object]:
    """The measure with most potential for improvement (the overview's first ranked row)."""
    table = _read(pack_dir, trust, "measures_overview")
    if table is None:
        return {}
    scores = pd.to_numeric(table["potential_for_improvement"], errors="coerce")
    ranked = table[scores.notna()]
    row: dict[str, object] = {"measures_ranked": len(ranked)}
    if len(ranked):
        row["measure_most_potential"] = ranked["measure"].iloc[0]
        row["measure_most_potential_score"] = float(scores[scores.notna()].iloc[0])
    return row


def _amd_row(pack_dir: Path, trust: str) -> dict[str, object]:
    """The trust's share of patients whose latest interval is 12 weeks or more, and its funnel."""
    table = _read(pack_dir, trust, "amd_funnel")
    if table is None:
        return {}
    mine = table[table["trust_code"] == trust]
    if mine.empty:
        source = table["data_source"].iloc[0] if len(table) else None
        return {"amd_data": source}
    return {
        "amd_latest_12w_plus_pct": mine["percent_latest_12w_plus"].iloc[0],
        "amd_funnel_position": mine["position"].iloc[0],
        "amd_data": mine["data_source"].iloc[0],
    }


def build_tracker(
    pack_dir: Path,
    trusts: Sequence[str],
    trust_names: Mapping[str, str],
    complete: Mapping[str, bool],
    system_name: str = "System total",
) -> Tracker:
    """The front page from the pack's published tables.

    Args:
        pack_dir: The pack folder.
        trusts: Trust codes in display order.
        trust_names: ``{trust_code: name}``.
        complete: ``{"<trust>/<notebook>": True}`` for the complete reports; only their tables
            are read.
        system_name: How the total row is named.
    """
    pack_dir = Path(pack_dir)
    rows, switches, links, missing = [], [], {}, {}
    for trust in trusts:
        row: dict[str, object] = {"trust_code": trust, "trust_name": trust_names.get(trust, trust)}
        for nb in (_SPEND, _SWITCH, _POLY, _MEASURES, _AMD):
            if not complete.get(f"{trust}/{nb}", False):
                if f"{trust}/{nb}" in complete:
                    missing.setdefault(trust, []).append(nb)
                continue
            if nb == _SPEND:
                row.update(_spend_row(pack_dir, trust))
            elif nb == _SWITCH:
                found, detail = _switch_rows(pack_dir, trust)
                row.update(found)
                if detail is not None:
                    switches.append(detail)
            elif nb == _POLY:
                row.update(_pincer_row(pack_dir, trust))
            elif nb == _MEASURES:
                row.update(_measures_row(pack_dir, trust))
            else:
                row.update(_amd_row(pack_dir, trust))
        for section, (nb, prefix) in _SECTIONS.items():
            if complete.get(f"{trust}/{nb}", False):
                page = pack_dir / trust / f"{nb}.html"
                links[(trust, section)] = f"{trust}/{nb}.html{_anchor(page, prefix)}"
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=TRACKER_COLUMNS)
    table = pd.concat([table, _system_row(table, system_name)], ignore_index=True)
    years = table["financial_year"].dropna().unique()
    period = ""
    if len(years) == 1:
        months = table["months"].dropna()
        period = f"{years[0]}, {int(months.max())} months" if len(months) else str(years[0])
    detail = (
        pd.concat(switches, ignore_index=True)
        if switches
        else pd.DataFrame(columns=["trust_code", "molecule", "new_status", "existing_status"])
    )
    return Tracker(table, detail, links, missing, period)


def _system_row(table: pd.DataFrame, name: str) -> pd.DataFrame:
    total: dict[str, object] = {"trust_code": SYSTEM_CODE, "trust_name": name}
    for column in _SUMMED:
        values = pd.to_numeric(table[column], errors="coerce")
        # A total over some trusts only would pass for the system's: leave it out instead.
        total[column] = values.sum() if values.notna().all() and len(values) else float("nan")
    years = table["financial_year"].dropna().unique()
    total["financial_year"] = years[0] if len(years) == 1 else None
    last = total["spend_same_months_last_year_gbp"]
    if pd.notna(last) and last:
        total["change_pct"] = round(float(total["change_gbp"]) / float(last) * 100, 1)
    spend = total["spend_fytd_gbp"]
    if pd.notna(spend) and spend and pd.notna(total["high_cost_fytd_gbp"]):
        total["high_cost_share_pct"] = round(
            float(total["high_cost_fytd_gbp"]) / float(spend) * 100, 1
        )
    total["forecast_method"] = "sum of the trusts' forecasts (intervals do not add)"
    return pd.DataFrame([total]).reindex(columns=TRACKER_COLUMNS)


# --------------------------------------------------------------------------- output

_STATUS_CSS = {"met": "met", "not met": "notmet", "not yet due": "due"}

_SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var body = table.tBodies[0];
      var up = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-sort"), y = b.cells[col].getAttribute("data-sort");
        var nx = parseFloat(x), ny = parseFloat(y), out;
        if (x === "" && y === "") { out = 0; }
        else if (x === "") { return 1; }
        else if (y === "") { return -1; }
        else if (!isNaN(nx) && !isNaN(ny)) { out = nx - ny; }
        else { out = x.localeCompare(y); }
        return up ? out : -out;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""

TRACKER_CSS = """
table.sortable th button { font: inherit; font-weight: bold; background: none; border: 0;
  padding: 0; cursor: pointer; text-align: left; }
table.sortable th[aria-sort="ascending"] button::after { content: " \\25B2"; }
table.sortable th[aria-sort="descending"] button::after { content: " \\25BC"; }
td.num { text-align: right; white-space: nowrap; }
table.tracker { font-size: 0.9em; }
table.tracker th[scope="row"] { min-width: 13em; }
div.wide { overflow-x: auto; }
tfoot td, tfoot th { font-weight: bold; background: #f0f4f5; }
.met { color: #007f3b; } .notmet { color: #DA291C; } .due { color: #425563; }
.syn { display: block; font-size: 0.8em; color: #7C2855; }
.small { display: block; font-size: 0.8em; color: #425563; }
/* A figure stays on one line; the note under it wraps, so the table fits the page. */
td.num .small, td.num .syn { white-space: normal; min-width: 8em; }
table.tracker th { vertical-align: bottom; }
"""


def _money(value: object) -> str:
    return "" if value is None or pd.isna(value) else format_gbp(float(value), "whole")


def _pct(value: object) -> str:
    """A percentage as pages write it; a suppressed one (``*``) stays as it is."""
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return str(value) if pd.isna(number) else format_pct(float(number))


def _num(value: object) -> str:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return "" if pd.isna(number) else repr(float(number))


def _cell(text: str, sort: str, href: str | None, extra: str = "", css: str = "num") -> str:
    esc = html.escape
    body = f'<a href="{esc(href)}">{esc(text)}</a>' if href and text else esc(text or "-")
    return f'<td class="{css}" data-sort="{esc(sort)}">{body}{extra}</td>'


def tracker_html(tracker: Tracker) -> str:
    """The front page's tables as an HTML fragment (escaped; sortable with no network)."""
    esc = html.escape
    head = [
        ("Trust", False),
        ("Spend this year to date", True),
        ("Same months last year", True),
        ("Change", True),
        ("Year-end forecast (80% interval)", True),
        ("High-cost (tariff-excluded) spend and share", True),
        ("Block to date and variance", True),
        ("Forecast efficiencies this year", True),
        ("Latest month (SPC)", False),
        ("Switch targets", True),
        ("PINCER composites (funnel position)", True),
    ]
    # Without blocks in the parameter set the block column would be empty: leave it out.
    show_block = bool(tracker.table["block_to_date_gbp"].notna().any())
    if not show_block:
        head = [h for h in head if not h[0].startswith("Block")]
    thead = "".join(
        f'<th scope="col"><button type="button">{esc(label)}</button></th>' for label, _ in head
    )
    body, foot = [], ""
    for _, r in tracker.table.iterrows():
        code = str(r["trust_code"])
        link = {section: tracker.links.get((code, section)) for section in _SECTIONS}.get
        is_total = code == SYSTEM_CODE
        name_cell = (
            f'<th scope="row" data-sort="{esc(str(r["trust_name"]))}">'
            f'{esc(str(r["trust_name"]))}<span class="small">{esc(code)}</span></th>'
        )
        change = ""
        if pd.notna(r["change_gbp"]):
            pct = (
                "" if pd.isna(r["change_pct"]) else f" ({format_pct(r['change_pct'], signed=True)})"
            )
            change = f"{format_gbp(float(r['change_gbp']), 'whole')}{pct}"
        forecast = _money(r["forecast_outturn_gbp"])
        interval = ""
        if pd.notna(r["forecast_lower_80_gbp"]):
            interval = (
                f"{_money(r['forecast_lower_80_gbp'])} to {_money(r['forecast_upper_80_gbp'])}"
            )
        method = "" if pd.isna(r["forecast_method"]) else str(r["forecast_method"])
        if not forecast and not is_total and pd.notna(r["spend_fytd_gbp"]):
            method = "no forecast: the trust's data stop before the period end"
        elif not forecast and is_total:
            method = "no total: not every trust has a forecast"
        high = _money(r["high_cost_fytd_gbp"])
        if high and pd.notna(r["high_cost_share_pct"]):
            high += f" ({_pct(r['high_cost_share_pct'])})"
        block = ""
        if pd.notna(r["block_to_date_gbp"]):
            block = f"{_money(r['block_to_date_gbp'])}, {_money(r['block_variance_gbp'])}"
        note = "" if pd.isna(r["efficiency_note"]) else str(r["efficiency_note"])
        switch_text, switch_css, switch_extra = "", "num", ""
        if pd.notna(r["switch_targets_met"]):
            met, missed = int(r["switch_targets_met"]), int(r["switch_targets_not_met"])
            due = int(r["switch_targets_not_yet_due"])
            switch_text = f"{met} of {met + missed + due} met" if met + missed + due else ""
            switch_css = "num notmet" if missed else "num met"
            switch_extra = (
                f'<span class="small">{missed} not met, {due} not yet due</span>'
                if switch_text
                else '<span class="small">no patients on these medicines</span>'
            )
            if _SYNTHETIC.search(str(r["switch_data"])):
                switch_extra += '<span class="syn">synthetic data</span>'
        pincer, pincer_extra = "", ""
        if pd.notna(r["pincer_gi_bleed_pct"]):
            pincer = f"GI bleed {_pct(r['pincer_gi_bleed_pct'])}"
            pincer_extra = f'<span class="small">{esc(str(r["pincer_gi_bleed_position"]))}'
            for short, label in (("other", "other prescribing"), ("monitoring", "monitoring")):
                if pd.notna(r[f"pincer_{short}_pct"]):
                    pincer_extra += (
                        f"; {label} {esc(_pct(r[f'pincer_{short}_pct']))} "
                        f"({esc(str(r[f'pincer_{short}_position']))})"
                    )
            pincer_extra += "</span>"
            if _SYNTHETIC.search(str(r["pincer_data"])):
                pincer_extra += '<span class="syn">synthetic data</span>'
        cells = [
            name_cell,
            _cell(_money(r["spend_fytd_gbp"]), _num(r["spend_fytd_gbp"]), link("spend")),
            _cell(
                _money(r["spend_same_months_last_year_gbp"]),
                _num(r["spend_same_months_last_year_gbp"]),
                link("spend"),
            ),
            _cell(change, _num(r["change_pct"]), link("spend")),
            _cell(
                forecast,
                _num(r["forecast_outturn_gbp"]),
                link("forecast"),
                f'<span class="small">{esc(interval)}{"; " if interval else ""}{esc(method)}'
                "</span>",
            ),
            _cell(high, _num(r["high_cost_fytd_gbp"]), link("high_cost")),
            _cell(block, _num(r["block_variance_gbp"]), link("high_cost")) if show_block else "",
            _cell(
                _money(r["efficiency_forecast_gbp"]),
                _num(r["efficiency_forecast_gbp"]),
                link("efficiency"),
                f'<span class="small">{esc(note)}</span>' if note else "",
            ),
            _cell(
                "" if pd.isna(r["spc_latest"]) else str(r["spc_latest"]),
                "" if pd.isna(r["spc_latest"]) else str(r["spc_latest"]),
                link("spc"),
                css="",
            ),
            _cell(
                switch_text,
                _num(r["switch_targets_met"]),
                link("switch"),
                switch_extra,
                css=switch_css,
            ),
            _cell(pincer, _num(r["pincer_gi_bleed_pct"]), link("pincer"), pincer_extra),
        ]
        line = "<tr>" + "".join(c for c in cells if c) + "</tr>"
        if is_total:
            foot = line
        else:
            body.append(line)
    missing = "".join(
        f"<li>{esc(t)}: {esc(', '.join(notebook_label(n).lower() for n in nbs))} not "
        "complete, so its figures are left out</li>"
        for t, nbs in tracker.missing.items()
    )
    missing = f'<ul class="note">{missing}</ul>' if missing else ""
    return f"""<section id="tracker">
<h2>The system at a glance{f": {esc(tracker.period)}" if tracker.period else ""}</h2>
<p>Every figure is the one in the trust's own report; click it to go to the section it comes
from, and click a column heading to sort. The system total adds up the trusts' figures
(forecast intervals do not add, so it has none).</p>
{missing}
<div class="wide"><table class="sortable tracker">
<thead><tr>{thead}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
<tfoot>{foot}</tfoot>
</table></div>
{_switch_html(tracker)}
{_measures_amd_html(tracker)}
<script>{_SORT_JS}</script>
</section>"""


def _switch_html(tracker: Tracker) -> str:
    esc = html.escape
    detail = tracker.switches
    if detail.empty:
        return ""
    molecules = list(dict.fromkeys(detail["molecule"]))
    head = "".join(f'<th scope="col">{esc(m.capitalize())}</th>' for m in molecules)
    rows = []
    for trust, part in detail.groupby("trust_code", sort=False):
        by = part.set_index("molecule")
        cells = [f'<th scope="row">{esc(str(trust))}</th>']
        for m in molecules:
            if m not in by.index:
                cells.append("<td>-</td>")
                continue
            new, old = str(by.at[m, "new_status"]), str(by.at[m, "existing_status"])
            cells.append(
                "<td>"
                f'<span class="{_STATUS_CSS.get(new, "due")}">new patients: {esc(new)}</span><br>'
                f'<span class="{_STATUS_CSS.get(old, "due")}">existing: {esc(old)}</span></td>'
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    synthetic = detail["data_source"].astype(str).str.contains("synthetic", case=False).any()
    label = (
        '<p class="note">Switch statuses marked synthetic come from the synthetic brand-level '
        "sample, not real activity: the store has no brand-level activity for those trusts.</p>"
        if synthetic
        else ""
    )
    return f"""<h3>Switch targets by trust</h3>
{label}
<table>
<thead><tr><th scope="col">Trust</th>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>"""


def _measures_amd_html(tracker: Tracker) -> str:
    """Each trust's measure with most potential for improvement and its wet AMD 12-week share."""
    esc = html.escape
    trusts = tracker.table[tracker.table["trust_code"] != SYSTEM_CODE]
    has_measures = trusts["measures_ranked"].notna().any()
    has_amd = trusts["amd_data"].notna().any()
    if not (has_measures or has_amd):
        return ""
    rows = []
    for _, r in trusts.iterrows():
        code = str(r["trust_code"])
        name = esc(str(r["trust_name"]))
        cells = [f'<th scope="row">{name}<span class="small">{esc(code)}</span></th>']
        if has_measures:
            text, extra = "", ""
            if pd.notna(r["measure_most_potential"]):
                text = str(r["measure_most_potential"])
                extra = (
                    f'<span class="small">potential for improvement '
                    f"{float(r['measure_most_potential_score']):.0f} of 100; "
                    f"{int(r['measures_ranked'])} measure"
                    f"{'s' if int(r['measures_ranked']) != 1 else ''} ranked</span>"
                )
            elif pd.notna(r["measures_ranked"]):
                extra = '<span class="small">no measure can be ranked here</span>'
            href = tracker.links.get((code, "measures"))
            cells.append(_cell(text, text, href, extra, css=""))
        if has_amd:
            text, extra = "", ""
            if pd.notna(r["amd_latest_12w_plus_pct"]):
                text = _pct(r["amd_latest_12w_plus_pct"])
                extra = f'<span class="small">{esc(str(r["amd_funnel_position"]))}</span>'
            elif pd.notna(r["amd_data"]):
                extra = '<span class="small">no injections in the data</span>'
            if _SYNTHETIC.search(str(r["amd_data"])):
                extra += '<span class="syn">synthetic data</span>'
            href = tracker.links.get((code, "amd"))
            cells.append(_cell(text, _num(r["amd_latest_12w_plus_pct"]), href, extra))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = ['<th scope="col">Trust</th>']
    if has_measures:
        head.append('<th scope="col">Medicines measure with most potential for improvement</th>')
    if has_amd:
        head.append(
            '<th scope="col">Wet AMD: patients whose latest interval is 12 weeks or more</th>'
        )
    return f"""<h3>Medicines measures and wet AMD by trust</h3>
<table>
<thead><tr>{"".join(head)}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>"""


def write_tracker(pack_dir: Path, tracker: Tracker, about: Sequence[tuple[str, str]]) -> None:
    """Write ``tracker.csv``, ``tracker_switches.csv`` and ``tracker.xlsx`` into the pack."""
    from medlib.present.outputs import publish_tables

    tables = {"tracker": tracker.table, "tracker_switches": tracker.switches}
    publish_tables(tables, str(pack_dir))
    write_workbook(Path(pack_dir) / "tracker.xlsx", tables, about)
