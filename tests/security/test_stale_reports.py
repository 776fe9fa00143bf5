"""A report's inputs cover the patient files it reads, and their quarantined rows are reported."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from render_fixtures import write_parameter_set

from medlib.render.runner import render_pack
from medlib.synthetic.patients import generate_patients


def _write(folder: Path, tables) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("patients", "medications", "conditions", "tests"):
        frame = getattr(tables, name).copy()
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        frame.to_csv(folder / f"{name}.csv", index=False)


@pytest.mark.notebook
def test_resume_re_renders_when_the_patient_files_change(tmp_path):
    extract = tmp_path / "extract"
    sample = generate_patients(scale=0.2, census_date="2024-03-31")
    _write(extract, sample.tables)
    # One medication row of nobody: quarantined, and said so in the report and its tables.
    meds = extract / "medications.csv"
    meds.write_text(
        meds.read_text(encoding="utf-8") + "nobody,321745007,Amitriptyline,0403010B0AAAGAG,"
        "2023-01-01,\n",
        encoding="utf-8",
    )
    params = write_parameter_set(
        tmp_path / "p.yaml",
        trusts=["RTD"],
        notebooks=["spend_trends", "polypharmacy_audit"],
        parameters={"patient_data_dir": str(extract)},
        timeout_seconds=600,
    )
    out = tmp_path / "pack"
    first = render_pack(params, output_dir=out, jobs=1, progress=False)
    assert first.ok and [r.status for r in first.reports] == ["ok", "ok"]
    quality = pd.read_csv(out / "RTD" / "tables" / "poly_data_quality.csv", dtype=str)
    assert quality.set_index("table").loc["medications", "rows_quarantined"] == "*"
    page = (out / "RTD" / "polypharmacy_audit.html").read_text(encoding="utf-8")
    assert "Rows of the extract" in page and "quarantined" in page

    again = render_pack(params, output_dir=out, jobs=1, progress=False, resume=True)
    assert [r.status for r in again.reports] == ["skipped", "skipped"]
    # Half the patients removed: the report is stale and is rendered again.
    keep = sample.tables.patients["patient_id"].iloc[::2]
    _write(extract, sample.tables.for_patients(keep))
    after = render_pack(params, output_dir=out, jobs=1, progress=False, resume=True)
    # Exactly the report that reads the patient files is rendered again.
    assert [(r.notebook, r.status) for r in after.reports] == [
        ("spend_trends", "skipped"),
        ("polypharmacy_audit", "ok"),
    ]
    assert not (out / "RTD" / "tables" / "poly_data_quality.csv").read_text().count("*")
