"""A team's own data end to end: published monthly files -> medlib ingest -> a rendered pack."""

from __future__ import annotations

import pandas as pd
import pytest
from render_fixtures import write_parameter_set

from medlib.context import resolve_context
from medlib.io.datasets import load_dataset
from medlib.io.store import ingest
from medlib.io.usage import SCMD_PUBLISHED_HEADER
from medlib.render.runner import render_pack
from medlib.spend.report import build

TRUSTS = ["RTD", "RR7", "RTF", "RXP", "RTR"]
HEADER = ",".join(SCMD_PUBLISHED_HEADER)


def _published_months(folder, first="2022-04", last="2024-03"):
    """The bundled lithium rows of five trusts, written out as published monthly files."""
    usage = load_dataset("scmd_lithium")
    usage = usage[usage["trust_code"].isin(TRUSTS)]
    files = []
    for month in pd.period_range(first, last, freq="M"):
        rows = usage[usage["year_month"] == month.to_timestamp()]
        lines = [HEADER] + [
            f'{month:%Y%m},{r.trust_code},{r.vmp_code},"{r.vmp_name}",1,{r.unit},'
            f"{r.quantity!r},{'' if pd.isna(r.cost_gbp) else repr(r.cost_gbp)}"
            for r in rows.itertuples()
        ]
        path = folder / f"scmd_final_{month:%Y%m}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


@pytest.mark.notebook
def test_a_pack_renders_from_a_store_of_published_monthly_files(tmp_path):
    results = ingest(_published_months(tmp_path), tmp_path / "packs" / "store")
    assert all(r.summary.rows_quarantined == 0 for r in results) and len(results) == 24
    params = write_parameter_set(
        tmp_path / "packs" / "own.yaml",
        name="own",
        trusts=["RTD"],
        notebooks=["spend_trends"],
        data={"store": "store"},
        timeout_seconds=600,
    )
    out = tmp_path / "own"
    result = render_pack(params, output_dir=out, jobs=1, progress=False)
    assert result.ok, [(r.trust_code, r.notebook, r.error) for r in result.failed]
    own = pd.read_csv(out / "RTD" / "tables" / "spend_by_financial_year.csv")
    # The same two financial years from the bundled extract, to the penny.
    context = resolve_context("RTD", "2024-03", data_source="scmd_lithium")
    bundled = build(context).spend_by_financial_year()
    bundled = bundled[bundled["financial_year"].isin(["2022/23", "2023/24"])]
    assert own["financial_year"].tolist() == ["2022/23", "2023/24"]
    assert own["cost_gbp"].round(2).tolist() == bundled["cost_gbp"].round(2).tolist()
    assert own["yoy_change_gbp"].round(2).tolist()[1] == round(
        bundled["cost_gbp"].iloc[1] - bundled["cost_gbp"].iloc[0], 2
    )
    # RTD's lithium spend, checked to the penny against the raw CSV in test_measures.py:
    # 2022/23 470.63, 2023/24 1,328.44, a change of 857.81.
    assert own["cost_gbp"].round(2).tolist() == [470.63, 1328.44]
    assert round(own["yoy_change_gbp"].iloc[1], 2) == 857.81


@pytest.mark.notebook
def test_switch_report_renders_from_the_stores_activity_and_resume_follows_the_store(tmp_path):
    from medlib.switch.definitions import load_switch_definitions, select_switches
    from medlib.synthetic.hcd_activity import generate_hcd_activity

    store = tmp_path / "packs" / "store"
    ingest(_published_months(tmp_path, "2023-04", "2024-02"), store)
    # A team's brand-level extract: generated rows written out as a file, then ingested
    # like any other; the report must read them from the store, not make its own sample.
    [adalimumab] = select_switches(load_switch_definitions(), ["adalimumab"], "2025")
    volumes = pd.DataFrame(
        [("RTD", "adalimumab", 40), ("RR7", "adalimumab", 30)],
        columns=["trust_code", "molecule", "patients"],
    )
    rows = generate_hcd_activity([adalimumab], ["RTD", "RR7"], 7, volumes=volumes).activity
    rows = rows[rows["activity_date"] <= "2024-03-31"].assign(
        activity_date=lambda f: f["activity_date"].dt.strftime("%Y-%m-%d")
    )
    extract = tmp_path / "hcd_extract.csv"
    rows.to_csv(extract, index=False)
    [loaded] = ingest([extract], store, table="hcd_activity")
    assert loaded.summary.rows_quarantined == 0
    params = write_parameter_set(
        tmp_path / "packs" / "own.yaml",
        name="own",
        trusts=["RTD"],
        notebooks=["switch_uptake"],
        period_end="2024-02",
        parameters={"switches": ["adalimumab"]},
        data={"store": "store"},
        timeout_seconds=600,
    )
    out = tmp_path / "own"
    result = render_pack(params, output_dir=out, jobs=1, progress=False)
    assert result.ok, [(r.trust_code, r.notebook, r.error) for r in result.failed]
    page = (out / "RTD" / "switch_uptake.html").read_text(encoding="utf-8")
    assert "from the data store" in page and "Trusts compared" in page
    league = pd.read_csv(out / "RTD" / "tables" / "switch_league.csv")
    assert sorted(league["trust_code"]) == ["RR7", "RTD"]
    # Nothing changed: --resume skips the report. A new month in the store: it is re-rendered.
    again = render_pack(params, output_dir=out, jobs=1, progress=False, resume=True)
    assert [r.status for r in again.reports] == ["skipped"]
    ingest(_published_months(tmp_path, "2024-03", "2024-03"), store)
    after = render_pack(params, output_dir=out, jobs=1, progress=False, resume=True)
    assert [r.status for r in after.reports] == ["ok"]
