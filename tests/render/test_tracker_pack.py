"""The rendered NENC front page: every trust's figures are its own report's, the total their sum."""

from __future__ import annotations

import pandas as pd
import pytest
from render_fixtures import write_parameter_set

from medlib.context import resolve_context
from medlib.polypharmacy.report import build as build_audit
from medlib.render.runner import render_pack
from medlib.render.tracker import SYSTEM_CODE
from medlib.spend.report import build as build_spend
from medlib.switch.report import build as build_switch

TRUSTS = ["RTD", "RR7", "RX4"]


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nenc")
    params = write_parameter_set(
        folder / "nenc3.yaml",
        name="nenc3",
        title="Three NENC trusts",
        trusts=TRUSTS,
        notebooks=["spend_trends", "switch_uptake", "polypharmacy_audit"],
        timeout_seconds=600,
    )
    out = folder / "out"
    result = render_pack(params, output_dir=out, jobs=2, progress=False)
    assert result.failed == []
    return out


@pytest.mark.notebook
def test_the_front_page_figures_are_each_trusts_own(pack):
    tracker = pd.read_csv(pack / "tracker.csv", dtype={"trust_code": str})
    rows = tracker.set_index("trust_code")
    assert list(rows.index) == [*TRUSTS, SYSTEM_CODE]
    for trust in TRUSTS:
        context = resolve_context(trust, "2024-03")
        spend = build_spend(context)
        ranks = spend.percentile_ranks().iloc[0]
        assert rows.loc[trust, "spend_fytd_gbp"] == pytest.approx(ranks["fytd"], abs=0.005)
        assert rows.loc[trust, "spend_same_months_last_year_gbp"] == pytest.approx(
            ranks["same_period_last_year"], abs=0.005
        )
        chosen = spend.forecasts[spend.forecasts["chosen"].astype(bool)].iloc[-1]
        assert rows.loc[trust, "forecast_outturn_gbp"] == pytest.approx(
            chosen["forecast"], abs=0.005
        )
        switch = build_switch(
            context,
            [
                "adalimumab",
                "etanercept",
                "infliximab",
                "rituximab",
                "trastuzumab",
                "ustekinumab",
                "ranibizumab",
            ],
        )
        statuses = pd.concat(
            [switch.headline()["new_status"], switch.headline()["existing_status"]]
        )
        assert rows.loc[trust, "switch_targets_met"] == (statuses == "met").sum()
        assert rows.loc[trust, "switch_targets_not_met"] == (statuses == "not met").sum()
        audit = build_audit(context).tables()["poly_pincer"]
        gi = audit[audit["indicator"].astype(str).str.startswith("GI bleed composite")].iloc[0]
        assert str(rows.loc[trust, "pincer_gi_bleed_pct"]) == str(gi["percent"])
        assert rows.loc[trust, "pincer_gi_bleed_position"] == gi["funnel_position"]
    total = rows.loc[SYSTEM_CODE]
    # RTD 1,328.44 + RR7 399.08 + RX4 6,670.29 (each checked against the raw extract).
    assert total["spend_fytd_gbp"] == pytest.approx(rows.loc[TRUSTS, "spend_fytd_gbp"].sum())
    assert total["spend_fytd_gbp"] == pytest.approx(1328.44 + 399.08 + 6670.29)


@pytest.mark.notebook
def test_the_index_opens_with_the_front_page_and_the_workbook_has_it(pack):
    page = (pack / "index.html").read_text(encoding="utf-8")
    assert page.index("The system at a glance") < page.index("<h2>Reports</h2>")
    assert '<a href="RTD/spend_trends.html#Headline">£1,328</a>' in page
    assert "synthetic data" in page
    sheets = pd.read_excel(pack / "tracker.xlsx", sheet_name=None)
    assert {"tracker", "tracker_switches"} <= set(sheets)
