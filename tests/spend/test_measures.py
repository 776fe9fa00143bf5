from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from medlib.errors import InputError
from medlib.io.datasets import load_dataset
from medlib.paths import DATA_DIR
from medlib.spend import measures


def _monthly(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year_month": pd.to_datetime([r[0] for r in rows]),
            "trust_code": [r[1] for r in rows],
            "cost_gbp": [r[2] for r in rows],
        }
    )


def _two_years() -> pd.DataFrame:
    # Trust A: 2022/23 every month 10.00 (120.00); 2023/24 Apr-Jun 12.00, 13.00, 14.00.
    # Trust B: 2022/23 only Apr 5.00 (other months no rows = 0); 2023/24 Apr 0.00 recorded.
    rows = [(f"{m:%Y-%m}-01", "A", 10.0) for m in pd.date_range("2022-04", "2023-03", freq="MS")]
    rows += [("2023-04-01", "A", 12.0), ("2023-05-01", "A", 13.0), ("2023-06-01", "A", 14.0)]
    rows += [("2022-04-01", "B", 5.0), ("2023-04-01", "B", 0.0)]
    return _monthly(rows)


def test_totals_by_financial_year_hand_worked():
    out = measures.totals_by_financial_year(_two_years(), period_end="2023-06")
    a = out[out["trust_code"] == "A"].set_index("financial_year")
    # 2022/23 is complete: 120; no 2021/22 -> no comparison
    assert a.loc["2022/23", "cost_gbp"] == 120 and a.loc["2022/23", "months"] == 12
    assert np.isnan(a.loc["2022/23", "yoy_change"])
    # 2023/24 to June (3 months): 39 vs Apr-Jun 2022 = 30 -> +9, +30%
    assert a.loc["2023/24", "cost_gbp"] == 39 and a.loc["2023/24", "months"] == 3
    assert a.loc["2023/24", "previous"] == 30
    assert a.loc["2023/24", "yoy_change"] == 9
    assert a.loc["2023/24", "yoy_change_pct"] == pytest.approx(30)
    b = out[out["trust_code"] == "B"].set_index("financial_year")
    # B: 0 this year vs 5 -> -5, -100%
    assert b.loc["2023/24", "yoy_change"] == -5 and b.loc["2023/24", "yoy_change_pct"] == -100


def test_period_end_cuts_the_data():
    out = measures.totals_by_financial_year(_two_years(), period_end="2023-04")
    a = out[(out["trust_code"] == "A") & (out["financial_year"] == "2023/24")].iloc[0]
    assert a["cost_gbp"] == 12 and a["previous"] == 10 and a["months"] == 1


def test_partial_first_year_is_left_out():
    # Data starting in January 2023 (month 10 of 2022/23): 2022/23 would be partial -> dropped,
    # and 2023/24 therefore has no comparison.
    df = _monthly([("2023-01-01", "A", 1.0), ("2023-04-01", "A", 2.0)])
    out = measures.totals_by_financial_year(df)
    assert out["financial_year"].tolist() == ["2023/24"]
    assert np.isnan(out.loc[0, "previous"])
    # if the source is known to start in April 2022, the January row makes 2022/23 a real year
    out = measures.totals_by_financial_year(df, data_start="2022-04")
    assert out["financial_year"].tolist() == ["2022/23", "2023/24"]


def test_missing_costs_stay_missing():
    df = _monthly([("2023-04-01", "A", np.nan), ("2023-05-01", "A", np.nan)])
    out = measures.spend_by_financial_year(df)
    assert out["cost_gbp"].isna().all()
    assert list(out.columns) == measures.SPEND_BY_FY_COLUMNS


def test_spend_by_financial_year_rounds_and_differences_rounded_totals():
    # 0.005 + 0.004 = 0.009 -> 0.01 rounded; previous year 0.004 -> 0.00 (pennies)
    df = _monthly(
        [("2022-04-01", "A", 0.004), ("2023-04-01", "A", 0.005), ("2023-05-01", "A", 0.004)]
    )
    out = measures.spend_by_financial_year(df).set_index("financial_year")
    assert out.loc["2023/24", "cost_gbp"] == 0.01
    assert out.loc["2023/24", "yoy_change_gbp"] == 0.01  # 0.01 - 0.00, not 0.009 - 0.004
    assert np.isnan(out.loc["2023/24", "yoy_change_pct"])  # previous rounds to 0


