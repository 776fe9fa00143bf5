"""Another region's pack: an ICB code for its trusts, and no failures where data is missing."""

from __future__ import annotations

import pytest

from medlib.render.params import load_parameter_set, resolve_parameter_path
from medlib.render.runner import render_pack


def test_the_west_yorkshire_set_expands_its_icb_code():
    pset = load_parameter_set(resolve_parameter_path("west_yorkshire"))
    assert pset.trusts == ("RAE", "RCF", "RGD", "RR8", "RWY", "RXF", "RXG", "RY6", "TAD")


@pytest.mark.notebook
def test_the_west_yorkshire_pack_renders_with_no_failed_report(tmp_path):
    out = tmp_path / "wy"
    result = render_pack(
        "west_yorkshire", output_dir=out, trusts=["RAE", "RY6"], jobs=2, progress=False
    )
    assert result.failed == []
    statuses = {(r.trust_code, r.notebook): r.status for r in result.reports}
    assert statuses == {
        ("RAE", "spend_trends"): "ok",
        ("RAE", "switch_uptake"): "ok",
        ("RAE", "polypharmacy_audit"): "not available",
        ("RAE", "measures"): "ok",
        ("RY6", "spend_trends"): "not available",
        ("RY6", "switch_uptake"): "ok",
        ("RY6", "polypharmacy_audit"): "not available",
        ("RY6", "measures"): "ok",
    }
    page = (out / "RAE" / "spend_trends.html").read_text(encoding="utf-8")
    assert "Bradford Teaching Hospitals" in page and "Traceback" not in page
