"""Issue 15, item 2: no suppressed or rounded count can be worked back from what is published.

Percentages used to be printed from the raw counts, so a reader could multiply a percentage by
the shown denominator, subtract shown shares from 100%, or take one table's "10 or more" from
another's "10-14", and get a ``*`` back exactly. Every polypharmacy and switch report of the
North East and North Cumbria pack is built here, each lead-facing table is written as its CSV
and read back, and :func:`medlib.present.disclosure_check.find_recoveries` plays a reader who
knows how the tables are laid out (the model below): it must pin no hidden count. Each case the
issue names is reproduced on its own, with RTD's true counts: the attack worked on the
percentages as they used to be printed, and fails on the published tables. The disclosure
functions and the checker are tested on hand-worked tables in ``tests/present``
(``test_disclosure_rule.py``, ``test_disclosure_check.py``).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping

import pandas as pd
import pytest
import yaml

from medlib.context import resolve_context
from medlib.paths import PROJECT_ROOT
from medlib.polypharmacy import comparators, pincer
from medlib.polypharmacy import report as poly_report
from medlib.present.disclosure import disclose_count
from medlib.present.disclosure_check import (
    Layout,
    Relation,
    RowTotal,
    Total,
    find_recoveries,
    funnel_findings,
    table_facts,
)
from medlib.stats.peer_comparison import funnel_limits
from medlib.switch import report as switch_report

NENC = yaml.safe_load((PROJECT_ROOT / "parameters" / "nenc.yaml").read_text())["trusts"]
PERIOD_END = "2024-03"
# The switch notebook's default switches and target profile (notebooks/switch_uptake.ipynb).
SWITCHES = [
    "adalimumab",
    "etanercept",
    "infliximab",
    "rituximab",
    "trastuzumab",
    "ustekinumab",
    "ranibizumab",
]

AGE_BANDS = ("under 65", "65-74", "75-84", "85+")
MEDICINE_BANDS = ("0-4", "5-7", "8-9", "10-14", "15+")
RANGES = ((0, 4), (5, 7), (8, 9), (10, 14), (15, 10_000))  # the bands' unique medicines
FUNNEL_LIMITS = {
    "lower_95": "lower_95",
    "upper_95": "upper_95",
    "lower_99_8": "lower_99.8",
    "upper_99_8": "upper_99.8",
}


def read_back(table: pd.DataFrame) -> pd.DataFrame:
    """A table as a reader has it: its CSV, every cell as text."""
    return pd.read_csv(io.StringIO(table.to_csv(index=False)), dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------- the reader's model


def _poly_denominator(description: str, group: str) -> tuple:
    # "all patients" is the same population in every table: the by-age table's patients.
    return ("patients", group) if description == "all patients" else ("den", description, group)


def poly_variable(name: str, row: Mapping[str, object], quantity: str) -> tuple:
    """The count behind a cell of a polypharmacy table; cells of one count share a name."""
    if name == "poly_medicines_by_age":
        group = "all" if row["age_band"] == "all ages" else str(row["age_band"])
        return ("patients", group) if quantity == "patients" else ("band", quantity, group)
    if name in ("poly_headline", "poly_acb", "poly_combinations"):
        group = str(row.get("group", "all"))
        measure = str(row["measure_key"])
        if quantity == "den":
            return _poly_denominator(str(row["denominator_description"]), group)
        if measure == "medicines_15plus":
            return ("band", "15+", group)  # the by-age table's 15+ band, all ages
        return (measure, "flagged", group)
    if name == "poly_pincer":
        if row["indicator"] == "GI bleed composite":
            return ("gi_bleed", str(row["organisation"]), quantity)  # also in the funnel
        return ("pincer", str(row["indicator"]), quantity)
    if name == "poly_pincer_funnel":
        return (str(row["indicator"]), str(row["organisation"]), quantity)
    raise KeyError(name)


RATES = Layout(
    key=("measure_key", "breakdown", "group"),
    counts={"patients_flagged": "flagged", "patients_in_denominator": "den"},
    percentages={"percent": ("flagged", "den")},
    row_totals=(
        RowTotal("breakdown", "all", ("age band",), within=("measure_key",)),
        RowTotal("breakdown", "all", ("sex",), within=("measure_key",)),
    ),
)
POLY_LAYOUTS = {
    "poly_medicines_by_age": Layout(
        key=("age_band",),
        counts={"patients": "patients"},
        percentages={f"percent_{b}": (b, "patients") for b in MEDICINE_BANDS},
        row_sums=(("patients", MEDICINE_BANDS),),
        row_totals=(RowTotal("age_band", "all ages", AGE_BANDS),),
    ),
    "poly_acb": RATES,
    "poly_combinations": RATES,
    "poly_pincer": Layout(
        key=("indicator",),
        counts={"patients_flagged": "flagged", "patients_in_denominator": "den"},
        percentages={"percent": ("flagged", "den")},
    ),
    "poly_pincer_funnel": Layout(
        key=("organisation",),
        counts={"patients_flagged": "flagged", "patients_in_denominator": "den"},
        percentages={"percent": ("flagged", "den")},
    ),
}
HEADLINE_RATES = Layout(
    key=("measure_key",),
    counts={"patients_flagged": "flagged", "patients_in_denominator": "den"},
    percentages={"value": ("flagged", "den")},
)
HEADLINE_MEAN = Layout(key=("measure_key",), counts={"patients_in_denominator": "den"})


def poly_facts(tables: Mapping[str, pd.DataFrame]) -> list:
    """Everything a reader of the polypharmacy tables knows, the tables linked."""
    facts: list = []
    for name, layout in POLY_LAYOUTS.items():
        facts += table_facts(name, tables[name], layout, poly_variable)
    head = tables["poly_headline"]
    facts += table_facts("poly_headline", head[head["unit"] == "%"], HEADLINE_RATES, poly_variable)
    facts += table_facts("poly_headline", head[head["unit"] != "%"], HEADLINE_MEAN, poly_variable)
    # The thresholds nest: 8+ = 8-9 + 10+, 10+ = 10-14 + 15+ (all ages), and 20+ is within 15+.
    facts += [
        Total(
            ("medicines_8plus", "flagged", "all"),
            (("band", "8-9", "all"), ("medicines_10plus", "flagged", "all")),
        ),
        Total(
            ("medicines_10plus", "flagged", "all"),
            (("band", "10-14", "all"), ("band", "15+", "all")),
        ),
        Relation(
            (("medicines_20plus", "flagged", "all"), ("band", "15+", "all")), lambda a, b: a <= b
        ),
    ]
    return facts


def _target(text: str) -> tuple[float, int]:
    """``"80% at 10 months"`` -> (0.8, 10)."""
    share, months = re.fullmatch(r"(\d+)% at (\d+) months", text).groups()
    return int(share) / 100, int(months)


def switch_facts(tables: Mapping[str, pd.DataFrame]) -> list:
    """Everything a reader of one trust's switch tables knows, the tables linked."""
    head = tables["switch_headline"]
    monthly = tables["switch_uptake_monthly"]
    league = tables["switch_league"]
    last = {
        m: int(f["months_since_launch"].astype(int).max()) for m, f in monthly.groupby("molecule")
    }
    existing_month = {r["molecule"]: _target(r["existing_target"])[1] for _, r in head.iterrows()}

    def variable(name: str, row: Mapping[str, object], quantity: str) -> tuple:
        m = str(row["molecule"])
        if name == "switch_uptake_monthly":
            return (quantity, m, int(row["months_since_launch"]))
        if name == "switch_headline":
            if quantity.startswith("existing"):
                return (quantity, m, existing_month[m]) if "gap" not in quantity else (quantity, m)
            return (quantity, m)
        if name == "switch_league":
            if row["this_trust"] != "this trust":
                return ("league", m, str(row["trust_code"]), quantity)
            if quantity.startswith("existing"):
                return (quantity, m, last[m])  # the latest month of the monthly table
            return (quantity, m)  # new patients since the target month: the headline's
        raise KeyError(name)

    facts = table_facts(
        "switch_uptake_monthly",
        monthly,
        Layout(
            key=("molecule", "year_month"),
            counts={"new_patients": "new", "existing_patients": "existing"},
            percentages={
                "pct_new_best_value": ("new_bv", "new"),
                "pct_existing_best_value": ("existing_bv", "existing"),
            },
        ),
        variable,
    )
    facts += table_facts(
        "switch_headline",
        head,
        Layout(
            key=("molecule",),
            counts={
                "new_patients": "new_total",
                "new_gap_patients": "new_gap",
                "existing_patients": "existing",
                "existing_gap_patients": "existing_gap",
            },
            percentages={
                "pct_new_best_value": ("new_total_bv", "new_total"),
                "pct_existing_best_value": ("existing_bv", "existing"),
            },
        ),
        variable,
    )
    facts += table_facts(
        "switch_league",
        league,
        Layout(
            key=("molecule", "trust_code"),
            counts={
                "existing_patients_latest": "existing",
                "new_patients_since_target": "new_total",
                "patients_switched_back": "switched_back",
            },
            percentages={
                "pct_existing_best_value_latest": ("existing_bv", "existing"),
                "pct_new_best_value_since_target": ("new_total_bv", "new_total"),
            },
        ),
        variable,
    )
    for _, row in head.iterrows():
        m = row["molecule"]
        new_share, new_months = _target(row["new_target"])
        ex_share, ex_months = _target(row["existing_target"])
        mine = monthly[monthly["molecule"] == m]
        since = [int(k) for k in mine["months_since_launch"] if int(k) >= new_months]
        if row["new_status"] in ("met", "not met"):
            # New patients from the target month on add up to the headline's (and the league's).
            facts.append(Total(("new_total", m), tuple(("new", m, k) for k in since)))
            facts.append(Total(("new_total_bv", m), tuple(("new_bv", m, k) for k in since)))
        # A target's gap is the patients short of ceil(share x patients).
        for group, share, n, bv in (
            ("new", new_share, ("new_total", m), ("new_total_bv", m)),
            ("existing", ex_share, ("existing", m, ex_months), ("existing_bv", m, ex_months)),
        ):
            if row[f"{group}_status"] in ("met", "not met"):
                facts.append(
                    Relation(
                        ((f"{group}_gap", m), n, bv),
                        lambda g, n, b, s=share: g == max(0, math.ceil(s * n - 1e-9) - b),
                        f"switch_headline[{m}].{group}_gap_patients",
                    )
                )
    return facts


