"""The wet AMD notebook: thin and clean as committed, and executed through papermill for one
trust it runs without error, shows every section, publishes its tables and passes the
publication guard."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest

from medlib.paths import NOTEBOOKS_DIR
from medlib.render.guard import check_report
from medlib.render.params import inspect_report_notebook
from medlib.wet_amd.report import SECTIONS, TABLES

NOTEBOOK = NOTEBOOKS_DIR / "wet_amd.ipynb"


def test_committed_notebook_is_thin_and_clean():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    params = dict(re.findall(r"^(\w+): \w+ = (.+?)  #", code[0].source, flags=re.M))
    assert params == {
        "trust_code": '"RTD"',
        "period_end": '"2024-03"',
        "seed": "2025",
        "store": '""',
        "tables_dir": '""',
    }
    for cell in code:
        assert not cell.outputs and cell.execution_count is None
        assert not re.search(r"^\s*(def|class) |sys\.path|\.\./|open\(", cell.source, flags=re.M)
    shown = re.findall(r'^report\.section\("(\w+)"\)$', "\n".join(c.source for c in code), re.M)
    assert shown == list(SECTIONS)
    assert code[-1].source == "report.publish(tables_dir);"
    prose = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "`" not in prose  # no code spans on a lead's page
    assert nb.metadata["medlib"] == {
        "data_source": "Anti-VEGF injections for wet AMD (hcd_activity)"
    }
    # The renderer reads it as a report notebook.
    spec = inspect_report_notebook(NOTEBOOK)
    assert spec.needs == ()
    raw = NOTEBOOK.read_text(encoding="utf-8")
    assert raw.endswith("}\n") and raw.startswith('{\n "cells": [\n  {\n   "cell_type"')


@pytest.mark.notebook
def test_papermill_runs_it_for_a_trust_and_it_is_lead_safe(tmp_path):
    import papermill as pm

    tables = tmp_path / "tables"
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"trust_code": "RR7", "tables_dir": str(tables)},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    executed = nbformat.read(out, as_version=4)
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images == 3  # interval bands, cost, funnel
    text = " ".join(
        str(o.get("data", {}).get(k, "")) for o in outputs for k in ("text/markdown", "text/html")
    )
    assert "SYNTHETIC DATA" in text and "RR7 (this trust)" in text
    assert {p.stem for p in tables.glob("*.csv")} == set(TABLES)
    for path in tables.glob("*.csv"):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert table["data_source"].str.contains("synthetic").all(), path.stem
    assert check_report(executed, tables) == []
