"""Issue case 9: codes are ASCII digits compared as text; control characters are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from medlib.io.store import Store, ingest
from medlib.io.usage import SCMD_PUBLISHED_HEADER, read_usage

HEADER = ",".join(SCMD_PUBLISHED_HEADER)
LEADING_ZERO = "malformed VMP code (expected a dm+d id: 6-20 ASCII digits, not starting with 0)"
ROWS = [
    ("202404,RTD,123456789,Good tablets,1,tablet,10,5.0", None),
    ("202404,RTD,0123456789,Good tablets,1,tablet,10,5.0", LEADING_ZERO),
    ("202404,RR7,\u0661\u0662\u0663\u0664\u0665\u0666\u0667,Arabic,1,tablet,10,5.0", LEADING_ZERO),
    ("202404,RR7,\uff11\uff12\uff13\uff14\uff15\uff16\uff17,Wide,1,tablet,10,5.0", LEADING_ZERO),
    ("\uff12\uff10\uff12\uff14\uff10\uff14,RTD,223456789,Wide month,1,tablet,10,5.0",
     "unparseable date"),
    ("\u0662\u0660\u0662\u0664\u0660\u0664,RTD,323456789,Arabic month,1,tablet,10,5.0",
     "unparseable date"),
    ("202404,\uff32\uff34\uff24,423456789,Wide trust,1,tablet,10,5.0", "malformed trust code"),
    ("202404,RTD,523456789,Nul\x00name,1,tablet,10,5.0",
     "control character (such as NUL) in the product name"),
    ("202404,RTD,623456789,Fine,1,tab\x1blet,10,5.0",
     "control character (such as NUL) in the unit"),
]  # fmt: skip


@pytest.fixture
def published(tmp_path) -> Path:
    path = tmp_path / "scmd_final_202404.csv"
    path.write_text(HEADER + "\n" + "\n".join(r for r, _ in ROWS) + "\n", encoding="utf-8")
    return path


def _expected() -> list[tuple[int, str]]:
    return [(line, why) for line, (_, why) in enumerate(ROWS, start=2) if why]


def test_the_reader_quarantines_each_case_with_its_reason(published):
    result = read_usage(published)
    assert result.data["vmp_code"].tolist() == ["123456789"]
    assert list(zip(result.quarantine["line"], result.quarantine["reason"], strict=True)) == (
        _expected()
    )
    # 0123456789 beside 123456789 is not a second product: no double count.
    assert result.data["quantity"].sum() == 10.0


def test_ingest_quarantines_the_same_rows(tmp_path, published):
    [done] = ingest([published], tmp_path / "store")
    assert (done.summary.rows_read, done.summary.rows_accepted) == (len(ROWS), 1)
    stored = Store(tmp_path / "store").read_usage()
    assert stored["vmp_code"].tolist() == ["123456789"]
    assert "\x00" not in "".join(stored["vmp_name"])
