import numpy as np
import pandas as pd
import pytest

from medlib import engine
from medlib.io.datasets import load_dataset


def tiny_usage():
    return pd.DataFrame(
        {
            "year_month": pd.to_datetime(["2023-04-01"] * 3 + ["2023-05-01"]),
            "trust_code": ["AAA", "AAA", "BBB", "BBB"],
            "vmp_code": ["1000001", "1000002", "1000001", "1000001"],
            "vmp_name": ["x", "y", "x", "x"],
            "unit": ["tablet"] * 4,
            "quantity": [10.0, -2.0, 5.0, 7.0],
            "cost_gbp": [1.25, np.nan, np.nan, 3.0],
            "source": ["t"] * 4,
        }
    )


def test_monthly_usage_by_hand():
    con = engine.connect("duckdb")
    out = engine.to_pandas(engine.monthly_usage(engine.register(con, "u", tiny_usage())))
    assert out["trust_code"].tolist() == ["AAA", "BBB", "BBB"]
    assert out["quantity"].tolist() == [8.0, 5.0, 7.0]  # 10 + (-2); 5; 7
    # AAA April: 1.25 + missing = 1.25 with one row lacking cost; BBB April: all missing -> null
    assert out["cost_gbp"].iloc[0] == 1.25
    assert np.isnan(out["cost_gbp"].iloc[1])
    assert out["cost_gbp"].iloc[2] == 3.0
    assert out["rows_without_cost"].tolist() == [1, 1, 0]


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(engine.BackendError, match="backend must be one of duckdb, pyspark"):
        engine.connect("postgres")


@pytest.mark.spark
def test_duckdb_and_spark_give_identical_monthly_totals():
    usage = load_dataset("scmd_lithium")
    results = {}
    for backend in ("duckdb", "pyspark"):
        con = engine.connect(backend)
        table = engine.register(con, "usage", usage)
        out = engine.to_pandas(engine.monthly_usage(table))
        out["year_month"] = out["year_month"].astype("datetime64[ns]")
        results[backend] = out
    duck, spark = results["duckdb"], results["pyspark"]
    assert len(duck) == len(spark) > 10000
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False, check_exact=False, rtol=1e-12)
    # nulls in the same places: groups whose rows all lack a cost
    assert duck["cost_gbp"].isna().tolist() == spark["cost_gbp"].isna().tolist()