def check_tables(poly: Mapping[str, pd.DataFrame], switch: Mapping[str, pd.DataFrame]) -> dict:
    """The checker's findings over one trust's lead-facing polypharmacy and switch tables."""
    poly = {k: read_back(v) for k, v in poly.items()}
    switch = {k: read_back(v) for k, v in switch.items()}
    return {
        "poly": find_recoveries(poly_facts(poly)),
        "switch": find_recoveries(switch_facts(switch)),
        "funnel": funnel_findings(
            "poly_pincer_funnel",
            poly["poly_pincer_funnel"],
            label="organisation",
            numerator="patients_flagged",
            denominator="patients_in_denominator",
            limits=FUNNEL_LIMITS,
        ),
    }


# --------------------------------------------------------------------------- the whole pack


def _reports(code: str) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    context = resolve_context(code, PERIOD_END)
    poly = poly_report.build(context).tables()
    switch = switch_report.build(context, SWITCHES, "2025", 2025).tables()
    return poly, switch


@pytest.mark.parametrize("code", NENC)
def test_no_hidden_count_of_a_nenc_report_can_be_worked_back(code):
    poly, switch = _reports(code)
    published = {**poly, **switch}
    # There is something to protect: suppressed cells in the polypharmacy and switch tables.
    stars = {name: int(read_back(t).eq("*").to_numpy().sum()) for name, t in published.items()}
    assert stars["poly_medicines_by_age"] + stars["poly_acb"] + stars["poly_combinations"] > 0
    assert stars["switch_uptake_monthly"] + stars["switch_league"] > 0
    assert check_tables(poly, switch) == {"poly": [], "switch": [], "funnel": []}


