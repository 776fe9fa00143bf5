import copy
import datetime as dt

import pytest
import yaml

from medlib.switch.definitions import (
    TARGET_PROFILES,
    SwitchDefinitionError,
    get_target_profile,
    load_switch_definitions,
    parse_switch_definitions,
    select_switches,
)

MINIMAL = {
    "schema_version": 1,
    "price_defaults": {
        "biosimilar": {"expected_reduction": 0.5, "target_uptake": 0.8, "months_to_target": 12},
        "generic": {"expected_reduction": 0.9, "target_uptake": 1.0, "months_to_target": 3},
    },
    "switches": [
        {
            "molecule": "testmab",
            "type": "biosimilar",
            "originator": ["Origo"],
            "best_value": ["Bestia", "Valora"],
            "launch_date": "2020-03-15",
            "launch_source": "made up for a test",
            "target_profile": "2025",
            "price": {"unit": "vial", "originator_price_per_unit": 100.0},
            "dosing": {"interval_days": 28, "units_per_dose": 1},
        }
    ],
}


def with_change(path, value):
    """A copy of MINIMAL with switches[0][path...] set to value (None deletes)."""
    doc = copy.deepcopy(MINIMAL)
    target = doc["switches"][0]
    *parents, last = path
    for key in parents:
        target = target[key]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return doc


class TestShippedFile:
    def test_ships_the_seven_required_switches(self):
        defs = load_switch_definitions()
        required = {
            "adalimumab",
            "etanercept",
            "infliximab",
            "rituximab",
            "trastuzumab",
            "ustekinumab",
            "ranibizumab",
        }
        assert required <= set(defs)

    def test_launch_dates_match_the_cited_sources(self):
        defs = load_switch_definitions()
        assert defs["adalimumab"].launch_date == dt.date(2018, 10, 16)
        assert defs["infliximab"].launch_date == dt.date(2015, 2, 25)
        assert defs["etanercept"].launch_date == dt.date(2016, 2, 1)
        assert defs["rituximab"].launch_date == dt.date(2017, 2, 24)
        assert defs["trastuzumab"].launch_date == dt.date(2018, 3, 8)
        assert defs["ustekinumab"].launch_date == dt.date(2024, 9, 1)
        assert defs["ranibizumab"].launch_date == dt.date(2022, 5, 17)

    def test_every_launch_has_a_source_and_biosimilar_defaults_apply(self):
        for d in load_switch_definitions().values():
            assert len(d.launch_source) > 10
            assert d.type == "biosimilar"
            # METHODS 2.11: biosimilar -50%, linear to 80% over 12 months.
            assert (
                d.price.expected_reduction,
                d.price.target_uptake,
                d.price.months_to_target,
            ) == (0.5, 0.8, 12)

    def test_adalimumab_has_a_vmp_proxy_with_disjoint_lists(self):
        proxy = load_switch_definitions()["adalimumab"].vmp_proxy
        assert proxy is not None
        assert proxy.best_value_like["11236911000001103"] == 0.8
        assert proxy.originator_like["32888111000001102"] == 0.4


