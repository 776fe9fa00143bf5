import subprocess
import sys

from typer.testing import CliRunner

from medlib.cli import app

runner = CliRunner()
HEADER = (
    "YEAR_MONTH,ODS_CODE,VMP_SNOMED_CODE,VMP_PRODUCT_NAME,UNIT_OF_MEASURE_IDENTIFIER,"
    "UNIT_OF_MEASURE_NAME,TOTAL_QUANITY_IN_VMP_UNIT,INDICATIVE_COST"
)
ROW = "201904,RTD,39110111000001103,Lithium carbonate 400mg,428673006,tablet,560,15.40"


def test_validate_clean_file_exits_zero(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(f"{HEADER}\n{ROW}\n")
    result = runner.invoke(app, ["validate", str(path), "--quarantine-dir", str(tmp_path / "q")])
    assert result.exit_code == 0
    assert "rows read 1 = accepted 1 + quarantined 0" in result.output


def test_validate_writes_quarantine_and_exits_one(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\n{ROW}\n{ROW.replace(',RTD,', ',ZZZ,')}\n")
    result = runner.invoke(app, ["validate", str(path), "--quarantine-dir", str(tmp_path / "q")])
    assert result.exit_code == 1
    assert "rows read 2 = accepted 1 + quarantined 1" in result.output
    written = (tmp_path / "q" / "bad.csv.quarantine.csv").read_text().splitlines()
    assert written[0] == "file,line,column,value,reason"
    assert written[1].endswith(
        ",3,ODS_CODE,ZZZ,unknown trust code (not in the trust reference or its predecessors)"
    )


def test_files_with_the_same_name_keep_separate_quarantine_files(tmp_path):
    paths = []
    for folder, bad in (("a", "ZZZ"), ("b", "YYY")):
        path = tmp_path / folder / "scmd.csv"
        path.parent.mkdir()
        path.write_text(f"{HEADER}\n{ROW}\n{ROW.replace(',RTD,', f',{bad},')}\n")
        paths.append(str(path))
    result = runner.invoke(app, ["validate", *paths, "--quarantine-dir", str(tmp_path / "q")])
    assert result.exit_code == 1
    first = (tmp_path / "q" / "scmd.csv.quarantine.csv").read_text()
    second = (tmp_path / "q" / "scmd.csv.2.quarantine.csv").read_text()
    assert ",3,ODS_CODE,ZZZ," in first and ",3,ODS_CODE,YYY," in second


def test_a_file_that_fails_does_not_stop_the_next(tmp_path, monkeypatch):
    import medlib.io.usage

    ok = tmp_path / "ok.csv"
    ok.write_text(f"{HEADER}\n{ROW}\n")
    real = medlib.io.usage.read_usage

    def read_usage(path):
        if str(path).endswith("boom.csv"):
            raise RuntimeError("something unforeseen")
        return real(path)

    monkeypatch.setattr(medlib.io.usage, "read_usage", read_usage)
    result = runner.invoke(app, ["validate", str(tmp_path / "boom.csv"), str(ok)])
    assert result.exit_code == 2
    assert "RuntimeError: something unforeseen" in result.output
    assert "rows read 1 = accepted 1 + quarantined 0" in result.output


def test_unusable_file_gives_a_paragraph_not_a_traceback(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text(HEADER.replace(",", ";") + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "medlib", "validate", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "its fields are separated by semicolons, not commas" in proc.stderr


def test_info_describes_sources():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0
    assert "scmd_lithium: 2019-04 to 2024-03 (60 months), 213 trusts, 8 products" in result.output
    assert "cost on 26,349 of 26,629 rows (98.9%)" in result.output