# --------------------------------------------------------------------------- the issue's cases


@pytest.fixture(scope="module")
def rtd():
    """RTD's audit (true counts) and its published polypharmacy tables, read back."""
    report = poly_report.build(resolve_context("RTD", PERIOD_END))
    tables = {name: read_back(t) for name, t in report.tables().items()}
    return report.audit, tables


def _true_counts(audit) -> dict:
    """RTD's raw counts the issue's cases are about."""
    flags = audit.comparators
    mine = flags[flags["trust_code"] == "RTD"]
    under_65 = mine[mine["age_band"] == "under 65"]
    women = mine[mine["sex"] == "F"]
    return {
        "under_65": len(under_65),
        "under_65_10_14": int(under_65["n_medicines"].between(10, 14).sum()),
        "all": len(mine),
        "10plus": int((mine["n_medicines"] >= 10).sum()),
        "10_14": int(mine["n_medicines"].between(10, 14).sum()),
        "15plus": int((mine["n_medicines"] >= 15).sum()),
        "women": len(women),
        "women_acb_6plus": int((women["acb_total"] >= 6).sum()),
    }


def _old_share(numerator: int, denominator: int) -> float | str:
    # How percentages were printed before: from the raw counts, '*' when either was 1-7.
    if 0 < numerator <= 7 or 0 < denominator <= 7:
        return "*"
    return round(100 * numerator / denominator, 1)


