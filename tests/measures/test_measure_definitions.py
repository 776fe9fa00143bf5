"""Measure definitions: the bundled ones load, and every problem names its file and field."""

from __future__ import annotations

import textwrap

import pytest

from medlib.measures.definitions import (
    DEFINITIONS_DIR,
    MeasureDefinitionError,
    ProductSelection,
    load_definition,
    load_definitions,
)

VALID = """\
id: {id}
title: Carbapenems
why_it_matters: Carbapenems are last-line antibiotics.
numerator:
  atc_prefix: [J01DH]
denominator:
  atc_prefix: J01
  route: [Oral, Injectable]
quantity: ddd
lower_is_better: true
citation: This project's example.
"""


def _write(folder, name, text):
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_bundled_definitions():
    definitions = load_definitions()
    # One definition per file, sorted by id; the shipped ones are all there.
    assert [d.id for d in definitions] == sorted(p.stem for p in DEFINITIONS_DIR.glob("*.yaml"))
    assert {"abx_access", "abx_iv", "best_value_doacs"} <= {d.id for d in definitions}
    iv = {d.id: d for d in definitions}["abx_iv"]
    assert iv.quantity == "ddd" and iv.lower_is_better is True
    assert iv.numerator == ProductSelection(route=("Injectable",))
    assert iv.denominator.route == ("Oral", "Injectable")
    assert iv.denominator.any_of[0] == ProductSelection(atc_prefix=("J01",))
    assert iv.denominator.exclude.any_of[1] == ProductSelection(vmp_codes=("324503008",))
    assert iv.source == DEFINITIONS_DIR / "abx_iv.yaml"
    assert "OpenPrescribing Hospitals" in iv.citation
    access = {d.id: d for d in definitions}["abx_access"]
    assert access.lower_is_better is False and access.numerator.aware == ("Access",)


def test_a_single_value_is_a_list_of_one(tmp_path):
    definition = load_definition(_write(tmp_path, "carbapenems", VALID.format(id="carbapenems")))
    assert definition.denominator.atc_prefix == ("J01",)
    assert definition.description is None and definition.method is None


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ("quantity: ddd", "quantity: ddds", "quantity", "'ddds' is not one of ddd, quantity, cost"),
        (
            "lower_is_better: true",
            "lower_is_better: yes please",
            "lower_is_better",
            "expected true, false or null",
        ),
        ("lower_is_better: true\n", "", "lower_is_better", "required field is missing"),
        ("title: Carbapenems", "title: Carbapenems\ntitel: typo", "titel", "unknown field"),
        ("title: Carbapenems", "title: ''", "title", "expected text"),
        (
            "  route: [Oral, Injectable]",
            "  rout: [Oral]",
            "denominator.rout",
            "unknown selection key",
        ),
        (
            "  atc_prefix: [J01DH]",
            "  name_pattern: '(unclosed'",
            "numerator.name_pattern",
            "not a valid regular expression",
        ),
        (
            "  atc_prefix: [J01DH]",
            "  vmp_codes: [324503008.0]",
            "numerator.vmp_codes",
            "write dm+d codes in quotes",
        ),
        ("  atc_prefix: [J01DH]", "  vmp_codes: ['J01']", "numerator.vmp_codes", "not a dm+d code"),
        ("  atc_prefix: [J01DH]", "  any_of: []", "numerator.any_of", "non-empty list"),
        (
            "  atc_prefix: [J01DH]",
            "  any_of:\n    - route: Oral\n    - routes: Oral",
            "numerator.any_of[1].routes",
            "unknown selection key",
        ),
        (
            "  atc_prefix: [J01DH]",
            "  exclude:\n    route: [Oral]",
            "numerator",
            "select products with at least one",
        ),
        (
            "numerator:\n  atc_prefix: [J01DH]",
            "numerator: J01DH",
            "numerator",
            "expected a product selection",
        ),
        ("id: carbapenems", "id: Carbapenems", "id", "not a short name"),
        ("id: carbapenems", "id: meropenem", "id", "differs from the file's name 'carbapenems'"),
    ],
)
def test_errors_name_the_file_and_the_field(tmp_path, old, new, field, problem):
    text = VALID.format(id="carbapenems")
    assert old in text
    path = _write(tmp_path, "carbapenems", text.replace(old, new, 1))
    with pytest.raises(MeasureDefinitionError) as caught:
        load_definition(path)
    error = caught.value
    assert (error.path, error.field) == ("carbapenems.yaml", field)
    assert problem in error.problem
    assert str(error).startswith(f"carbapenems.yaml: field '{field}': ")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: &x [1]\nb: *x\n", "YAML aliases are not allowed"),
        ("id: x\nid: y\n", "appears twice"),
        ("id: [unclosed\n", "not valid YAML"),
        ("- a list\n", "expected a mapping"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path, text, problem):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MeasureDefinitionError, match=problem) as caught:
        load_definition(path)
    assert caught.value.path == "broken.yaml"
    assert str(caught.value).startswith("broken.yaml: ")


def test_a_team_folder_adds_to_the_package_definitions(tmp_path):
    _write(tmp_path, "carbapenems", VALID.format(id="carbapenems"))
    ids = [d.id for d in load_definitions([DEFINITIONS_DIR, tmp_path])]
    package = [d.id for d in load_definitions()]
    assert ids == sorted([*package, "carbapenems"])
    assert [d.id for d in load_definitions(tmp_path)] == ["carbapenems"]


def test_the_same_id_twice_names_both_files(tmp_path):
    _write(tmp_path, "abx_iv", VALID.format(id="abx_iv"))
    with pytest.raises(MeasureDefinitionError, match="also defined in") as caught:
        load_definitions([DEFINITIONS_DIR, tmp_path])
    assert caught.value.field == "id"
    assert caught.value.path == str(tmp_path / "abx_iv.yaml")


def test_a_missing_folder(tmp_path):
    with pytest.raises(MeasureDefinitionError, match="folder not found"):
        load_definitions(tmp_path / "nowhere")