class TestParse:
    def test_minimal_definition_fills_defaults(self):
        d = parse_switch_definitions(MINIMAL)["testmab"]
        assert d.launch_date == dt.date(2020, 3, 15)
        assert d.launch_month == dt.date(2020, 3, 1)
        assert d.price.expected_reduction == 0.5
        assert d.dosing.active_window_days == 56  # default 2 x 28-day interval
        assert d.target_profile is TARGET_PROFILES["2025"]

    def test_generic_defaults(self):
        d = parse_switch_definitions(with_change(["type"], "generic"))["testmab"]
        assert (d.price.expected_reduction, d.price.target_uptake, d.price.months_to_target) == (
            0.9,
            1.0,
            3,
        )

    def test_product_class_ignores_case_and_spaces(self):
        d = parse_switch_definitions(MINIMAL)["testmab"]
        assert d.product_class(" bestia ") == "best_value"
        assert d.product_class("ORIGO") == "originator"
        assert d.product_class("Hulio") == "other"

    def test_custom_target_profile(self):
        doc = with_change(
            ["target_profile"],
            {"new_share": 0.95, "new_months": 2, "existing_share": 0.9, "existing_months": 6},
        )
        p = parse_switch_definitions(doc)["testmab"].target_profile
        assert (p.name, p.new_share, p.new_months, p.existing_share, p.existing_months) == (
            "custom",
            0.95,
            2,
            0.9,
            6,
        )

    def test_yaml_date_objects_are_accepted(self):
        doc = yaml.safe_load("d: 2020-03-15")
        parsed = parse_switch_definitions(with_change(["launch_date"], doc["d"]))
        assert parsed["testmab"].launch_date == dt.date(2020, 3, 15)

    @pytest.mark.parametrize(
        ("path", "value", "message"),
        [
            (["colour"], "red", "switches[0] (testmab): unknown key(s) colour"),
            (["best_value"], [], "switches[0] (testmab).best_value: the list of brands is empty"),
            (["best_value"], "Bestia", "best_value: expected a list of brand names"),
            (["best_value"], ["Origo"], "listed as both originator and best value"),
            (["originator"], ["Origo", "origo"], "brand 'origo' is listed twice"),
            (["target_profile"], "2019", "target_profile: unknown target profile '2019'"),
            (
                ["target_profile"],
                {"new_share": 1.2, "new_months": 3, "existing_share": 0.8, "existing_months": 10},
                "target_profile.new_share",
            ),
            (["type"], "biologic", "type: expected one of biosimilar, generic"),
            (["molecule"], "Testmab", "write the molecule in lower case"),
            (["launch_date"], "15/03/2020", "launch_date: expected a date written YYYY-MM-DD"),
            (
                ["price", "originator_price_per_unit"],
                "100",
                "originator_price_per_unit: expected a number",
            ),
            (["price", "originator_price_per_unit"], -1.0, "expected a number greater than 0"),
            (
                ["price", "expected_reduction"],
                1.5,
                "expected_reduction: expected a number no more than 1",
            ),
            (["dosing", "interval_days"], 14.5, "interval_days: expected a whole number"),
            (["dosing", "active_window_days"], 10, "must be at least the dosing interval"),
            (["launch_source"], None, "missing required key(s) launch_source"),
            (["price", "unit"], None, "price: missing required key(s) unit"),
        ],
    )
    def test_errors_name_the_key(self, path, value, message):
        with pytest.raises(SwitchDefinitionError) as err:
            parse_switch_definitions(with_change(path, value))
        assert message in str(err.value)

    def test_missing_price_field_without_defaults(self):
        doc = copy.deepcopy(MINIMAL)
        del doc["price_defaults"]
        with pytest.raises(SwitchDefinitionError, match="price: missing expected_reduction"):
            parse_switch_definitions(doc)

    def test_duplicate_molecule(self):
        doc = copy.deepcopy(MINIMAL)
        doc["switches"].append(copy.deepcopy(doc["switches"][0]))
        with pytest.raises(SwitchDefinitionError, match="'testmab' is defined twice"):
            parse_switch_definitions(doc)

    def test_unknown_top_level_key_and_empty_list(self):
        with pytest.raises(SwitchDefinitionError, match="unknown key\\(s\\) switchs"):
            parse_switch_definitions({"switchs": []})
        with pytest.raises(SwitchDefinitionError, match="non-empty list"):
            parse_switch_definitions({"switches": []})

    def test_vmp_proxy_codes_must_be_digits_and_disjoint(self):
        proxy = {"label": "x", "best_value_like": {"123456": 1}, "originator_like": {"123456": 1}}
        with pytest.raises(SwitchDefinitionError, match="in both lists"):
            parse_switch_definitions(with_change(["vmp_proxy"], proxy))
        proxy = {"label": "x", "best_value_like": {"12ab": 1}, "originator_like": {"99999": 1}}
        with pytest.raises(SwitchDefinitionError, match="is not a dm\\+d id"):
            parse_switch_definitions(with_change(["vmp_proxy"], proxy))


class TestLoadAndSelect:
    def test_missing_and_invalid_files(self, tmp_path):
        with pytest.raises(SwitchDefinitionError, match="not found"):
            load_switch_definitions(tmp_path / "nope.yaml")
        bad = tmp_path / "bad.yaml"
        bad.write_text("switches: [unclosed", encoding="utf-8")
        with pytest.raises(SwitchDefinitionError, match="not valid YAML"):
            load_switch_definitions(bad)
        wrong = tmp_path / "wrong.yaml"
        wrong.write_text(yaml.safe_dump(with_change(["type"], "x")), encoding="utf-8")
        with pytest.raises(SwitchDefinitionError, match=r"wrong.yaml: switches\[0\]"):
            load_switch_definitions(wrong)

    def test_select_overrides_profile_and_checks_names(self):
        defs = parse_switch_definitions(MINIMAL)
        (chosen,) = select_switches(defs, ["testmab"], "2017")
        assert chosen.target_profile.existing_months == 12
        assert select_switches(defs, ["testmab"], "definition")[0].target_profile.name == "2025"
        with pytest.raises(SwitchDefinitionError, match="no definition for 'nivolumab'"):
            select_switches(defs, ["nivolumab"])
        with pytest.raises(SwitchDefinitionError, match="expected a non-empty list"):
            select_switches(defs, "testmab")
        with pytest.raises(SwitchDefinitionError, match="listed twice"):
            select_switches(defs, ["testmab", "testmab"])

    def test_profiles_follow_methods_2_11(self):
        p25, p17 = get_target_profile("2025"), get_target_profile(2017)
        assert (p25.new_share, p25.new_months, p25.existing_share, p25.existing_months) == (
            1.0,
            3,
            0.8,
            10,
        )
        assert (p17.new_share, p17.new_months, p17.existing_share, p17.existing_months) == (
            0.9,
            3,
            0.8,
            12,
        )