def _number(cell: str) -> float | None:
    return None if cell in ("*", "") else float(cell)


def test_the_under_65_row_no_longer_gives_its_suppressed_band_away(rtd):
    audit, tables = rtd
    true = _true_counts(audit)
    assert (true["under_65"], true["under_65_10_14"]) == (181, 1)
    bands = [f"percent_{b}" for b in MEDICINE_BANDS]
    mine = audit.comparators[audit.comparators["trust_code"] == "RTD"]
    medicines = mine.loc[mine["age_band"] == "under 65", "n_medicines"]
    old_shares = [_old_share(int(medicines.between(lo, hi).sum()), 181) for lo, hi in RANGES]
    # Before: 71.3, 21.0, 7.2, *, 0.0 of 180 shown; (100 - 99.5)% of 180 = 0.9: the true 1.
    assert old_shares == [71.3, 21.0, 7.2, "*", 0.0]
    assert round((100 - sum(v for v in old_shares if v != "*")) * 180 / 100) == 1
    row = tables["poly_medicines_by_age"].set_index("age_band").loc["under 65"]
    shown = [_number(row[c]) for c in bands]
    # Now a second band is suppressed with it, so the same sum gives the two together.
    assert row["patients"] == "180" and shown.count(None) >= 2
    left = round((100 - sum(v for v in shown if v is not None)) * 180 / 100)
    assert left != true["under_65_10_14"]
    assert not [r for r in find_recoveries(poly_facts(tables)) if "under 65" in r.where]


def test_15_or_more_medicines_is_no_longer_10_or_more_less_10_to_14(rtd):
    audit, tables = rtd
    true = _true_counts(audit)
    assert (true["all"], true["10plus"], true["10_14"], true["15plus"]) == (420, 53, 50, 3)
    # Before: 12.6% (10 or more) less 11.9% (10-14, all ages) of 420 = 2.94: the true 3.
    old = _old_share(53, 420), _old_share(50, 420)
    assert old == (12.6, 11.9)
    assert round((old[0] - old[1]) * 420 / 100) == 3
    head = tables["poly_headline"].set_index("measure_key")
    by_age = tables["poly_medicines_by_age"].set_index("age_band").loc["all ages"]
    assert head.loc["medicines_15plus", "patients_flagged"] == "*"
    ten_plus, ten_to_14 = (
        _number(head.loc["medicines_10plus", "value"]),
        _number(by_age["percent_10-14"]),
    )
    # Now 10-14 (all ages) is suppressed with 15+ (and 10+ is 55 of 420 = 13.1%).
    assert (ten_plus, ten_to_14) == (13.1, None)
    assert not [r for r in find_recoveries(poly_facts(tables)) if "15" in r.where]


