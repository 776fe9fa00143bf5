"""Hostile and careless parameter files are refused before anything is built or any kernel starts.

Issue 15, item 5: a 726-byte parameter set of nine levels of YAML aliases (the "billion laughs")
ran for minutes and filled gigabytes before a MemoryError. Item 11: ``census_date: 2024-02-30``
and ``seed: -1`` started kernels and failed in every report, a relative ``patient_data_dir`` was
read from the report's staging folder, and a ``period_end`` in the future rendered synthetic
reports of months that have not happened.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import typer
import yaml
from render_fixtures import TRUSTS, good_notebook, write_notebook, write_parameter_set
from typer.testing import CliRunner

from medlib._safe_yaml import MAX_DEPTH
from medlib.paths import NOTEBOOKS_DIR, PARAMETERS_DIR
from medlib.render import ParameterError, load_parameter_set, render_pack
from medlib.render.cli import EXIT_INVALID, report
from medlib.render.params import (
    _UniqueKeyLoader,
    check_against_notebooks,
    check_coverage,
    report_parameters,
)
from medlib.spend.efficiency import EfficiencyPipelineError, load_pipeline
from medlib.switch.definitions import SwitchDefinitionError, load_switch_definitions

app = typer.Typer()
app.command("report")(report)

#: A notebook declaring the parameters whose values the renderer checks by name.
AUDIT_PARAMETERS = (
    'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""\n'
    'census_date: str = ""\nseed: int = 2025\nmin_age: int = 18\npatient_data_dir: str = ""'
)


def billion_laughs() -> str:
    """Nine levels of aliases under ``parameters:``, each list nine of the one before."""
    lines = [
        "name: laughs",
        "title: Laughs",
        "period_end: 2024-03",
        "trusts: [RTD]",
        "notebooks: [good]",
        "parameters:",
        '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ]
    for before, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {name}: &{name} [{','.join([f'*{before}'] * 9)}]")
    return "\n".join(lines) + "\n"


def no_kernel(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a process pool or a kernel was started")

    monkeypatch.setattr("medlib.render.runner.ProcessPoolExecutor", refuse)
    monkeypatch.setattr("papermill.execute_notebook", refuse)


def problems_of(path: Path, **kwargs) -> list[str]:
    with pytest.raises(ParameterError) as caught:
        load_parameter_set(path, known_trusts=TRUSTS, **kwargs)
    return caught.value.problems


# --- item 5: YAML aliases --------------------------------------------------------------------


def test_billion_laughs_is_refused_before_any_value_is_built(tmp_path, monkeypatch):
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    assert len(path.read_bytes()) < 1024  # the attack is a small file (9**9 values)

    def construct(*args, **kwargs):
        raise AssertionError("a value was built from a file with aliases")

    monkeypatch.setattr(_UniqueKeyLoader, "construct_document", construct)
    with pytest.raises(ParameterError) as caught:
        load_parameter_set(path, known_trusts=TRUSTS)
    assert caught.value.source == str(path)
    assert caught.value.problems == [
        "YAML aliases are not allowed: *a on line 8 repeats the value anchored as &a; "
        "write the value out in full"
    ]


def test_billion_laughs_exits_as_invalid_parameters_from_the_command_line(tmp_path, monkeypatch):
    no_kernel(monkeypatch)
    nbs = tmp_path / "notebooks"
    good_notebook(nbs)
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    out = tmp_path / "pack"
    result = CliRunner().invoke(
        app, [str(path), "--notebooks-dir", str(nbs), "--output-dir", str(out), "--no-progress"]
    )
    assert result.exit_code == EXIT_INVALID
    assert "Invalid parameters: nothing was rendered." in result.output
    assert f"{path}: 1 problem" in result.output
    assert "YAML aliases are not allowed: *a on line 8" in result.output
    assert not out.exists()


def test_an_alias_inside_its_own_anchor_and_deep_nesting_are_one_clear_problem(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: t\nparameters: &p\n  x: *p\n", encoding="utf-8")
    assert problems_of(path) == [
        "a value contains itself (a YAML alias inside its own anchor): *p on line 3 is inside "
        "&p; YAML aliases are not allowed"
    ]
    path.write_text(
        "name: t\nparameters:\n  x: " + "[" * (MAX_DEPTH + 10) + "]" * (MAX_DEPTH + 10) + "\n",
        encoding="utf-8",
    )
    assert problems_of(path) == [f"values are nested more than {MAX_DEPTH} levels deep (line 3)"]


def test_an_anchor_without_an_alias_is_harmless_and_loads(tmp_path):
    path = write_parameter_set(tmp_path / "p.yaml")
    path.write_text(
        path.read_text(encoding="utf-8").replace("title: Test pack", "title: &t Test pack"),
        encoding="utf-8",
    )
    assert load_parameter_set(path, known_trusts=TRUSTS).title == "Test pack"


def test_switch_definitions_and_the_pipeline_refuse_aliases_too(tmp_path):
    definitions = tmp_path / "switch_definitions.yaml"
    definitions.write_text("switches:\n  - &a {molecule: x}\n  - *a\n", encoding="utf-8")
    with pytest.raises(SwitchDefinitionError) as caught:
        load_switch_definitions(definitions)
    assert str(caught.value) == (
        f"{definitions}: YAML aliases are not allowed: *a on line 3 repeats the value anchored "
        "as &a; write the value out in full"
    )
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text("entries:\n  - &e {molecule: x}\n  - *e\n", encoding="utf-8")
    with pytest.raises(EfficiencyPipelineError) as caught:
        load_pipeline(pipeline)
    assert str(caught.value) == (
        "pipeline.yaml: YAML aliases are not allowed: *e on line 3 repeats the value anchored "
        "as &e; write the value out in full"
    )


def test_the_project_yaml_files_use_no_alias_and_read_as_before():
    for path in sorted(PARAMETERS_DIR.glob("*.yaml")):
        events = yaml.parse(path.read_text(encoding="utf-8"))
        assert [e for e in events if isinstance(e, yaml.AliasEvent)] == [], path
    # What the refusing loaders read is what PyYAML's own safe loader reads.
    plain = yaml.safe_load((PARAMETERS_DIR / "switch_definitions.yaml").read_text("utf-8"))
    assert list(load_switch_definitions()) == [s["molecule"] for s in plain["switches"]]
    plain = yaml.safe_load((PARAMETERS_DIR / "efficiency_pipeline.yaml").read_text("utf-8"))
    assert [e.molecule for e in load_pipeline()] == [e["molecule"] for e in plain["entries"]]
    plain = yaml.safe_load((PARAMETERS_DIR / "nenc.yaml").read_text("utf-8"))
    pset = load_parameter_set(PARAMETERS_DIR / "nenc.yaml")
    assert (pset.name, pset.title, list(pset.trusts)) == (
        plain["name"],
        plain["title"],
        plain["trusts"],
    )


# --- item 11: values checked before any kernel -----------------------------------------------


def audit_set(tmp_path: Path, **values: object) -> Path:
    write_notebook(tmp_path / "notebooks" / "audit.ipynb", AUDIT_PARAMETERS)
    return write_parameter_set(
        tmp_path / "sets" / "p.yaml", trusts=["RTD"], notebooks=["audit"], **values
    )


def test_an_impossible_census_date_is_refused_quoted_or_not(tmp_path):
    path = audit_set(tmp_path, notebook_parameters={"audit": {"census_date": "2024-02-30"}})
    expected = [
        "notebook_parameters.audit.census_date: '2024-02-30' is not a date; expected a day "
        "written YYYY-MM-DD (e.g. 2024-03-31), or empty for the last day of period_end"
    ]
    assert problems_of(path) == expected
    # Unquoted, YAML would read it as a date and crash on the 30th of February.
    path.write_text(
        path.read_text(encoding="utf-8").replace("'2024-02-30'", "2024-02-30"), encoding="utf-8"
    )
    assert "census_date: 2024-02-30" in path.read_text(encoding="utf-8")
    assert problems_of(path) == expected


def test_a_census_date_after_the_period_is_refused_and_a_real_one_passes(tmp_path):
    path = audit_set(tmp_path, parameters={"census_date": "2024-04-01"})
    assert problems_of(path) == [
        "parameters.census_date: 2024-04-01 is after period_end 2024-03; expected a day up to "
        "2024-03-31, or empty for the last day of period_end"
    ]
    for day in ("2024-03-31", "2023-12-01", ""):
        path = audit_set(tmp_path, parameters={"census_date": day})
        assert load_parameter_set(path, known_trusts=TRUSTS).parameters == {"census_date": day}
    # An unquoted valid date reaches the notebook as the same text.
    path.write_text(
        path.read_text(encoding="utf-8").replace("census_date: ''", "census_date: 2024-03-31"),
        encoding="utf-8",
    )
    assert load_parameter_set(path, known_trusts=TRUSTS).parameters == {"census_date": "2024-03-31"}


def test_a_negative_seed_or_age_is_refused(tmp_path):
    path = audit_set(
        tmp_path, parameters={"seed": -1}, notebook_parameters={"audit": {"min_age": -5}}
    )
    assert problems_of(path) == [
        "parameters.seed: expected a whole number of 0 or more, got -1",
        "notebook_parameters.audit.min_age: expected a whole number of 0 or more, got -5",
    ]
    path = audit_set(tmp_path, parameters={"seed": 0})
    assert load_parameter_set(path, known_trusts=TRUSTS).parameters == {"seed": 0}


def test_a_relative_patient_data_dir_is_read_from_the_parameter_files_folder(tmp_path, monkeypatch):
    (tmp_path / "extracts" / "rtd").mkdir(parents=True)
    path = audit_set(tmp_path, parameters={"patient_data_dir": "../extracts/rtd"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not the working folder: the file's own folder
    pset = load_parameter_set(path, known_trusts=TRUSTS)
    assert pset.parameters == {"patient_data_dir": str(tmp_path / "extracts" / "rtd")}
    spec = check_against_notebooks(pset, tmp_path / "notebooks")["audit"]
    assert report_parameters(pset, spec, "RTD")["patient_data_dir"] == str(
        tmp_path / "extracts" / "rtd"
    )
    missing = audit_set(tmp_path, parameters={"patient_data_dir": "extracts/rtd"})
    assert problems_of(missing) == [
        f"parameters.patient_data_dir: 'extracts/rtd' is not a folder "
        f"({tmp_path / 'sets' / 'extracts' / 'rtd'}); a relative path is read from the "
        "parameter set's folder"
    ]


def test_the_kernel_receives_the_resolved_folder(tmp_path):
    (tmp_path / "extracts").mkdir()
    nbs = tmp_path / "notebooks"
    write_notebook(
        nbs / "folder.ipynb",
        'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""\n'
        'patient_data_dir: str = ""',
        "import os\nimport pandas as pd\nfrom medlib.present.outputs import publish_tables\n"
        "publish_tables({'folder_check': pd.DataFrame({'found': [os.path.isdir(patient_data_dir)],"
        " 'absolute': [os.path.isabs(patient_data_dir)]})}, tables_dir)",
    )
    path = write_parameter_set(
        tmp_path / "sets" / "p.yaml",
        trusts=["RTD"],
        notebooks=["folder"],
        parameters={"patient_data_dir": "../extracts"},
    )
    out = tmp_path / "pack"
    result = render_pack(
        load_parameter_set(path, known_trusts=TRUSTS),
        notebooks_dir=nbs,
        output_dir=out,
        jobs=1,
        progress=False,
    )
    assert result.ok, [r.error for r in result.failed]
    assert (out / "RTD" / "tables" / "folder_check.csv").read_text(encoding="utf-8") == (
        "found,absolute\nTrue,True\n"
    )


def test_every_bad_value_is_reported_at_once_and_no_kernel_starts(tmp_path, monkeypatch):
    no_kernel(monkeypatch)
    path = audit_set(
        tmp_path,
        parameters={"seed": -1, "patient_data_dir": "nowhere"},
        notebook_parameters={"audit": {"census_date": "2024-02-30"}},
    )
    out = tmp_path / "pack"
    with pytest.raises(ParameterError) as caught:
        render_pack(path, notebooks_dir=tmp_path / "notebooks", output_dir=out)
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "parameters.seed",
        "parameters.patient_data_dir",
        "notebook_parameters.audit.census_date",
    ]
    assert not out.exists()
    result = CliRunner().invoke(
        app, [str(path), "--notebooks-dir", str(tmp_path / "notebooks"), "--output-dir", str(out)]
    )
    assert result.exit_code == EXIT_INVALID
    assert "3 problems" in result.output
    assert not out.exists()


def test_a_period_end_in_the_future_is_refused_for_notebooks_that_need_no_usage(tmp_path):
    write_notebook(tmp_path / "notebooks" / "audit.ipynb", AUDIT_PARAMETERS)
    path = write_parameter_set(
        tmp_path / "p.yaml", trusts=["RTD"], notebooks=["audit"], period_end="2024-06"
    )
    pset = load_parameter_set(path, known_trusts=TRUSTS)
    specs = check_against_notebooks(pset, tmp_path / "notebooks")
    assert specs["audit"].needs == ()
    with pytest.raises(ParameterError) as caught:
        check_coverage(pset, specs, today=dt.date(2024, 5, 15))
    assert caught.value.problems == [
        "period_end: 2024-06 is after the current month (2024-05); no data covers a month "
        "that has not begun"
    ]
    check_coverage(pset, specs, today=dt.date(2024, 6, 1))  # the current month is allowed


def test_the_sample_set_to_2030_is_refused_before_any_kernel(tmp_path, monkeypatch):
    # The spend report needs usage: the store's coverage names what it holds; the switch and
    # audit reports (synthetic data) cannot report on months that have not begun either.
    no_kernel(monkeypatch)
    text = (PARAMETERS_DIR / "sample.yaml").read_text(encoding="utf-8")
    path = tmp_path / "sample.yaml"
    path.write_text(text.replace("period_end: 2024-03", "period_end: 2030-12"), encoding="utf-8")
    out = tmp_path / "pack"
    with pytest.raises(ParameterError) as caught:
        render_pack(path, notebooks_dir=NOTEBOOKS_DIR, output_dir=out)
    this_month = dt.date.today().strftime("%Y-%m")
    expected = [
        "period_end: 2030-12 is outside the data spend_trends reads: the bundled sample "
        "covers 2019-04 to 2024-03"
    ]
    if this_month < "2030-12":
        expected.append(
            f"period_end: 2030-12 is after the current month ({this_month}); no data covers a "
            "month that has not begun"
        )
    assert caught.value.problems == sorted(expected)
    assert not out.exists()


# --- item 11: the usage reader's messages (medlib/io/usage.py, changed separately) ----------


def test_a_parquet_file_with_a_repeated_column_says_so(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from medlib.io.usage import UnusableFileError, read_usage

    path = tmp_path / "usage.parquet"
    columns = [pa.array(["2024-03-01"]), pa.array(["RTD"]), pa.array(["RTD"])]
    pq.write_table(
        pa.Table.from_arrays(columns, names=["year_month", "ods_code", "ods_code"]), path
    )
    with pytest.raises(UnusableFileError) as caught:
        read_usage(path)
    assert str(caught.value) == (
        f"Cannot read {path}: its schema repeats the column name ods_code. "
        "Give every column a unique name"
    )


def test_a_published_header_in_lower_case_says_so(tmp_path):
    from medlib.io.usage import SCMD_PUBLISHED_HEADER, UnusableFileError, read_usage

    path = tmp_path / "usage.csv"
    header = ",".join(name.lower() for name in SCMD_PUBLISHED_HEADER)
    path.write_text(header + "\n2024-03-01,RTD,123456,Lithium,1,tablet,10,5.0\n", encoding="utf-8")
    with pytest.raises(UnusableFileError) as caught:
        read_usage(path)
    assert str(caught.value) == (
        f"Cannot read {path}: its header has the scmd_published columns with their names in "
        "another case (year_month, ods_code, vmp_snomed_code, vmp_product_name, "
        "total_quanity_in_vmp_unit instead of YEAR_MONTH, ODS_CODE, VMP_SNOMED_CODE, "
        "VMP_PRODUCT_NAME, TOTAL_QUANITY_IN_VMP_UNIT). Rename the columns exactly as published "
        "(the NHSBSA files use upper case), or re-export the file unchanged"
    )


def test_measure_folders_are_read_from_the_parameter_files_folder(tmp_path):
    (tmp_path / "our_measures").mkdir()
    path = audit_set(tmp_path, parameters={"measure_dirs": ["../our_measures"]})
    pset = load_parameter_set(path, known_trusts=TRUSTS)
    assert pset.parameters == {"measure_dirs": [str(tmp_path / "our_measures")]}
    missing = audit_set(tmp_path, parameters={"measure_dirs": ["../our_measures", "theirs"]})
    assert problems_of(missing) == [
        f"parameters.measure_dirs[1]: 'theirs' is not a folder "
        f"({tmp_path / 'sets' / 'theirs'}); a relative path is read from the parameter set's "
        "folder"
    ]
    odd = audit_set(tmp_path, parameters={"measure_dirs": [3, ""]})
    assert problems_of(odd) == [
        "parameters.measure_dirs[0]: expected a folder's path, got 3",
        "parameters.measure_dirs[1]: expected a folder's path, got ''",
    ]


def test_a_changed_measure_definition_changes_the_reports_inputs(tmp_path):
    from medlib.render.manifest import read_files_digest

    folder = tmp_path / "our_measures"
    folder.mkdir()
    (folder / "m.yaml").write_text("id: m\n", encoding="utf-8")
    before = read_files_digest({"measure_dirs": [str(folder)]})
    assert before != ""
    (folder / "m.yaml").write_text("id: m\ntitle: changed\n", encoding="utf-8")
    assert read_files_digest({"measure_dirs": [str(folder)]}) != before
