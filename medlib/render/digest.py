"""What changed since the last pack: a short digest at the top of the front page.

The digest compares the pack just rendered with the previous complete version of the same
parameter set (:mod:`medlib.render.versions`), from their front-page tables and manifests:

- the period and the data: a new period end; bundled data files or the store changed, with
  the months the store's ingest log added or replaced since the previous pack;
- trusts whose latest month is now a special-cause signal (and was not before);
- switch targets newly met, or no longer met;
- year-end forecasts that moved by more than :data:`FORECAST_MOVE_PCT` per cent (same year);
- the biggest movers in spend to date since the last pack (same year).

It is written as ``digest.md`` beside ``index.html`` and shown at the top of the front page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from medlib.present.wording import format_gbp, format_pct
from medlib.render.tracker import SYSTEM_CODE, Tracker

__all__ = [
    "FORECAST_MOVE_PCT",
    "Digest",
    "build_digest",
    "digest_html",
    "digest_markdown",
]

#: A forecast outturn that moves by more than this (per cent) is in the digest.
FORECAST_MOVE_PCT = 5.0
#: How many spend movers the digest names.
TOP_MOVERS = 3


@dataclass
class Digest:
    """The changes since the previous pack, as sentences under headings.

    Attributes:
        previous: The previous pack's version folder name, or None for the first pack.
        sections: ``{heading: [sentence, ...]}``, in display order; empty lists are left out.
    """

    previous: str | None
    sections: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether nothing changed."""
        return not any(self.sections.values())


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, dtype={"trust_code": str}) if path.is_file() else None


def _manifest(folder: Path) -> Mapping:
    path = folder / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def build_digest(
    tracker: Tracker,
    manifest: Mapping,
    previous: Path | None,
    trust_names: Mapping[str, str],
    store: str | None = None,
) -> Digest:
    """Compare this pack's front page and manifest with the previous version's.

    Args:
        tracker: This pack's front page.
        manifest: This pack's manifest.
        previous: The previous complete version's folder, or None.
        trust_names: ``{trust_code: name}``.
        store: The pack's store folder, whose ingest log says which months changed.
    """
    if previous is None:
        return Digest(None)
    digest = Digest(previous.name)
    old = _read_csv(previous / "tracker.csv")
    old_manifest = _manifest(previous)
    digest.sections["Period and data"] = _data_changes(manifest, old_manifest, store)
    if old is None:
        digest.sections["Period and data"].append(
            "The previous pack has no front-page table, so figures are not compared."
        )
        return digest
    new = tracker.table.set_index("trust_code")
    old = old.set_index("trust_code")
    name = {code: trust_names.get(code, code) for code in new.index}
    digest.sections["New special-cause signals"] = _signals(new, old, name)
    digest.sections["Switch targets"] = _targets(
        tracker.switches, _read_csv(previous / "tracker_switches.csv"), name
    )
    same_year = _same_year(new, old)
    digest.sections["Year-end forecasts"] = _forecasts(new, old, name) if same_year else []
    digest.sections["Spend since the last pack"] = (
        _movers(new, old, name)
        if same_year
        else ["A new financial year began, so spend to date starts again."]
    )
    return digest


def _data_changes(manifest: Mapping, old: Mapping, store: str | None) -> list[str]:
    out = []
    end = manifest.get("parameter_set", {}).get("period_end")
    was = old.get("parameter_set", {}).get("period_end")
    if end != was:
        out.append(f"The period end moved from {was} to {end}.")
    files = {r["path"]: r for r in manifest.get("data_files", [])}
    before = {r["path"]: r for r in old.get("data_files", [])}
    for path, record in files.items():
        earlier = before.get(path)
        if earlier is None:
            out.append(f"New data: {path}.")
        elif earlier.get("sha256") != record.get("sha256") and not path.startswith("store "):
            span = record.get("date_range") or ""
            out.append(f"Data revised: {path}{f' (now {span})' if span else ''}.")
    if store:
        out += _store_changes(Path(store), old.get("run", {}).get("started"))
    return out


def _store_changes(store: Path, since: str | None) -> list[str]:
    """The store's ingests after ``since`` (the previous pack's start), from its ingest log."""
    log = store / "ingest_log.jsonl"
    if not log.is_file() or not since:
        return []
    start = datetime.fromisoformat(since)
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        when = datetime.fromisoformat(str(entry.get("ingested_at", "")).replace("Z", "+00:00"))
        if when <= start:
            continue
        months = ", ".join(entry.get("months") or []) or "no months"
        out.append(
            f"Store: {entry.get('file')} ({entry.get('table')}, {entry.get('release')}) "
            f"added or replaced {months}."
        )
    return out


