"""The polypharmacy audit notebook: thin and clean as committed, and when executed through
papermill for two organisations no output or published table holds a patient id or an
unsuppressed count of 1-7."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from medlib.paths import NOTEBOOKS_DIR
from medlib.render.guard import check_report
from medlib.synthetic.patients import generate_patients

NOTEBOOK = NOTEBOOKS_DIR / "polypharmacy_audit.ipynb"
TABLES = {
    "poly_headline",
    "poly_medicines_by_age",
    "poly_acb",
    "poly_combinations",
    "poly_pincer",
    "poly_pincer_funnel",
}
COUNT_COLUMNS = {"patients_flagged", "patients_in_denominator", "patients"}
#: The same columns as the page labels them.
COUNT_LABELS = {"Patients flagged", "Patients counted", "Patients"}
ORGANISATIONS = ("RTD", "RRK")
SEED = 2025
ID_PATTERN = re.compile(r"SYN[0-9A-F]{10}")


def test_committed_notebook_is_thin_and_clean():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    params = dict(re.findall(r"^(\w+): \w+ = (.+?)(?:  #.*)?$", code[0].source, flags=re.M))
    assert params == {
        "trust_code": '"RTD"',
        "period_end": '"2024-03"',
        "census_date": '""',
        "min_age": "18",
        "max_age": "120",
        "seed": "2025",
        "patient_data_dir": '""',
        "store": '""',
        "tables_dir": '""',
    }
    for cell in code:
        assert not cell.outputs and cell.execution_count is None
        assert not re.search(r"^\s*(def|class) |sys\.path|\.\./|open\(", cell.source, flags=re.M)


def _is_disclosed(text: str) -> bool:
    text = text.strip()
    if text in ("", "*", "–", "None", "nan", "NaN"):
        return True
    return float(text) % 5 == 0


def _html_tables(html: str) -> list[pd.DataFrame]:
    frames = []
    for table in BeautifulSoup(html, "html.parser").find_all("table"):
        header = [
            th.get_text(strip=True) for th in table.find("thead").find_all("tr")[-1].find_all("th")
        ]
        rows = [
            [cell.get_text(strip=True) for cell in tr.find_all(["th", "td"])]
            for tr in table.find("tbody").find_all("tr")
        ]
        frames.append(pd.DataFrame(rows, columns=header))
    return frames


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    import papermill as pm

    out = {}
    for org in ORGANISATIONS:
        folder = tmp_path_factory.mktemp(org)
        pm.execute_notebook(
            str(NOTEBOOK),
            str(folder / "out.ipynb"),
            parameters={"trust_code": org, "seed": SEED, "tables_dir": str(folder / "tables")},
            kernel_name="python3",
            progress_bar=False,
            cwd=str(folder),
        )
        out[org] = folder
    return out


@pytest.mark.notebook
@pytest.mark.parametrize("org", ORGANISATIONS)
def test_executed_outputs_are_lead_safe(executed, org):
    folder: Path = executed[org]
    ids = set(generate_patients(seed=SEED).tables.patients["patient_id"])
    nb = nbformat.read(folder / "out.ipynb", as_version=4)
    texts, htmls, images = [], [], 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error"
            if output.output_type == "stream":
                texts.append(output.text)
            data = output.get("data", {})
            images += "image/png" in data
            texts.extend(
                str(data[k]) for k in ("text/plain", "text/markdown", "text/html") if k in data
            )
            htmls.extend(str(data["text/html"]) for k in ["text/html"] if k in data)
    assert images == 2  # both charts are shown
    everything = "\n".join(texts)
    assert not ID_PATTERN.search(everything)
    assert not any(pid in everything for pid in ids)
    assert "SYNTHETIC" in everything
    assert org in everything
    # Sentences never state a count of 1-7 patients.
    assert not re.search(r"\b[1-7] patients", everything)
    # Every count shown in a displayed table is suppressed or a multiple of 5.
    frames = [f for html in htmls for f in _html_tables(html)]
    assert len(frames) == 6  # headline, ACB, combinations, PINCER by group (3)
    checked = 0
    for frame in frames:
        for column in COUNT_LABELS & set(frame.columns):
            bad = [v for v in frame[column] if not _is_disclosed(v.replace(",", ""))]
            assert not bad, f"{column}: {bad[:5]}"
            checked += 1
    assert checked == 2 * 4  # flagged and counted in the headline and PINCER tables
    # No machine column name, True/False or repeated data source reaches the page.
    for frame in frames:
        assert not [c for c in frame.columns if "_" in c], list(frame.columns)
        cells = set(frame.to_numpy().ravel())
        assert not {"True", "False"} & cells
        assert not [c for c in cells if "synthetic patients" in c]
    # Same for every published table, which carry no identifiers at all.
    published = {p.stem: p for p in (folder / "tables").glob("*.csv")}
    assert set(published) == TABLES
    for name, path in published.items():
        text = path.read_text()
        assert not ID_PATTERN.search(text), name
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert "patient_id" not in table.columns
        for column in COUNT_COLUMNS & set(table.columns):
            bad = [v for v in table[column] if not _is_disclosed(v)]
            assert not bad, f"{name}.{column}: {bad[:5]}"
        assert table["data_source"].str.contains("synthetic").all()
    headline = pd.read_csv(published["poly_headline"], dtype=str)
    assert headline["organisation"].eq(org).all()
    # And the report pack's own publication guard finds nothing either.
    assert check_report(nb, folder / "tables") == []
