"""Lead-facing wet AMD tables: every count disclosed, and no hidden count can be worked back.

The tables are written as CSV and read back, and
:func:`medlib.present.disclosure_check.find_recoveries` plays a reader who knows how they are laid
out: which cells add up, that the funnel repeats the latest-interval table's counts, and that
the nested counts (16 weeks or more within 12 within 8 within maintenance within patients)
cannot exceed each other.
"""

import io

import pandas as pd
import pytest

from medlib.errors import InputError
from medlib.present.disclosure import SUPPRESSED, disclose_count, disclose_percentage
from medlib.present.disclosure_check import (
    Layout,
    Relation,
    RowTotal,
    find_recoveries,
    funnel_findings,
    table_facts,
)
from medlib.synthetic.anti_vegf import generate_anti_vegf
from medlib.synthetic.hcd_activity import DEFAULT_TRUSTS
from medlib.wet_amd.cost import ALL_MOLECULES
from medlib.wet_amd.intervals import BANDS
from medlib.wet_amd.lead_views import TABLES, latest_interval_funnel, lead_tables
from medlib.wet_amd.summary import trust_summary

END = "2025-03-31"
SMALL = "RTD"  # given 5 patients
BAND_COLUMNS = [f"intervals_{name}" for name, *_ in BANDS]
FUNNEL_LIMITS = {
    "lower_95": "lower_95",
    "upper_95": "upper_95",
    "lower_99_8": "lower_99.8",
    "upper_99_8": "upper_99.8",
}