def _signals(new: pd.DataFrame, old: pd.DataFrame, name: Mapping[str, str]) -> list[str]:
    out = []
    for code, row in new.iterrows():
        now = row.get("spc_latest")
        if code == SYSTEM_CODE or pd.isna(now) or now == "common cause":
            continue
        then = old["spc_latest"].get(code) if "spc_latest" in old else None
        if now != then:
            was = "no figure" if then is None or pd.isna(then) else then
            out.append(f"{name[code]} ({code}): {now} in the latest month (was {was}).")
    return out


def _targets(new: pd.DataFrame, old: pd.DataFrame | None, name: Mapping[str, str]) -> list[str]:
    if old is None or new.empty:
        return []
    key = ["trust_code", "molecule"]
    both = new.merge(old, on=key, how="left", suffixes=("", "_was"))
    out = []
    for _, r in both.iterrows():
        for group, label in (("new_status", "new patients"), ("existing_status", "existing")):
            now, was = r[group], r.get(f"{group}_was")
            if pd.isna(was) or now == was or "met" not in (now, was):
                continue
            change = "newly met" if now == "met" else f"no longer met (now {now})"
            out.append(
                f"{name.get(r['trust_code'], r['trust_code'])} ({r['trust_code']}), "
                f"{r['molecule']}, {label}: {change}."
            )
    return out


def _same_year(new: pd.DataFrame, old: pd.DataFrame) -> bool:
    years_new = set(new["financial_year"].dropna())
    years_old = set(old["financial_year"].dropna()) if "financial_year" in old else set()
    return bool(years_new) and years_new == years_old


def _forecasts(new: pd.DataFrame, old: pd.DataFrame, name: Mapping[str, str]) -> list[str]:
    out = []
    for code, row in new.iterrows():
        now = row.get("forecast_outturn_gbp")
        then = old["forecast_outturn_gbp"].get(code) if "forecast_outturn_gbp" in old else None
        if pd.isna(now) or then is None or pd.isna(then) or not then:
            continue
        move = (now - then) / abs(then) * 100
        if abs(move) > FORECAST_MOVE_PCT:
            label = "the system" if code == SYSTEM_CODE else f"{name[code]} ({code})"
            out.append(
                f"Year-end forecast for {label}: {format_gbp(now, 'whole')}, "
                f"{'up' if move > 0 else 'down'} {format_pct(abs(move))} from "
                f"{format_gbp(then, 'whole')}."
            )
    return out


def _movers(new: pd.DataFrame, old: pd.DataFrame, name: Mapping[str, str]) -> list[str]:
    if "spend_fytd_gbp" not in old:
        return []
    added = (new["spend_fytd_gbp"] - old["spend_fytd_gbp"].reindex(new.index)).drop(
        SYSTEM_CODE, errors="ignore"
    )
    # Pennies of rounding are not movement.
    added = added.dropna()
    added = added[added.abs() >= 1]
    if added.empty:
        return []
    top = added.reindex(added.abs().sort_values(ascending=False).index).head(TOP_MOVERS)
    return [
        f"{name[code]} ({code}): {format_gbp(value, 'whole')} more spend to date than in the "
        "last pack."
        if value >= 0
        else f"{name[code]} ({code}): spend to date {format_gbp(-value, 'whole')} lower than in "
        "the last pack (returns or revised data)."
        for code, value in top.items()
    ]


def digest_markdown(digest: Digest, title: str) -> str:
    """The digest as Markdown (``digest.md``)."""
    lines = [f"# What changed: {title}", ""]
    if digest.previous is None:
        lines.append(
            "This is the first complete pack of this parameter set: there is no previous pack "
            "to compare with."
        )
        return "\n".join(lines) + "\n"
    lines.append(f"Compared with the previous complete pack ({digest.previous}).")
    if digest.empty:
        lines += ["", "Nothing the front page shows has changed."]
    for heading, items in digest.sections.items():
        if items:
            lines += ["", f"## {heading}", ""] + [f"- {item}" for item in items]
    return "\n".join(lines) + "\n"


def digest_html(digest: Digest) -> str:
    """The digest as an HTML fragment for the front page (escaped)."""
    esc = html.escape
    if digest.previous is None:
        return (
            '<section id="digest"><h2>What changed since the last pack</h2>'
            "<p>This is the first complete pack of this parameter set: there is no previous "
            "pack to compare with.</p></section>"
        )
    parts = [
        '<section id="digest"><h2>What changed since the last pack</h2>',
        f"<p>Compared with the previous complete pack ({esc(digest.previous)}).</p>",
    ]
    if digest.empty:
        parts.append("<p>Nothing the front page shows has changed.</p>")
    for heading, items in digest.sections.items():
        if items:
            parts.append(f"<h3>{esc(heading)}</h3><ul>")
            parts += [f"<li>{esc(item)}</li>" for item in items]
            parts.append("</ul>")
    parts.append("</section>")
    return "".join(parts)
