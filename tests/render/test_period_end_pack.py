"""A pack's period end reaches every report: nothing a lead sees is dated after it."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from render_fixtures import write_parameter_set

from medlib.render.runner import render_pack

END = pd.Timestamp("2023-12-01")
LAST_DAY = pd.Timestamp("2023-12-31")


def _months(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column].astype(str).str[:7], format="%Y-%m")


@pytest.mark.notebook
def test_a_pack_to_december_2023_shows_nothing_after_it(tmp_path):
    params = write_parameter_set(
        tmp_path / "to_dec.yaml",
        name="to_dec",
        period_end="2023-12",
        trusts=["RTD"],
        notebooks=["switch_uptake", "polypharmacy_audit"],
        timeout_seconds=600,
    )
    out = tmp_path / "to_dec"
    result = render_pack(params, output_dir=out, jobs=2, progress=False)
    assert result.ok, [(r.trust_code, r.notebook, r.error) for r in result.failed]
    tables = out / "RTD" / "tables"

    # Switches: ustekinumab's best-value launch (September 2024) is after the period end.
    headline = pd.read_csv(tables / "switch_headline.csv")
    assert "ustekinumab" not in set(headline["molecule"])
    assert (pd.to_datetime(headline["launch_date"]) <= LAST_DAY).all()
    monthly = pd.read_csv(tables / "switch_uptake_monthly.csv")
    assert _months(monthly, "year_month").max() <= END
    savings = pd.read_csv(tables / "switch_savings.csv")
    assert (_months(savings, "data_end") <= END).all()
    proxy = pd.read_csv(tables / "switch_vmp_proxy.csv")
    assert _months(proxy, "year_month").max() <= END
    doac = pd.read_csv(tables / "switch_doac_curve.csv")
    assert _months(doac, "year_month").max() <= END
    # Forecasts run to the financial year end, but nothing after the period end is realised.
    forecast = pd.read_csv(tables / "switch_forecast_monthly.csv")
    later = forecast[_months(forecast, "year_month") > END]
    assert later["realised_saving_gbp"].isna().all()
    assert later["realised_best_value_share"].isna().all()
    page = (out / "RTD" / "switch_uptake.html").read_text(encoding="utf-8")
    assert "Ustekinumab is left out" in page and "December 2023" in page

    # Polypharmacy: the census date is the last day of the period end.
    audit = (out / "RTD" / "polypharmacy_audit.html").read_text(encoding="utf-8")
    assert "Census date 2023-12-31" in audit
    assert "2024-03-31" not in audit

    # No Python call reaches a lead's page (the analyst notes point to the documentation).
    for text in (page, audit):
        assert not re.search(r"\b\w+\.\w+\([^)]*\)", re.sub(r"<[^>]+>", " ", text))