def test_fytd_comparison():
    out = measures.fytd_comparison(_two_years(), "2023-05").set_index("trust_code")
    # A: Apr-May 2023 = 25 vs 20; B: 0 vs 5
    assert out.loc["A", "fytd"] == 25 and out.loc["A", "same_period_last_year"] == 20
    assert out.loc["A", "change_pct"] == pytest.approx(25)
    assert out.loc["B", "change"] == -5


def test_rolling_12_months():
    out = measures.rolling_12_months(_two_years())
    a = out[out["trust_code"] == "A"].set_index("year_month")["rolling_12m"]
    # Mar 2023: twelve 10s = 120; Jun 2023: 9 * 10 + 12 + 13 + 14 = 129; first 11 months NaN
    assert a[pd.Timestamp("2023-03-01")] == 120
    assert a[pd.Timestamp("2023-06-01")] == 129
    assert a.iloc[:11].isna().all()
    b = out[out["trust_code"] == "B"]
    # B's span Apr 2022 - Apr 2023 has 11 months with no rows, counted as 0 -> Apr 2023: 0
    assert len(b) == 13 and b["rolling_12m"].iloc[-1] == 0


def test_totals_by_group():
    df = pd.DataFrame(
        {
            "year_month": pd.to_datetime(["2022-04-01", "2022-04-01", "2023-04-01", "2023-04-01"]),
            "vtm_name": ["X", "Y", "X", "Z"],
            "cost_gbp": [10.0, 5.0, 15.0, 5.0],
        }
    )
    out = measures.totals_by_group(df, "vtm_name", "2023-04").set_index("vtm_name")
    # X 15 vs 10 (+50%); Z new 5 vs 0; Y stopped 0 vs 5; shares of 20: 75%, 25%, 0%
    assert out.loc["X", "change_pct"] == pytest.approx(50)
    assert out.loc["Z", "same_period_last_year"] == 0 and np.isnan(out.loc["Z", "change_pct"])
    assert out.loc["Y", "fytd"] == 0 and out.loc["Y", "change"] == -5
    assert out["share_pct"].tolist() == pytest.approx([75, 25, 0])
    # a source starting in 2023 has no last year at all: missing, not zero
    late = measures.totals_by_group(df, "vtm_name", "2023-04", data_start="2023-04")
    assert late["same_period_last_year"].isna().all()


def test_entity_monthly_sums_trusts_and_keeps_missing_cost_missing():
    df = _monthly([("2023-04-01", "A", 1.0), ("2023-04-01", "B", 2.0), ("2023-05-01", "B", np.nan)])
    df["quantity"] = [1.0, 2.0, 3.0]
    out = measures.entity_monthly(df, measures.Entity("AB", ("A", "B"), True))
    assert out["trust_code"].tolist() == ["AB", "AB"]
    assert out["cost_gbp"].iloc[0] == 3 and np.isnan(out["cost_gbp"].iloc[1])
    assert out["quantity"].tolist() == [3.0, 3.0]


def _products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "vmp_code": ["1", "2", "3"],
            "vtm_name": ["Lithium carbonate", "Lithium carbonate", "Adalimumab"],
            "bnf_code": ["04020300", None, "10010300"],
            "ddd_per_unit": [0.5, np.nan, 2.0],
            "high_cost": [False, False, True],
        }
    )


def _usage() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year_month": pd.to_datetime(["2023-04-01"] * 4),
            "trust_code": ["A"] * 4,
            "vmp_code": ["1", "2", "3", "9"],
            "quantity": [10.0, 4.0, 3.0, 1.0],
            "cost_gbp": [1.0, 2.0, 300.0, np.nan],
        }
    )


def test_with_product_attributes_fills_bnf_from_molecule_and_computes_ddds():
    out = measures.with_product_attributes(_usage(), _products()).set_index("vmp_code")
    # product 2 has no BNF code: it takes lithium carbonate's 04020300 -> section 0402
    assert out.loc["2", "bnf_section"] == "0402" and out.loc["2", "bnf_chapter"] == "04"
    assert out.loc["1", "bnf_chapter_name"] == "Central nervous system"
    assert out.loc["1", "ddds"] == 5.0  # 10 tablets * 0.5 DDD per tablet
    assert np.isnan(out.loc["2", "ddds"])  # no DDD for the product: missing, not 0
    assert out.loc["3", "high_cost"] and not out.loc["1", "high_cost"]
    assert out.loc["9", "vtm_name"] == measures.UNKNOWN and not out.loc["9", "high_cost"]


