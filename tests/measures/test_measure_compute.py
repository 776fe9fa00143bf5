"""Measures computed in the engine: hand-worked values, national percentiles, ranks, metrics."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from measures_fixtures import definition as make_definition
from measures_fixtures import ladder_usage
from measures_fixtures import products as make_products

from medlib.errors import InputError
from medlib.measures.compute import (
    DECILES,
    NOTES,
    OPH_PERCENTILES,
    compute_measures,
    improvement,
    percentile_position,
)
from medlib.measures.definitions import DEFINITIONS_DIR, load_definitions
from medlib.paths import DATA_DIR
from medlib.reference.trusts import successor_map


@pytest.fixture(scope="module")
def bundled():
    return compute_measures()


@pytest.fixture(scope="module")
def raw():
    return pd.read_parquet(DATA_DIR / "scmd_antibacterials.parquet")


def _value(results, measure_id, trust, month):
    v = results.values
    row = v[(v.measure_id == measure_id) & (v.trust_code == trust) & (v.year_month == month)]
    assert len(row) == 1
    return row.iloc[0]


# --- the intravenous antibiotics measure, by hand from the raw rows --------------------------

# Every row of the bundled extract for the trust and month: (VMP code, name, quantity).
RAW_ROWS = {
    ("RY2", "2020-01-01"): [
        ("323416001", "Phenoxymethylpenicillin 250mg tablets", 1200.0),
        (
            "323671007",
            "Piperacillin 4g / Tazobactam 500mg powder for solution for infusion vials",
            50.0,
        ),
        ("323855005", "Ceftazidime 2g powder for solution for injection vials", 20.0),
        ("323991002", "Ceftriaxone 2g powder for solution for injection vials", 30.0),
        ("324238009", "Clarithromycin 250mg tablets", 150.0),
        ("324244008", "Clarithromycin 500mg tablets", 98.0),
    ],
    ("RY2", "2020-02-01"): [
        ("323416001", "Phenoxymethylpenicillin 250mg tablets", 2000.0),
        ("323474008", "Flucloxacillin 250mg/5ml oral suspension", 500.0),
        ("323854009", "Ceftazidime 1g powder for solution for injection vials", 20.0),
        ("323990001", "Ceftriaxone 1g powder for solution for injection vials", 20.0),
        ("323991002", "Ceftriaxone 2g powder for solution for injection vials", 40.0),
        ("324244008", "Clarithromycin 500mg tablets", 112.0),
        ("330295009", "Chloramphenicol 1% eye ointment", 40.0),
    ],
    ("RV9", "2020-01-01"): [
        ("323396003", "Benzylpenicillin 1.2g powder for solution for injection vials", 25.0),
        (
            "323671007",
            "Piperacillin 4g / Tazobactam 500mg powder for solution for infusion vials",
            30.0,
        ),
        ("324059006", "Doxycycline 100mg capsules", 50.0),
        ("324244008", "Clarithromycin 500mg tablets", 28.0),
        ("324512005", "Metronidazole 400mg tablets", 21.0),
        ("324634001", "Levofloxacin 500mg tablets", 10.0),
        ("330295009", "Chloramphenicol 1% eye ointment", 124.0),
        ("331141001", "Neomycin 0.5% / Chlorhexidine hydrochloride 0.1% cream", 15.0),
    ],
    ("RV9", "2020-02-01"): [
        ("323416001", "Phenoxymethylpenicillin 250mg tablets", 168.0),
        ("324244008", "Clarithromycin 500mg tablets", 70.0),
        ("324431001", "Trimethoprim 200mg tablets", 28.0),
        ("324512005", "Metronidazole 400mg tablets", 14.0),
        ("324570005", "Nitrofurantoin 50mg capsules", 60.0),
        ("324634001", "Levofloxacin 500mg tablets", 10.0),
        ("330295009", "Chloramphenicol 1% eye ointment", 156.0),
        ("331141001", "Neomycin 0.5% / Chlorhexidine hydrochloride 0.1% cream", 45.0),
        ("332825002", "Fusidic acid 2% cream", 15.0),
    ],
}

# DDDs = quantity x DDDs per unit (strength / WHO DDD). Injectable = numerator.
IV_BY_HAND = {
    ("RY2", "2020-01-01"): (
        # IV: piperacillin/tazobactam 4g vials 50 x 4/14 = 14.285714 (the DDD, 14 g, counts
        # piperacillin) + ceftazidime 2g vials 20 x 2/4 = 10 + ceftriaxone 2g vials 30 x 2/2 = 30
        50 * 4 / 14 + 20 * 2 / 4 + 30 * 2 / 2,  # = 54.285714
        # plus oral: phenoxymethylpenicillin 250mg tabs 1200 x 0.25/2 = 150, clarithromycin
        # 250mg tabs 150 x 250/500 = 75, clarithromycin 500mg tabs 98 x 500/500 = 98
        50 * 4 / 14 + 20 * 2 / 4 + 30 * 2 / 2 + 1200 * 0.25 / 2 + 150 * 250 / 500 + 98 * 1,
    ),  # = 377.285714; value 0.143885
    ("RY2", "2020-02-01"): (
        # IV: ceftazidime 1g 20 x 1/4 = 5 + ceftriaxone 1g 20 x 1/2 = 10 + ceftriaxone 2g 40 x 1
        20 * 1 / 4 + 20 * 1 / 2 + 40 * 2 / 2,  # = 55
        # plus oral: phenoxymethylpenicillin 2000 x 0.125 = 250, flucloxacillin 250mg/5ml
        # 500 ml x (50 mg per ml / 2000 mg) = 12.5, clarithromycin 500mg 112 x 1; the eye
        # ointment is not in the measure
        55 + 2000 * 0.25 / 2 + 500 * (250 / 5) / 2000 + 112 * 1,
    ),  # = 429.5; value 0.128056
    ("RV9", "2020-01-01"): (
        # IV: benzylpenicillin 1.2g 25 x 1.2/3.6 = 8.333333 + piperacillin/tazobactam 4g 30 x 4/14
        25 * 1.2 / 3.6 + 30 * 4 / 14,  # = 16.904762
        # plus oral: doxycycline 100mg 50 x 1 + clarithromycin 500mg 28 x 1 + metronidazole 400mg
        # (P01AB01, in the measure as OP-H adds it) 21 x 0.4/2 = 4.2 + levofloxacin 500mg 10 x 1
        25 * 1.2 / 3.6 + 30 * 4 / 14 + 50 * 1 + 28 * 1 + 21 * 0.4 / 2 + 10 * 1,
    ),  # = 109.104762; value 0.154941
    ("RV9", "2020-02-01"): (
        0.0,  # no injectable antibiotics issued
        # phenoxymethylpenicillin 168 x 0.125 = 21 + clarithromycin 70 x 1 + trimethoprim 200mg
        # 28 x 200/400 = 14 + metronidazole 14 x 0.2 = 2.8 + nitrofurantoin 50mg 60 x 50/200 = 15
        # + levofloxacin 10 x 1
        168 * 0.25 / 2 + 70 * 1 + 28 * 200 / 400 + 14 * 0.4 / 2 + 60 * 50 / 200 + 10 * 1,
    ),  # = 132.8; value 0
}


def test_raw_rows_are_as_the_hand_working_says(raw):
    for (trust, month), rows in RAW_ROWS.items():
        found = raw[(raw.ods_code == trust) & (raw.year_month == month)]
        assert sorted(
            found[["vmp_snomed_code", "vmp_product_name", "total_quantity"]].itertuples(
                index=False, name=None
            )
        ) == sorted(rows)
        # Neither trust merged with another, so no predecessor's rows join them.
        assert trust not in successor_map() and trust not in set(successor_map().values())


@pytest.mark.parametrize(("trust", "month"), list(IV_BY_HAND))
def test_iv_antibiotics_by_hand(bundled, trust, month):
    numerator, denominator = IV_BY_HAND[(trust, month)]
    row = _value(bundled, "abx_iv", trust, pd.Timestamp(month))
    assert row.numerator == pytest.approx(numerator, rel=1e-12)
    assert row.denominator == pytest.approx(denominator, rel=1e-12)
    assert row.value == pytest.approx(numerator / denominator, rel=1e-12)
    assert row.note is None and row.ranked


def test_iv_values_as_rounded_in_the_report(bundled):
    got = {
        k: round(_value(bundled, "abx_iv", k[0], pd.Timestamp(k[1])).value, 6) for k in IV_BY_HAND
    }
    assert got == {
        ("RY2", "2020-01-01"): 0.143885,
        ("RY2", "2020-02-01"): 0.128056,
        ("RV9", "2020-01-01"): 0.154941,
        ("RV9", "2020-02-01"): 0.0,
    }


def test_access_share_by_hand(bundled):
    # RY2, January 2020: Access = phenoxymethylpenicillin 150 DDDs; Watch = piperacillin/
    # tazobactam 14.285714 + ceftazidime 10 + ceftriaxone 30 + clarithromycin 75 + 98.
    access = 1200 * 0.25 / 2
    watch = 50 * 4 / 14 + 20 * 2 / 4 + 30 * 2 / 2 + 150 * 250 / 500 + 98 * 1
    row = _value(bundled, "abx_access", "RY2", pd.Timestamp("2020-01-01"))
    assert (row.numerator, row.denominator) == (
        pytest.approx(access),
        pytest.approx(access + watch),
    )


# --- national percentiles and ranks against an independent computation ---------------------


def _independent_values(raw, results, measure_id):
    """Trust-month values for a measure in plain pandas, from the raw rows."""
    roles = results.products[(results.products.measure_id == measure_id) & results.products.counted]
    rows = raw.merge(roles, left_on="vmp_snomed_code", right_on="vmp_code")
    rows["trust_code"] = rows["ods_code"].map(successor_map()).fillna(rows["ods_code"])
    rows["ddds"] = rows["total_quantity"] * rows["ddd_per_unit"]
    rows["num"] = rows["ddds"].where(rows["in_numerator"], 0.0)
    out = rows.groupby(["trust_code", "year_month"]).agg(num=("num", "sum"), den=("ddds", "sum"))
    return out.reset_index()


@pytest.mark.parametrize("measure_id", ["abx_iv", "abx_access"])
def test_national_deciles_equal_numpy_over_trusts_with_a_positive_denominator(
    bundled, raw, measure_id
):
    independent = _independent_values(raw, bundled, measure_id)
    positive = independent[independent.den > 0]
    deciles = bundled.percentiles[bundled.percentiles.measure_id == measure_id]
    assert sorted(deciles.percentile.unique()) == list(DECILES)
    months = sorted(positive.year_month.unique())
    assert len(months) == 23
    for month in months:
        values = (positive.num / positive.den)[positive.year_month == month].to_numpy()
        expected = np.percentile(values, [10, 20, 30, 40, 50, 60, 70, 80, 90])
        got = deciles[deciles.year_month == pd.Timestamp(month)].sort_values("percentile")
        np.testing.assert_allclose(got.value.to_numpy(), expected, rtol=1e-12, atol=1e-15)
        assert (got.trusts == len(values)).all()


def test_engine_values_equal_the_independent_ones(bundled, raw):
    independent = _independent_values(raw, bundled, "abx_iv")
    independent["year_month"] = pd.to_datetime(independent["year_month"])
    merged = bundled.values[bundled.values.measure_id == "abx_iv"].merge(
        independent, on=["trust_code", "year_month"], how="left"
    )
    with_rows = merged[merged.rows > 0]
    np.testing.assert_allclose(with_rows.numerator, with_rows.num, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(with_rows.denominator, with_rows.den, rtol=1e-12, atol=1e-9)
    # Trust-months without rows are the grid's zero-denominator months.
    assert merged.loc[merged.rows == 0, "num"].isna().all()


def test_percent_rank_is_sql_percent_rank(bundled):
    v = bundled.values[(bundled.values.measure_id == "abx_iv") & bundled.values.ranked]
    for _, month in v.groupby("year_month"):
        n = len(month)
        rank = month.value.rank(method="min")
        np.testing.assert_allclose(month.percent_rank, (rank - 1) / (n - 1) * 100, rtol=1e-12)


def test_percentile_positions_read_the_oph_percentiles(bundled):
    # Recompute the 5th-95th percentiles for one month and read RY2's position off them.
    v = bundled.values[(bundled.values.measure_id == "abx_iv") & bundled.values.ranked]
    month = v[v.year_month == pd.Timestamp("2020-01-01")]
    curve = dict(zip(OPH_PERCENTILES, np.percentile(month.value, OPH_PERCENTILES), strict=True))
    ry2 = month[month.trust_code == "RY2"].iloc[0]
    assert ry2.percentile_position == pytest.approx(percentile_position([ry2.value], curve)[0])
    assert 25 < ry2.percentile_position < 35


# --- a tiny constructed example with known ranks -------------------------------------------


def test_potential_and_most_improved_on_known_ranks():
    definitions = [
        make_definition("lower", True),
        make_definition("higher", False),
        make_definition("none", None),
    ]
    results = compute_measures(
        ladder_usage(),
        definitions,
        make_products(["1", "2"]),
        successors={},
        percentiles=(5, 50, 95),
    )
    a = results.values[(results.values.trust_code == "A") & (results.values.measure_id == "lower")]
    np.testing.assert_allclose(a.value, [0.9] * 3 + [0.6] * 6 + [0.2] * 3)
    np.testing.assert_allclose(a.percentile_position, [90] * 3 + [60] * 6 + [20] * 3)
    # 11 trusts: percent rank of the k-th smallest value is k / 10 x 100.
    np.testing.assert_allclose(a.percent_rank, [90] * 3 + [60] * 6 + [20] * 3)
    p = results.percentiles[results.percentiles.measure_id == "lower"]
    np.testing.assert_allclose(p.groupby("percentile").value.first(), [0.05, 0.5, 0.95])

    m = results.improvement.set_index(["measure_id", "trust_code"])
    lower, higher, none = m.loc[("lower", "A")], m.loc[("higher", "A")], m.loc[("none", "A")]
    # Lower is better: the highest position, and first-3 mean minus last-3 mean (90 - 20).
    assert lower.potential_for_improvement == pytest.approx(90)
    assert lower.most_improved == pytest.approx(70)
    # Higher is better: 100 minus the lowest position, and last-3 minus first-3.
    assert higher.potential_for_improvement == pytest.approx(80)
    assert higher.most_improved == pytest.approx(-70)
    assert np.isnan(none.potential_for_improvement) and np.isnan(none.most_improved)
    assert "no value judgement" in none.note
    assert (lower.window_start, lower.window_end) == (
        pd.Timestamp("2023-01-01"),
        pd.Timestamp("2023-12-01"),
    )
    assert lower.months_positioned == 12


def test_improvement_by_hand():
    months = pd.date_range("2022-01-01", periods=14, freq="MS")
    # Only the last 12 months count (Mar 2022 - Feb 2023). Trust B has no position in
    # April 2022 and in the last month: means over the months it has.
    b = [99, 99, 40, None, 50, 55, 60, 65, 70, 75, 80, 30, 20, None]
    c = [50] * 14
    rows = pd.DataFrame(
        {
            "measure_id": "m",
            "trust_code": ["B"] * 14 + ["C"] * 14,
            "year_month": list(months) * 2,
            "percentile_position": [np.nan if x is None else x for x in b] + c,
        }
    )
    out = improvement(rows, {"m": True}).set_index("trust_code")
    # Window Mar 2022 - Feb 2023: B's positions 40, -, 50, 55, 60, 65, 70, 75, 80, 30, 20, -.
    assert out.loc["B", "window_start"] == pd.Timestamp("2022-03-01")
    assert out.loc["B", "months_positioned"] == 10
    assert out.loc["B", "potential_for_improvement"] == 80  # the highest, not 99 (outside)
    assert out.loc["B", "first_months_mean"] == pytest.approx((40 + 50) / 2)
    assert out.loc["B", "last_months_mean"] == pytest.approx((30 + 20) / 2)
    assert out.loc["B", "most_improved"] == pytest.approx(45 - 25)
    assert out.loc["C", "most_improved"] == 0 and out.loc["C", "potential_for_improvement"] == 50


def test_improvement_needs_six_months_and_a_position():
    rows = pd.DataFrame(
        {
            "measure_id": ["short"] * 5 + ["blank"] * 6,
            "trust_code": "A",
            "year_month": list(pd.date_range("2024-01", periods=5, freq="MS"))
            + list(pd.date_range("2024-01", periods=6, freq="MS")),
            "percentile_position": [50.0] * 5 + [np.nan] * 6,
        }
    )
    out = improvement(rows, {"short": True, "blank": False}).set_index("measure_id")
    assert np.isnan(out.loc["short", "potential_for_improvement"])
    assert out.loc["short", "note"] == "fewer than 6 months of data: not ranked"
    assert np.isnan(out.loc["blank", "most_improved"])
    assert "no month" in out.loc["blank", "note"]


def test_percentile_position_follows_oph():
    curve = {5: 0.0, 15: 0.0, 25: 0.0, 35: 0.1, 50: 0.2, 95: 0.5}
    # At or below the lowest value: the lowest percentile with it (5); ties take the lowest.
    # 0.05 lies between 25 (0.0) and 35 (0.1): 25 + 10 x 0.5 = 30.
    got = percentile_position([-1, 0.0, 0.05, 0.1, 0.35, 0.5, 9, np.nan], curve)
    np.testing.assert_allclose(got, [5, 5, 30, 35, 50 + 45 * 0.5, 95, 95, np.nan])
    assert np.isnan(percentile_position([0.1], {})).all()


# --- zero and negative denominators, returns, cost -----------------------------------------


def test_zero_and_negative_denominators_and_returns():
    rows = [
        ("2024-01-01", "X", "1", 5.0),
        ("2024-01-01", "X", "2", 5.0),  # X: 5/10 = 0.5; no rows at all in February
        ("2024-01-01", "Y", "1", 10.0),
        ("2024-01-01", "Y", "2", -10.0),  # Y: issues and returns cancel: denominator 0
        ("2024-02-01", "Y", "1", 3.0),
        ("2024-02-01", "Y", "2", -5.0),  # Y: denominator -2, value -1.5
        ("2024-01-01", "Z", "1", -2.0),
        ("2024-01-01", "Z", "2", 10.0),  # Z: -2/8 = -0.25
        ("2024-02-01", "Z", "1", 6.0),
        ("2024-02-01", "Z", "2", -1.0),  # Z: 6/5 = 1.2
        ("2024-01-01", "W", "2", 4.0),  # W: 0/4 = 0
        ("2024-02-01", "W", "1", 1.0),
        ("2024-02-01", "W", "2", 3.0),  # W: 1/4 = 0.25
    ]
    usage = pd.DataFrame(rows, columns=["year_month", "trust_code", "vmp_code", "quantity"])
    results = compute_measures(
        usage, [make_definition("m", True)], make_products(["1", "2"]), successors={}
    )
    v = results.values.set_index(["trust_code", results.values.year_month.dt.strftime("%Y-%m")])
    assert v.loc[("X", "2024-01"), "value"] == 0.5 and v.loc[("X", "2024-01"), "note"] is None
    no_rows = v.loc[("X", "2024-02")]
    assert np.isnan(no_rows.value) and no_rows.note == NOTES["no_rows"] and not no_rows.ranked
    assert "denominator is zero" in no_rows.note and "no value" in no_rows.note
    cancel = v.loc[("Y", "2024-01")]
    assert cancel.denominator == 0 and np.isnan(cancel.value) and cancel.note == NOTES["zero"]
    negative = v.loc[("Y", "2024-02")]
    assert negative.value == pytest.approx(-1.5) and negative.note == NOTES["negative"]
    assert not negative.ranked and np.isnan(negative.percent_rank)
    assert v.loc[("Z", "2024-01"), "value"] == pytest.approx(-0.25)
    assert (
        v.loc[("Z", "2024-01"), "note"] == NOTES["below_zero"] and v.loc[("Z", "2024-01"), "ranked"]
    )
    assert v.loc[("Z", "2024-02"), "value"] == pytest.approx(1.2)
    assert v.loc[("Z", "2024-02"), "note"] == NOTES["above_one"]
    assert v.loc[("W", "2024-01"), "value"] == 0
    # Percentiles use only the positive denominators: January X 0.5, Z -0.25, W 0;
    # February Z 1.2, W 0.25.
    p = results.percentiles.set_index(
        [results.percentiles.year_month.dt.strftime("%Y-%m"), "percentile"]
    )
    assert p.loc[("2024-01", 50.0), "value"] == pytest.approx(np.percentile([0.5, -0.25, 0], 50))
    assert p.loc[("2024-01", 10.0), "trusts"] == 3
    assert p.loc[("2024-02", 90.0), "value"] == pytest.approx(np.percentile([1.2, 0.25], 90))


def test_cost_measures_and_missing_cost():
    usage = pd.DataFrame(
        {
            "year_month": ["2024-01-01"] * 4,
            "trust_code": ["X", "X", "Y", "Y"],
            "vmp_code": ["1", "2", "1", "2"],
            "quantity": [1.0, 1.0, 1.0, 1.0],
            "cost_gbp": [20.0, 80.0, None, None],
        }
    )
    results = compute_measures(
        usage,
        [make_definition("spend", True, quantity="cost")],
        make_products(["1", "2"]),
        successors={},
    )
    v = results.values.set_index("trust_code")
    assert v.loc["X", "value"] == pytest.approx(0.2)
    assert np.isnan(v.loc["Y", "value"]) and v.loc["Y", "note"] == NOTES["no_cost"]
    with pytest.raises(InputError, match="cost_gbp"):
        compute_measures(
            usage.drop(columns="cost_gbp"),
            [make_definition("spend", True, quantity="cost")],
            make_products(["1", "2"]),
        )


def test_products_without_a_ddd_are_left_out_and_listed():
    products = make_products(["1", "2", "3"])
    products.loc[products.vmp_code == "3", ["ddd_per_unit", "ddd_note"]] = [
        np.nan,
        "no WHO DDD for this product",
    ]
    usage = pd.DataFrame(
        {
            "year_month": ["2024-01-01"] * 3,
            "trust_code": "T",
            "vmp_code": ["1", "2", "3"],
            "quantity": [1.0, 3.0, 50.0],
        }
    )
    definition = make_definition(
        "m", True, quantity="ddd", numerator=("1", "3"), denominator=("1", "2", "3")
    )
    results = compute_measures(usage, [definition], products, successors={})
    assert results.values.iloc[0].value == pytest.approx(
        1 / 4
    )  # product 3's 50 units are not counted
    excluded = results.excluded
    assert excluded[
        ["vmp_code", "in_numerator", "reason", "rows", "quantity"]
    ].to_numpy().tolist() == [["3", True, "no WHO DDD for this product", 1, 50.0]]


# --- a team's own definition, through and errors -------------------------------------------


def test_a_definition_written_to_a_folder_is_computed_without_code_changes(tmp_path):
    (tmp_path / "ceftriaxone_share.yaml").write_text(
        textwrap.dedent(
            """\
            id: ceftriaxone_share
            title: Ceftriaxone among injectable antibacterials
            why_it_matters: An example a team might add.
            numerator:
              name_pattern: "^Ceftriaxone "
            denominator:
              atc_prefix: [J01]
              route: Injectable
            quantity: ddd
            lower_is_better: null
            citation: This test.
            """
        ),
        encoding="utf-8",
    )
    results = compute_measures(definitions=load_definitions([DEFINITIONS_DIR, tmp_path]))
    assert sorted(results.values.measure_id.unique()) == [
        "abx_access",
        "abx_iv",
        "ceftriaxone_share",
    ]
    # RY2, January 2020: ceftriaxone 2g 30 vials = 30 DDDs of 54.285714 injectable DDDs.
    row = _value(results, "ceftriaxone_share", "RY2", pd.Timestamp("2020-01-01"))
    assert row.value == pytest.approx(30 / (50 * 4 / 14 + 20 * 2 / 4 + 30))
    # No value judgement: shown, not ranked for improvement.
    metrics = results.improvement[results.improvement.measure_id == "ceftriaxone_share"]
    assert metrics.potential_for_improvement.isna().all()


def test_through_ends_the_data_and_the_window():
    results = compute_measures(through="2020-06", percentiles=(50,))
    assert results.values.year_month.max() == pd.Timestamp("2020-06-01")
    assert set(results.improvement.window_end) == {pd.Timestamp("2020-06-01")}
    assert set(results.improvement.window_start) == {pd.Timestamp("2019-07-01")}
    assert results.percentiles.percentile.unique().tolist() == [50.0]


def test_a_measure_covers_the_months_of_its_own_products():
    # Product 1 (measure "short") has rows Jan-Jun 2023; product 2 (measure "long") Jan-Dec,
    # as a store of several extracts does. Trust B uses product 1 in Jan and Mar only.
    months = pd.date_range("2023-01-01", periods=12, freq="MS")
    rows = [(m, "A", "2", 10.0) for m in months]
    rows += [(m, "A", "1", 5.0) for m in months[:6]]
    rows += [(months[0], "B", "1", 2.0), (months[2], "B", "1", 4.0)]
    usage = pd.DataFrame(rows, columns=["year_month", "trust_code", "vmp_code", "quantity"])
    definitions = [
        make_definition("short", True, numerator=("1",), denominator=("1",)),
        make_definition("long", True, numerator=("2",), denominator=("2",)),
    ]
    results = compute_measures(usage, definitions, make_products(["1", "2"]), successors={})
    short = results.values[results.values.measure_id == "short"]
    # Both trusts get every month of the measure's own span, and no month after it.
    assert sorted(short.year_month.unique()) == list(months[:6])
    b = short[short.trust_code == "B"].set_index("year_month")
    assert b.denominator.tolist() == [2.0, 0.0, 4.0, 0.0, 0.0, 0.0]
    assert b.note.iloc[1] == NOTES["no_rows"]
    assert len(results.values[results.values.measure_id == "long"]) == 12
    window = results.improvement.set_index(["measure_id", "trust_code"])
    assert window.loc[("short", "A"), "window_end"] == pd.Timestamp("2023-06-01")
    assert window.loc[("long", "A"), "window_end"] == pd.Timestamp("2023-12-01")


def test_bad_percentiles():
    with pytest.raises(InputError, match="between 0 and 100"):
        compute_measures(percentiles=(0.1, 150))


def test_usage_missing_columns():
    with pytest.raises(InputError, match="quantity"):
        compute_measures(pd.DataFrame({"year_month": [], "trust_code": [], "vmp_code": []}))


def test_shape_of_the_bundled_results(bundled):
    assert list(bundled.values.columns) == [
        "measure_id",
        "trust_code",
        "year_month",
        "numerator",
        "denominator",
        "value",
        "note",
        "ranked",
        "percent_rank",
        "rows",
        "percentile_position",
    ]
    # Every trust with any of a measure's products has a row for each of the 23 months.
    counts = bundled.values.groupby(["measure_id", "trust_code"]).size()
    assert (counts == 23).all()
    assert bundled.excluded[bundled.excluded.measure_id == "abx_iv"].vmp_name.tolist() == [
        "Azithromycin 500mg powder for solution for infusion vials"
    ]


@pytest.mark.spark
def test_spark_gives_the_same_results(bundled):
    spark = compute_measures(backend="pyspark")
    keys = ["measure_id", "trust_code", "year_month"]
    a = bundled.values.sort_values(keys).reset_index(drop=True)
    b = spark.values.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[keys], b[keys])
    for column in ("numerator", "denominator", "value", "percent_rank", "percentile_position"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-12, atol=1e-12)
    order = ["measure_id", "year_month", "percentile"]
    np.testing.assert_allclose(
        bundled.percentiles.sort_values(order).value,
        spark.percentiles.sort_values(order).value,
        rtol=1e-12,
    )
