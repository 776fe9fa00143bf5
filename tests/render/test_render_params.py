"""Parameter sets: strict validation before any kernel starts."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml
from render_fixtures import (
    TRUSTS,
    good_notebook,
    raising_notebook,
    write_notebook,
    write_parameter_set,
)

from medlib.paths import DATA_DIR, NOTEBOOKS_DIR, PARAMETERS_DIR
from medlib.render.params import (
    ParameterError,
    check_against_notebooks,
    inspect_report_notebook,
    load_parameter_set,
    parse_parameter_set,
    report_parameters,
    resolve_parameter_path,
    value_matches,
)

VALID = {
    "name": "test",
    "title": "Test pack",
    "period_start": "2023-04",
    "period_end": "2024-03",
    "trusts": ["RTD", "RTF"],
    "notebooks": ["good", "fragile"],
    "parameters": {"scale": 2.5},
    "notebook_parameters": {"good": {"table_name": "other_table"}},
    "timeout_seconds": 30,
}


def parse(**changes: object) -> object:
    data = {**VALID, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    return parse_parameter_set(data, known_trusts=TRUSTS)


def problems(**changes: object) -> list[str]:
    with pytest.raises(ParameterError) as caught:
        parse(**changes)
    return caught.value.problems


@pytest.fixture
def notebooks_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    good_notebook(folder)
    raising_notebook(folder)
    return folder


def test_valid_set_loads_with_every_field():
    pset = parse()
    assert pset.name == "test"
    assert pset.trusts == ("RTD", "RTF")
    assert pset.notebooks == ("good", "fragile")
    assert pset.period_start == "2023-04" and pset.period_end == "2024-03"
    assert pset.parameters == {"scale": 2.5}
    assert pset.notebook_parameters == {"good": {"table_name": "other_table"}}
    assert pset.timeout_seconds == 30


def test_misspelt_top_level_key_is_named_with_a_suggestion():
    found = problems(trusts=None, trust=["RTD"])
    assert any(p.startswith("trust: unknown key (did you mean 'trusts'?)") for p in found)
    assert "trusts: required key is missing" in found


def test_every_problem_is_reported_at_once():
    found = problems(timeout_seconds="ten", trusts="RTD", period_end="March 2024")
    keys = sorted(p.split(":")[0] for p in found)
    assert keys == ["period_end", "timeout_seconds", "trusts"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"timeout_seconds": True}, "timeout_seconds: expected a whole number"),
        ({"timeout_seconds": 0}, "timeout_seconds: expected a whole number"),
        ({"trusts": []}, "trusts: expected a non-empty list"),
        ({"trusts": ["RTD", "rtf"]}, "trusts[1]: 'rtf' is not valid"),
        ({"trusts": ["RTD", "RTD"]}, "trusts[1]: 'RTD' is listed twice"),
        ({"notebooks": ["good.ipynb"]}, "notebooks[0]: 'good.ipynb' is not valid"),
        ({"name": "My Pack"}, "name: 'My Pack' is not valid"),
        ({"title": ""}, "title: expected a non-empty string"),
        ({"parameters": ["scale"]}, "parameters: expected a mapping"),
        ({"parameters": {"trust_code": "RTD"}}, "parameters.trust_code: set by the renderer"),
        ({"parameters": {"tables_dir": "x"}}, "parameters.tables_dir: set by the renderer"),
        ({"parameters": {"period_end": "2024-03"}}, "parameters.period_end: set period_end at"),
        ({"notebook_parameters": {"godo": {}}}, "notebook_parameters.godo: not one of this set's"),
    ],
)
def test_wrong_types_and_values_name_the_key(changes, expected):
    found = problems(**changes)
    assert any(p.startswith(expected) for p in found), found


def test_unknown_trust_code_is_an_error():
    found = problems(trusts=["RTD", "RXX"])
    assert found == [
        "trusts[1]: 'RXX' is not a trust in the bundled trusts reference; "
        "expected an ODS trust code such as 'RTD'"
    ]


def test_merged_trust_points_to_its_successor():
    assert problems(trusts=["RLN"]) == ["trusts[0]: 'RLN' merged into 'R0B'; use 'R0B' instead"]


def test_trust_codes_are_checked_against_the_bundled_trusts_table():
    # RX6 (North East Ambulance Service) is not in the bundled trust reference.
    with pytest.raises(ParameterError, match="'RX6' is not a trust"):
        parse_parameter_set({**VALID, "trusts": ["RTD", "RX6"]})
    assert parse_parameter_set({**VALID, "trusts": ["RTD", "R0B"]}).trusts == ("RTD", "R0B")


def test_periods_out_of_order_are_an_error():
    assert problems(period_start="2024-04", period_end="2024-03") == [
        "period_start: 2024-04 is after period_end 2024-03; expected period_start <= period_end"
    ]


def test_month_must_be_written_yyyy_mm():
    assert problems(period_end="2024-13") == [
        "period_end: expected a month written YYYY-MM (e.g. 2024-03), got '2024-13'"
    ]


def test_missing_data_file_is_an_error():
    found = problems(data_files=["scmd_lithium.parquet", "scmd_lithum.parquet"])
    assert len(found) == 1
    assert found[0].startswith("data_files[1]: 'scmd_lithum.parquet' not found in the data folder")


def test_data_file_outside_the_data_folder_is_an_error():
    found = problems(data_files=["../pyproject.toml"])
    assert found[0].startswith("data_files[0]: '../pyproject.toml' is not valid")


def test_yaml_dates_become_iso_strings(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: t\ntitle: T\nperiod_end: 2024-03\ntrusts: [RTD]\nnotebooks: [good]\n"
        "notebook_parameters:\n  good: {census_date: 2024-03-31}\n",
        encoding="utf-8",
    )
    pset = load_parameter_set(path, known_trusts=TRUSTS)
    assert pset.notebook_parameters == {"good": {"census_date": "2024-03-31"}}
    assert pset.period_end == "2024-03"


def test_missing_file_and_bad_yaml_are_clear_errors(tmp_path):
    with pytest.raises(ParameterError, match="file not found"):
        load_parameter_set(tmp_path / "none.yaml", known_trusts=TRUSTS)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_parameter_set(bad, known_trusts=TRUSTS)
    top = tmp_path / "list.yaml"
    top.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="expected a mapping of keys to values"):
        load_parameter_set(top, known_trusts=TRUSTS)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            b"name: t\ntitle: T\ntrusts: [RTD]\ntrusts: [RR7]\n",
            "not valid YAML: trusts: key appears twice (lines 3 and 4)",
        ),
        (
            'name: t\ntitle: "\xe9t\xe9"\n'.encode("latin-1"),
            # "name: t\n" is 8 bytes and 'title: "' 8 more: the e-acute is byte 16
            "not UTF-8 text (byte 16 cannot be decoded): save it as UTF-8",
        ),
        (b"parameters: &p {x: *p}\n", "a value contains itself (a YAML alias"),
    ],
    ids=["repeated key", "latin-1", "self-referencing alias"],
)
def test_unreadable_parameter_files_are_one_clear_problem(tmp_path, content, problem):
    path = tmp_path / "p.yaml"
    path.write_bytes(content)
    with pytest.raises(ParameterError) as caught:
        load_parameter_set(path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(problem)
    with pytest.raises(ParameterError, match="is a folder"):
        load_parameter_set(tmp_path)


def test_bare_name_resolves_to_the_parameters_folder():
    assert resolve_parameter_path("nenc") == PARAMETERS_DIR / "nenc.yaml"
    assert resolve_parameter_path("x/y.yaml") == Path("x/y.yaml")


def test_notebook_parameters_are_read_without_a_kernel(notebooks_dir):
    spec = inspect_report_notebook(notebooks_dir / "good.ipynb")
    assert sorted(spec.parameters) == [
        "period_end",
        "scale",
        "table_name",
        "tables_dir",
        "trust_code",
    ]
    assert spec.parameters["scale"].type_name == "float"


def test_annotations_papermill_skips_are_still_found(tmp_path):
    # papermill's parser drops `x: str | None = None`; the ast pass must add it back.
    path = write_notebook(
        tmp_path / "opt.ipynb",
        'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""\ncomparator: str | None = None\nn = 3',
    )
    spec = inspect_report_notebook(path)
    assert spec.parameters["comparator"].type_name == "str | None"
    assert spec.parameters["n"].default == 3


def test_notebook_without_trust_or_tables_parameter_is_refused(tmp_path):
    path = write_notebook(tmp_path / "plain.ipynb", "year: int = 2024")
    with pytest.raises(ParameterError) as caught:
        inspect_report_notebook(path)
    assert caught.value.problems == [
        "declares no 'trust_code' parameter; every report notebook declares `trust_code: str` "
        "and `period_end: str` (YYYY-MM)",
        "declares no 'period_end' parameter; every report notebook declares `trust_code: str` "
        "and `period_end: str` (YYYY-MM)",
        "declares no 'tables_dir' parameter; expected `tables_dir: str = \"\"`",
    ]


def test_notebook_without_parameters_cell_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, tmp_path / "untagged.ipynb")
    with pytest.raises(ParameterError, match="no cell tagged 'parameters'"):
        inspect_report_notebook(tmp_path / "untagged.ipynb")


def test_misspelt_parameter_key_fails_naming_the_key(notebooks_dir):
    pset = parse(parameters={"scael": 2.0})
    with pytest.raises(ParameterError) as caught:
        check_against_notebooks(pset, notebooks_dir)
    (problem,) = caught.value.problems
    assert problem.startswith("parameters.scael: no notebook of this set declares it")
    assert "(did you mean 'scale'?)" in problem


def test_misspelt_per_notebook_key_fails_naming_the_notebook(notebooks_dir):
    pset = parse(notebook_parameters={"fragile": {"scale": 1.0}})
    with pytest.raises(ParameterError) as caught:
        check_against_notebooks(pset, notebooks_dir)
    assert caught.value.problems[0].startswith(
        "notebook_parameters.fragile.scale: fragile does not declare it"
    )


def test_value_of_the_wrong_type_for_the_notebook_is_an_error(notebooks_dir):
    pset = parse(parameters={"scale": "big"})
    with pytest.raises(ParameterError) as caught:
        check_against_notebooks(pset, notebooks_dir)
    assert caught.value.problems == ["parameters.scale: 'big' is a str; good expects float"]


def test_missing_notebook_lists_what_is_available(notebooks_dir):
    pset = parse(notebooks=["good", "spend_trend"], notebook_parameters=None)
    with pytest.raises(ParameterError) as caught:
        check_against_notebooks(pset, notebooks_dir)
    assert "notebooks: 'spend_trend' not found in" in caught.value.problems[0]
    assert "available: ['fragile', 'good']" in caught.value.problems[0]


def test_values_are_layered_defaults_periods_shared_per_notebook_then_trust(notebooks_dir):
    pset = parse()
    specs = check_against_notebooks(pset, notebooks_dir)
    # good declares scale and table_name; fragile neither; both declare period_end.
    assert report_parameters(pset, specs["good"], "RTF") == {
        "period_end": "2024-03",
        "scale": 2.5,
        "table_name": "other_table",
        "trust_code": "RTF",
    }
    assert report_parameters(pset, specs["fragile"], "RTF") == {
        "period_end": "2024-03",
        "trust_code": "RTF",
    }


def test_period_keys_go_to_notebooks_that_declare_them(tmp_path):
    path = write_notebook(
        tmp_path / "spend.ipynb",
        'trust_code: str = "RTD"\ntables_dir: str = ""\nperiod_end: str = "2023-03"',
    )
    pset = parse(notebooks=["spend"], notebook_parameters=None, parameters=None)
    spec = check_against_notebooks(pset, path.parent)["spend"]
    assert report_parameters(pset, spec, "RTD") == {"period_end": "2024-03", "trust_code": "RTD"}


@pytest.mark.parametrize(
    ("value", "type_name", "default", "fits"),
    [
        ("a", "str", None, True),
        (1, "str", None, False),
        (3, "float", None, True),
        (True, "float", None, False),
        (True, "int", None, False),
        (2, "int", None, True),
        (["a", "b"], "list[str]", None, True),
        (["a", 1], "list[str]", None, False),
        (None, "str | None", None, True),
        (None, "Optional[str]", None, True),
        (None, "str", None, False),
        ({"a": 1}, "dict[str, int]", None, True),
        (2, None, 1.5, True),
        ("x", None, 1.5, False),
        ("x", None, None, True),
    ],
)
def test_value_matches(value, type_name, default, fits):
    assert value_matches(value, type_name, default) is fits


def _is_parameter_set(path: Path) -> bool:
    # parameters/ also holds other YAML (switch definitions); a parameter set lists notebooks.
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return isinstance(data, dict) and "notebooks" in data


PROJECT_SETS = sorted(p for p in PARAMETERS_DIR.glob("*.yaml") if _is_parameter_set(p))


@pytest.mark.parametrize("path", PROJECT_SETS, ids=lambda p: p.name)
def test_project_parameter_sets_validate(path):
    pset = load_parameter_set(path, data_dir=DATA_DIR)
    missing = [nb for nb in pset.notebooks if not (NOTEBOOKS_DIR / f"{nb}.ipynb").exists()]
    assert not missing, f"parameter set names notebooks that do not exist: {missing}"
    specs = check_against_notebooks(pset, NOTEBOOKS_DIR)
    assert set(specs) == set(pset.notebooks)


def test_project_has_the_nenc_and_sample_sets():
    assert {p.stem for p in PROJECT_SETS} >= {"nenc", "sample"}


def test_write_parameter_set_fixture_round_trips(tmp_path):
    path = write_parameter_set(tmp_path / "p.yaml", trusts=["RR7"])
    assert load_parameter_set(path, known_trusts=TRUSTS).trusts == ("RR7",)


def test_a_store_is_named_relative_to_the_parameter_file_and_reaches_declaring_notebooks(
    tmp_path,
):
    (tmp_path / "packs" / "data" / "store" / "usage").mkdir(parents=True)
    path = tmp_path / "packs" / "mine.yaml"
    path.write_text(
        "name: mine\ntitle: Mine\nperiod_end: 2024-03\ntrusts: [RTD]\nnotebooks: [spend]\n"
        "data: {store: data/store}\n",
        encoding="utf-8",
    )
    pset = load_parameter_set(path, known_trusts=TRUSTS)
    assert pset.store == str((tmp_path / "packs" / "data" / "store").resolve())
    assert pset.as_dict()["data"] == {"store": pset.store}
    nb = write_notebook(
        tmp_path / "nbs" / "spend.ipynb",
        'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\nstore: str = ""\n'
        'tables_dir: str = ""',
    )
    spec = check_against_notebooks(pset, nb.parent)["spend"]
    assert report_parameters(pset, spec, "RTD") == {
        "period_end": "2024-03",
        "store": pset.store,
        "trust_code": "RTD",
    }


def test_a_folder_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    assert problems(data={"store": str(tmp_path / "empty")}) == [
        f"data.store: {str(tmp_path / 'empty')!r} is not a store (no ingest log in "
        f"{tmp_path / 'empty'}); build one with 'medlib ingest FILE --store PATH'"
    ]
    assert problems(data={"stores": "x"})[0].startswith("data: expected a mapping with one key")
    assert problems(parameters={"store": "x"}) == [
        "parameters.store: name the store at the top level, data: {store: PATH}"
    ]


def test_an_icb_code_in_trusts_stands_for_its_member_trusts():
    pset = parse_parameter_set({**VALID, "trusts": ["QWO", "RR8", "RTD"]})
    assert pset.trusts == ("RAE", "RCF", "RGD", "RR8", "RWY", "RXF", "RXG", "RY6", "TAD", "RTD")


def test_a_period_end_outside_the_data_is_refused_before_any_kernel(tmp_path):
    from medlib.render.params import check_coverage

    nb = write_notebook(
        tmp_path / "spend.ipynb",
        'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""',
    )
    notebook = nbformat.read(nb, as_version=4)
    notebook.metadata["medlib"] = {"needs": ["usage"]}
    nbformat.write(notebook, nb)
    pset = parse(
        notebooks=["spend"], notebook_parameters=None, parameters=None, period_end="2030-01"
    )
    specs = check_against_notebooks(pset, tmp_path)
    assert specs["spend"].needs == ("usage",)
    with pytest.raises(ParameterError) as caught:
        check_coverage(pset, specs)
    assert caught.value.problems == [
        "period_end: 2030-01 is outside the data spend reads: the bundled sample covers "
        "2019-04 to 2024-03"
    ]
    check_coverage(parse(notebooks=["spend"], notebook_parameters=None, parameters=None), specs)