def test_aggregate_monthly_through_the_engine():
    usage = measures.with_product_attributes(_usage(), _products())
    out = measures.aggregate_monthly(usage, by=("trust_code", "high_cost"))
    # high-cost row: 300; in-tariff: 1 + 2 + missing = 3 with one row lacking a cost
    t = out.set_index("high_cost")
    assert t.loc[True, "cost_gbp"] == 300
    assert t.loc[False, "cost_gbp"] == 3 and t.loc[False, "rows_without_cost"] == 1
    assert t.loc[False, "ddds"] == 5.0 and t.loc[False, "quantity"] == 15.0


def test_data_quality():
    usage = measures.with_product_attributes(_usage(), _products())
    usage.loc[0, "quantity"] = -2.0
    counts = measures.quality_counts(usage)
    out = measures.data_quality(counts, "2023-03", "2023-05").set_index("check")["value"]
    # March and May have no rows; one row of four lacks a cost; one negative quantity
    assert out["Months with no data"] == 2 and out["Months expected"] == 3
    assert out["Rows without a cost"] == 1
    assert out["Rows with a negative quantity"] == 1
    assert out["Rows for products not in the product reference"] == 1


def test_bad_input():
    with pytest.raises(InputError, match="missing column"):
        measures.totals_by_financial_year(pd.DataFrame({"year_month": []}))
    with pytest.raises(InputError, match="period_end"):
        measures.totals_by_financial_year(_two_years(), period_end="June")


# --- real data: exact to the penny ---------------------------------------------------------


def _independent_fy_totals() -> dict[tuple[str, str], Decimal]:
    """FY totals straight from the bundled Parquet file: pyarrow, text and Decimal arithmetic.

    The bundled file keeps the published SCMD text values, so this path shares no code with
    medlib's reader, the engine or pandas.
    """
    rows = pq.read_table(
        DATA_DIR / "scmd_lithium.parquet", columns=["year_month", "indicative_cost", "ods_code"]
    ).to_pylist()
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        cost = (row["indicative_cost"] or "").strip()
        if not cost:
            continue
        year, month = int(row["year_month"][:4]), int(row["year_month"][5:7])
        start = year if month >= 4 else year - 1
        totals[(row["ods_code"], f"{start}/{(start + 1) % 100:02d}")] += Decimal(cost)
    return totals


@pytest.fixture(scope="module")
def lithium_fy() -> pd.DataFrame:
    usage = load_dataset("scmd_lithium")
    monthly = measures.aggregate_monthly(usage)
    return measures.spend_by_financial_year(monthly)


def test_fy_totals_exact_to_the_penny_for_every_trust(lithium_fy):
    expected = _independent_fy_totals()
    got = {
        (r.trust_code, r.financial_year): Decimal(f"{r.cost_gbp:.2f}")
        for r in lithium_fy.itertuples()
        if pd.notna(r.cost_gbp)
    }
    want = {k: v.quantize(Decimal("0.01")) for k, v in expected.items()}
    assert got == want


@pytest.mark.parametrize(
    ("trust", "year", "total", "change"),
    [
        # Summed by hand-run script (csv + Decimal) over the published SCMD lithium CSV:
        # RTD 2022/23 470.63, 2023/24 1328.44 -> +857.81 (+182.3%)
        ("RTD", "2023/24", "1328.44", "857.81"),
        ("RTD", "2019/20", "261.72", None),
        # RX4 2021/22 5838.56 -> 2022/23 8335.14: +2496.58
        ("RX4", "2022/23", "8335.14", "2496.58"),
        # RR7 2022/23 204.30 -> 2023/24 399.08: +194.78
        ("RR7", "2023/24", "399.08", "194.78"),
    ],
)
def test_hand_checked_trusts(lithium_fy, trust, year, total, change):
    row = lithium_fy[(lithium_fy["trust_code"] == trust) & (lithium_fy["financial_year"] == year)]
    assert len(row) == 1
    row = row.iloc[0]
    assert f"{row['cost_gbp']:.2f}" == total
    if change is None:
        assert pd.isna(row["yoy_change_gbp"])
    else:
        assert f"{row['yoy_change_gbp']:.2f}" == change


