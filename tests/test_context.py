"""A report's trust, period and data source are resolved once, with one set of messages."""

import pandas as pd
import pytest

from medlib.context import check_period_end, check_trust_code, resolve_context
from medlib.errors import InputError
from medlib.reference.trusts import UnknownTrustError

NENC_TRUSTS = ("R0B", "RNN", "RR7", "RTD", "RTF", "RTR", "RVW", "RX3", "RX4", "RXP")


def test_a_trust_is_resolved_from_the_reference():
    context = resolve_context(" rtd ", "2023-12", data_source="scmd_lithium")
    assert context.code == "RTD" and context.trust_codes == ("RTD",)
    assert context.name == "The Newcastle upon Tyne Hospitals NHS Foundation Trust"
    assert (context.icb_code, context.region) == ("QHM", "North East and Yorkshire")
    assert not context.is_system and context.comparison_group == "region"
    assert context.period_end == pd.Timestamp("2023-12-01")
    assert context.census_date == pd.Timestamp("2023-12-31")
    assert context.period_end_label == "December 2023"
    assert context.data_source == "scmd_lithium"


def test_a_february_census_date_is_the_last_day_of_the_month():
    assert resolve_context("RTD", "2024-02").census_date == pd.Timestamp("2024-02-29")


def test_an_icb_code_is_the_system_of_its_current_trusts():
    context = resolve_context("QHM", "2024-03")
    assert context.is_system and context.trust_codes == NENC_TRUSTS
    assert context.name == "NHS North East and North Cumbria (10 trusts)"


def test_a_named_system_keeps_its_members_once_each():
    context = resolve_context("North East", "2024-03", system_trusts=["rtd", "RR7", "RTD"])
    assert context.is_system and context.trust_codes == ("RTD", "RR7")
    assert context.name == "the North East system (2 trusts)"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ZZZ", "'ZZZ' is not a trust in the bundled trusts reference"),
        ("RT0", r"did you mean 'RXT', 'RTX', 'RTV'\?"),
        ("RNL", "'RNL' merged into 'RNN'; use 'RNN' instead"),
        ("", "trust_code must be an ODS trust code such as 'RTD', got ''"),
    ],
)
def test_a_bad_trust_is_one_clear_error(code, message):
    with pytest.raises(UnknownTrustError, match=message):
        resolve_context(code, "2024-03")


def test_a_system_member_is_checked_like_a_trust():
    with pytest.raises(UnknownTrustError, match="'RNL' merged into 'RNN'"):
        resolve_context("North", "2024-03", system_trusts=["RTD", "RNL"])


def test_the_renderer_check_accepts_its_own_table():
    known = {"RAA": None, "ROLD": "RAA"}
    assert check_trust_code("raa", known) == "RAA"
    with pytest.raises(UnknownTrustError, match="'ROLD' merged into 'RAA'; use 'RAA' instead"):
        check_trust_code("ROLD", known)


@pytest.mark.parametrize("value", ["2024-13", "March 2024", "", None])
def test_a_bad_period_end_is_refused(value):
    with pytest.raises(InputError, match="period_end must be a month"):
        check_period_end(value)


def test_an_unknown_comparison_group_is_refused():
    with pytest.raises(InputError, match="comparison_group must be one of"):
        resolve_context("RTD", "2024-03", comparison_group="planet")


def test_reports_the_data_cannot_make_say_why():
    from medlib.context import report_unavailable

    bundled = {"store": ""}
    # Leeds Community Healthcare (RY6) has no lithium rows in the bundled extract.
    assert report_unavailable(["usage"], "RY6", bundled) == (
        "no usage rows for RY6 in the bundled sample"
    )
    # R0B reports through its predecessors RLN and RE9: their rows count as its own.
    assert report_unavailable(["usage"], "R0B", bundled) is None
    assert report_unavailable(["patients"], "RAE", {}) == (
        "no polypharmacy data for RAE: the synthetic patients are of 13 other trusts; ingest a "
        "patient extract into the store (medlib ingest FOLDER --table patients) or give "
        "patient_data_dir"
    )
    assert report_unavailable(["patients"], "RAE", {"patient_data_dir": "extract/"}) is None
    assert report_unavailable([], "RY6", {}) is None


def test_an_icb_code_lists_its_current_trusts():
    from medlib.reference.trusts import icb_members

    assert icb_members("qwo") == ("RAE", "RCF", "RGD", "RR8", "RWY", "RXF", "RXG", "RY6", "TAD")
    assert icb_members("RTD") == () and icb_members("ZZZ") == ()