def read_back(table: pd.DataFrame) -> pd.DataFrame:
    """A table as a reader has it: its CSV, every cell as text."""
    return pd.read_csv(io.StringIO(table.to_csv(index=False)), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def sample():
    # Small trusts as well as large ones, so that '*' and secondary suppression happen.
    sizes = {SMALL: 5, "RR7": 12, "RTF": 25}
    return generate_anti_vegf(DEFAULT_TRUSTS, seed=2025, end=END, patients=sizes)


@pytest.fixture(scope="module")
def tables(sample):
    return lead_tables(sample.records, through=END)


@pytest.fixture(scope="module")
def quarterly(sample):
    return lead_tables(sample.records, through=END, period="quarter")


def test_every_table_is_made_and_named(tables):
    assert list(tables) == list(TABLES)
    for table in tables.values():
        assert set(table["trust_code"]) == set(DEFAULT_TRUSTS)


def test_a_trust_with_five_patients_shows_stars(tables):
    latest = tables["amd_latest_interval"].set_index("trust_code").loc[SMALL]
    assert latest["patients"] == SUPPRESSED
    assert (latest == SUPPRESSED).all()
    injections = tables["amd_injections"].set_index("trust_code").loc[SMALL]
    assert injections["patients_year1"] in (SUPPRESSED, 0)
    cost = tables["amd_cost"]
    small = cost[(cost["trust_code"] == SMALL)]
    assert set(small["patients"]) <= {SUPPRESSED, 0}
    assert set(small["cost_per_patient_year"]) <= {SUPPRESSED, None}
    funnel = tables["amd_funnel"].set_index("trust_code").loc[SMALL]
    assert funnel["percent"] == SUPPRESSED and funnel["position"] == "not shown"


def test_counts_are_rounded_to_five_and_percentages_use_the_published_counts(sample, tables):
    summary = trust_summary(sample.records, through=END).set_index("trust_code")
    latest = tables["amd_latest_interval"].set_index("trust_code")
    for trust, row in latest.iterrows():
        raw = summary.loc[trust]
        assert row["patients"] == disclose_count(raw["patients"])
        for w in (8, 12, 16):
            assert row[f"patients_latest_{w}w_plus"] == disclose_count(
                raw[f"patients_latest_{w}w_plus"]
            )
            assert row[f"percent_latest_{w}w_plus"] == disclose_percentage(
                row[f"patients_latest_{w}w_plus"], row["patients_in_maintenance"]
            )
    shown = [v for t in tables.values() for c in t.columns if "patients" in c for v in t[c]]
    assert all(v in (SUPPRESSED, None) or int(v) % 5 == 0 for v in shown)


def test_no_patient_identifier_reaches_a_lead_table(sample, tables):
    ids = set(sample.records["patient_id"])
    for name, table in tables.items():
        cells = {str(v) for v in table.to_numpy().ravel()}
        assert not cells & ids, name
        assert not any("patient_id" in c or c == "eye" for c in table.columns), name


def test_means_and_costs_from_one_to_seven_patients_are_hidden(tables):
    injections = tables["amd_injections"]
    for year in (1, 2):
        hidden = injections[f"patients_year{year}"] == SUPPRESSED
        assert (injections.loc[hidden, f"injections_year{year}_per_eye"] == SUPPRESSED).all()
    cost = tables["amd_cost"]
    hidden = cost["patients"] == SUPPRESSED
    assert hidden.any()
    assert (cost.loc[hidden, "cost_per_patient_year"] == SUPPRESSED).all()
    shown = cost.loc[~hidden & cost["cost_per_patient_year"].notna(), "cost_per_patient_year"]
    assert all(float(v) % 10 == 0 for v in shown)


def test_the_bands_get_secondary_suppression(tables):
    bands = tables["amd_interval_bands"]
    for _, row in bands.iterrows():
        cells = [row[c] for c in BAND_COLUMNS]
        assert (
            sum(v == SUPPRESSED for v in cells) != 1 or row["maintenance_intervals"] == SUPPRESSED
        )


# --------------------------------------------------------------------------- the reader


def variable(name, row, quantity):
    """Cells of the latest-interval table and the funnel name the same counts."""
    if name in ("amd_latest_interval", "amd_funnel", "amd_injections"):
        return ("trust", str(row["trust_code"]), quantity)
    if name == "amd_cost":
        return ("cost", str(row["trust_code"]), str(row["period"]), str(row["molecule"]), quantity)
    return (name, str(row["trust_code"]), quantity)


def layouts(cost_table):
    molecules = tuple(sorted(set(cost_table["molecule"]) - {ALL_MOLECULES}))
    latest = {f"patients_latest_{w}w_plus": f"ge{w}" for w in (8, 12, 16)}
    return {
        "amd_latest_interval": Layout(
            key=("trust_code",),
            counts={"patients": "patients", "patients_in_maintenance": "maint", **latest},
            percentages={f"percent_latest_{w}w_plus": (f"ge{w}", "maint") for w in (8, 12, 16)},
        ),
        "amd_interval_bands": Layout(
            key=("trust_code",),
            counts={"maintenance_intervals": "all", **{b: b for b in BAND_COLUMNS}},
            percentages={
                f"percent_{b.removeprefix('intervals_')}": (b, "all") for b in BAND_COLUMNS
            },
            row_sums=(("all", tuple(BAND_COLUMNS)),),
        ),
        "amd_injections": Layout(
            key=("trust_code",), counts={"patients_year1": "year1", "patients_year2": "year2"}
        ),
        "amd_cost": Layout(
            key=("trust_code", "period", "molecule"),
            counts={"patients": "patients"},
            row_totals=(
                RowTotal("molecule", ALL_MOLECULES, molecules, within=("trust_code", "period")),
            ),
        ),
        "amd_funnel": Layout(
            key=("trust_code",),
            counts={"patients_latest_12w_plus": "ge12", "patients_in_maintenance": "maint"},
            percentages={"percent": ("ge12", "maint")},
        ),
    }


def nested(trusts):
    """What the reader knows without a table saying it: the nested counts' order."""
    chains = [("ge16", "ge12", "ge8", "maint", "patients"), ("year2", "year1", "patients")]
    return [
        Relation((("trust", t, a), ("trust", t, b)), lambda x, y: x <= y)
        for t in trusts
        for chain in chains
        for a, b in zip(chain[:-1], chain[1:], strict=True)
    ]


@pytest.mark.parametrize("which", ["tables", "quarterly"])
def test_no_hidden_count_can_be_worked_back(which, request):
    published = {name: read_back(t) for name, t in request.getfixturevalue(which).items()}
    facts = []
    for name, layout in layouts(published["amd_cost"]).items():
        facts.extend(table_facts(name, published[name], layout, variable))
    facts.extend(nested(DEFAULT_TRUSTS))
    assert any(v == SUPPRESSED for t in published.values() for v in t.to_numpy().ravel())
    assert find_recoveries(facts) == []


def test_funnel_limits_are_those_of_the_published_counts(sample, tables):
    funnel = tables["amd_funnel"]
    assert (
        funnel_findings(
            "amd_funnel",
            read_back(funnel),
            label="trust_code",
            numerator="patients_latest_12w_plus",
            denominator="patients_in_maintenance",
            limits=FUNNEL_LIMITS,
        )
        == []
    )
    result = latest_interval_funnel(trust_summary(sample.records, through=END))
    shown = funnel[funnel["percent"] != SUPPRESSED]
    assert sorted(result.table["label"]) == sorted(shown["trust_code"])
    assert funnel.attrs["target_percent"] == round(100 * result.target, 1)
    # The trusts' behaviours differ a lot: the spread is over-dispersed and the limits widen.
    assert result.overdispersion_adjusted


def test_the_funnel_needs_a_trust_with_counts_shown():
    tiny = generate_anti_vegf(["RTD", "RR7"], seed=1, end=END, patients={"RTD": 4, "RR7": 3})
    summary = trust_summary(tiny.records, through=END)
    with pytest.raises(InputError, match="too few to draw a funnel"):
        latest_interval_funnel(summary)
    with pytest.raises(InputError, match="weeks must be one of"):
        latest_interval_funnel(summary, weeks=10)
    funnel = lead_tables(tiny.records, through=END)["amd_funnel"]
    assert funnel["position"].tolist() == ["not shown", "not shown"]
    assert funnel.attrs["target_percent"] is None


def eye_with(maintenance_days, patient, start="2022-01-03"):
    """Records of one eye: 3 loading doses 28 days apart, then the given intervals."""
    days = [0, 28, 56]
    for gap in maintenance_days:
        days.append(days[-1] + gap)
    dates = pd.Timestamp(start) + pd.to_timedelta(days, unit="D")
    return pd.DataFrame(
        {
            "patient_id": patient,
            "trust_code": "RTD",
            "activity_date": dates,
            "molecule": "aflibercept",
            "product": "Eylea",
            "cost_gbp": 816.0,
            "eye": "left",
        }
    )


def test_a_lone_star_among_bands_is_protected_where_rounding_alone_would_give_it_away():
    # 1 interval under 6 weeks, 8 of 6-8 weeks and 13 of 8-10 weeks: 22 in all. Rounded alone
    # they read *, 10, 15 and 20, and 22 - (8 + 13) gives the 1 back.
    records = pd.concat([eye_with([35], "a"), eye_with([45] * 8, "b"), eye_with([60] * 13, "c")])
    bands = lead_tables(records, through="2025-12-31")["amd_interval_bands"]
    layout = layouts(pd.DataFrame({"molecule": []}))["amd_interval_bands"]
    assert find_recoveries(table_facts("bands", read_back(bands), layout)) == []
    assert bands[BAND_COLUMNS[:3]].iloc[0].tolist() == [SUPPRESSED, SUPPRESSED, 15]

    naive = bands.copy()
    for column, raw in zip(
        ["maintenance_intervals", *BAND_COLUMNS[:3]], [22, 1, 8, 13], strict=True
    ):
        naive[column] = disclose_count(raw)
    for band in BAND_COLUMNS:
        naive[f"percent_{band.removeprefix('intervals_')}"] = disclose_percentage(
            naive[band].iloc[0], naive["maintenance_intervals"].iloc[0]
        )
    found = find_recoveries(table_facts("bands", read_back(naive), layout))
    assert ("bands", ("RTD",), "intervals_under_6w") in {r.var for r in found}