def test_a_share_times_its_denominator_gives_back_only_the_published_count(rtd):
    audit, tables = rtd
    true = _true_counts(audit)
    assert (true["women"], true["women_acb_6plus"]) == (220, 9)
    # Before: 9 women of 220 shown as 10, but 4.1% of 220 = 9.02: the true 9.
    assert _old_share(9, 220) == 4.1 and round(4.1 * 220 / 100) == 9
    acb = tables["poly_acb"].set_index(["measure_key", "group"])
    women = acb.loc[("acb_6plus", "F")]
    # Now 10 of 220 = 4.5%, and 4.5% of 220 = 9.9: the published 10.
    assert [women["patients_flagged"], women["patients_in_denominator"], women["percent"]] == [
        "10",
        "220",
        "4.5",
    ]
    for name in ("poly_acb", "poly_combinations", "poly_pincer", "poly_pincer_funnel"):
        for _, row in tables[name].iterrows():
            share, den = _number(row["percent"]), _number(row["patients_in_denominator"])
            if share is not None and den:
                assert round(share * den / 100) == float(row["patients_flagged"]), (name, dict(row))


def test_funnel_limits_are_those_of_the_published_denominator(rtd):
    audit, tables = rtd
    funnel = tables["poly_pincer_funnel"].set_index("organisation")
    limits = list(FUNNEL_LIMITS)
    # RR7 and RX3 both show 90 patients in the denominator: before, their limits differed
    # (10.9 and 10.8 lower 95%), made from their unrounded denominators.
    assert (
        funnel.loc["RR7", "patients_in_denominator"]
        == funnel.loc["RX3", "patients_in_denominator"]
        == "90"
    )
    assert funnel.loc["RR7", limits].tolist() == funnel.loc["RX3", limits].tolist()
    assert (
        funnel_findings(
            "poly_pincer_funnel",
            tables["poly_pincer_funnel"],
            label="organisation",
            numerator="patients_flagged",
            denominator="patients_in_denominator",
            limits=FUNNEL_LIMITS,
        )
        == []
    )
    # The old limits, from the raw counts, are found.
    summary = pincer.pincer_summary(audit.pincer_flags, by=["trust_code"], keys=["gi_bleed"])
    raw = funnel_limits(summary["numerator"], summary["denominator"], summary["trust_code"]).table
    old = pd.DataFrame(
        {
            "organisation": raw["label"],
            "patients_flagged": [str(disclose_count(n)) for n in raw["numerator"]],
            "patients_in_denominator": [str(disclose_count(d)) for d in raw["denominator"]],
        }
        | {shown: (100 * raw[col]).round(1).astype(str) for shown, col in FUNNEL_LIMITS.items()}
    )
    found = funnel_findings(
        "old",
        old,
        label="organisation",
        numerator="patients_flagged",
        denominator="patients_in_denominator",
        limits=FUNNEL_LIMITS,
    )
    assert {"old[RR7]", "old[RX3]"} <= {f.where for f in found}


def test_the_checker_finds_the_issues_recoveries_in_tables_made_the_old_way(rtd):
    # The by-age table and the headline printed from RTD's raw counts, as before the fix.
    audit, tables = rtd
    mine = audit.comparators[audit.comparators["trust_code"] == "RTD"]
    rows = []
    for band in [*AGE_BANDS, "all ages"]:
        frame = mine if band == "all ages" else mine[mine["age_band"] == band]
        rows.append(
            {"age_band": band, "patients": str(disclose_count(len(frame)))}
            | {
                f"percent_{b}": str(
                    _old_share(int(frame["n_medicines"].between(lo, hi).sum()), len(frame))
                )
                for b, (lo, hi) in zip(MEDICINE_BANDS, RANGES, strict=True)
            }
        )
    old = dict(tables)
    old["poly_medicines_by_age"] = pd.DataFrame(rows)
    head = tables["poly_headline"].copy()
    raw = comparators.comparator_summary(mine, by=[]).set_index("comparator")
    for i, row in head[head["unit"] == "%"].iterrows():
        flagged, den = (int(raw.loc[row["measure_key"], c]) for c in ("numerator", "denominator"))
        head.loc[i, "patients_flagged"] = str(disclose_count(flagged))
        head.loc[i, "value"] = str(_old_share(flagged, den))
    old["poly_headline"] = head
    found = {(r.where, r.value, r.kind) for r in find_recoveries(poly_facts(old))}
    assert ("poly_medicines_by_age[under 65].percent_10-14", 1, "suppressed") in found
    assert ("poly_headline[medicines_15plus].patients_flagged", 3, "suppressed") in found