def test_rtd_yoy_percentage(lithium_fy):
    row = lithium_fy[
        (lithium_fy["trust_code"] == "RTD") & (lithium_fy["financial_year"] == "2023/24")
    ]
    # 857.81 / 470.63 * 100 = 182.27 -> 182.3
    assert row["yoy_change_pct"].iloc[0] == 182.3


@pytest.mark.spark
def test_aggregate_monthly_same_on_spark_and_duckdb():
    usage = pd.DataFrame(
        {
            "year_month": pd.to_datetime(["2023-04-01"] * 3 + ["2023-05-01"]),
            "trust_code": ["A", "A", "B", "A"],
            "vmp_code": ["1", "2", "1", "1"],
            "quantity": [1.0, 2.0, 3.0, 4.0],
            "cost_gbp": [1.5, np.nan, 2.0, np.nan],
        }
    )
    duck = measures.aggregate_monthly(usage, backend="duckdb")
    spark = measures.aggregate_monthly(usage, backend="pyspark")
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False)
    # A in April: 1.5 known + one row without cost; May: no cost at all -> missing, not 0
    assert duck["rows_without_cost"].tolist() == [1, 0, 1]
    assert np.isnan(duck["cost_gbp"].iloc[2])


# --- the store, read in the engine ---------------------------------------------------------


def _small_store(tmp_path):
    from medlib.io.store import Store, ingest

    path = tmp_path / "extract.csv"
    path.write_text(
        "year_month,ods_code,vmp_snomed_code,vmp_product_name,total_quantity\n"
        # RLN merged into R0B: its rows count as R0B's. 99999999999 is not in dm+d.
        "2023-04,RTD,36040211000001104,Lithium carbonate 450mg MR tablets,10\n"
        "2023-04,RLN,36040211000001104,Lithium carbonate 450mg MR tablets,4\n"
        "2023-04,R0B,36040211000001104,Lithium carbonate 450mg MR tablets,1\n"
        "2023-05,RTD,99999999999,Unknown product,-2\n",
        encoding="utf-8",
    )
    ingest([path], tmp_path / "store")
    return Store(tmp_path / "store")


def test_store_usage_maps_successors_and_joins_products_in_the_engine(tmp_path):
    from medlib import engine
    from medlib.io.datasets import load_dataset
    from medlib.reference.trusts import successor_map

    store = _small_store(tmp_path)
    con = engine.connect("duckdb")
    table = measures.store_usage(
        con, store.usage_glob(), load_dataset("products"), successor_map(), sources=["extract"]
    )
    detail = measures.monthly_detail(table, ["trust_code", "vtm_name"])
    assert detail[["trust_code", "vtm_name", "quantity", "rows"]].values.tolist() == [
        ["R0B", "Lithium carbonate", 5.0, 2],
        ["RTD", "Lithium carbonate", 10.0, 1],
        ["RTD", measures.UNKNOWN, -2.0, 1],
    ]
    assert detail["cost_gbp"].isna().all()  # the extract has no cost: missing, not zero
    counts = measures.rows_frame(measures.quality_counts_expr(table))
    may = counts[counts["year_month"] == pd.Timestamp("2023-05-01")].iloc[0]
    assert (may["rows_negative"], may["rows_unknown_product"]) == (1, 1)
    none = measures.store_usage(
        con, store.usage_glob(), load_dataset("products"), successor_map(), sources=["other"]
    )
    assert measures.monthly_detail(none, ["trust_code"]).empty


@pytest.mark.spark
def test_store_aggregation_same_on_spark_and_duckdb():
    from medlib import engine
    from medlib.io.datasets import bundled_store, load_dataset
    from medlib.reference.trusts import successor_map

    store = bundled_store()
    products = load_dataset("products")
    by = ["trust_code", "vtm_name", "bnf_section", "high_cost"]
    results = []
    for backend in ("duckdb", "pyspark"):
        con = engine.connect(backend)
        table = measures.store_usage(
            con, store.usage_glob(), products, successor_map(), sources=["scmd_lithium"]
        )
        results.append(measures.monthly_detail(table, by))
    duck, spark = results
    assert len(duck) > 1000
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False, rtol=1e-9)
