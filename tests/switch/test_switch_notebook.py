"""The switch-uptake notebook: thin and clean as committed; executed through papermill for a
trust other than the default, it publishes its tables and passes the publication guard."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest

from medlib.paths import NOTEBOOKS_DIR
from medlib.render.guard import check_report

NOTEBOOK = NOTEBOOKS_DIR / "switch_uptake.ipynb"
TABLES = {
    "switch_headline",
    "switch_uptake_monthly",
    "switch_league",
    "switch_savings",
    "switch_forecast_monthly",
    "switch_vmp_proxy",
    "switch_doac_curve",
}


def test_committed_notebook_is_thin_and_clean():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    params = dict(re.findall(r"^(\w+): \w+ = (.+?)  #", code[0].source, flags=re.M))
    assert set(params) == {
        "trust_code",
        "period_end",
        "switches",
        "target_profile",
        "seed",
        "store",
        "tables_dir",
    }
    assert params["trust_code"] == '"RTD"' and params["tables_dir"] == '""'
    assert params["store"] == '""'
    for cell in code:
        assert not cell.outputs and cell.execution_count is None
        assert not re.search(r"^\s*(def|class) |sys\.path|\.\./|open\(", cell.source, flags=re.M)
    prose = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "synthetic" in prose.lower()


@pytest.mark.notebook
def test_papermill_for_another_trust_publishes_clean_tables(tmp_path):
    import papermill as pm

    tables = tmp_path / "tables"
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={
            "trust_code": "RR7",
            "period_end": "2025-03",
            "switches": ["adalimumab", "ustekinumab"],
            "target_profile": "2017",
            "tables_dir": str(tables),
        },
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    written = {p.stem for p in tables.glob("*.csv")}
    assert written == TABLES
    executed = nbformat.read(out, as_version=4)
    assert check_report(executed, tables) == []
    headline = pd.read_csv(tables / "switch_headline.csv")
    assert headline["molecule"].tolist() == ["adalimumab", "ustekinumab"]
    assert set(headline["target_profile"].astype(str)) == {"2017"}
    league = pd.read_csv(tables / "switch_league.csv", keep_default_na=False)
    assert (league["this_trust"] == "this trust").sum() == 2
    assert set(league.loc[league["this_trust"] == "this trust", "trust_code"]) == {"RR7"}
    text = " ".join(
        str(o.get("data", {}).get("text/markdown", ""))
        for c in executed.cells
        for o in c.get("outputs", [])
    )
    assert "Gateshead" in text and "SYNTHETIC DATA" in text


def test_prose_forecast_assumptions_are_the_shipped_price_defaults():
    import yaml

    from medlib.paths import PARAMETERS_DIR

    defaults = yaml.safe_load((PARAMETERS_DIR / "switch_definitions.yaml").read_text())[
        "price_defaults"
    ]
    biosimilar, generic = defaults["biosimilar"], defaults["generic"]
    nb = nbformat.read(NOTEBOOK, as_version=4)
    prose = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    # The sentence the notebook states, with the numbers taken from the definitions file.
    assert (
        f"biosimilar (price {biosimilar['expected_reduction']:.0%} lower, uptake rising steadily "
        f"to {biosimilar['target_uptake']:.0%} over {biosimilar['months_to_target']} months)"
    ) in prose
    assert (
        f"generic (price {generic['expected_reduction']:.0%} lower, full switch "
        f"{generic['months_to_target']} months after"
    ) in prose
    assert generic["target_uptake"] == 1.0  # "full switch"
