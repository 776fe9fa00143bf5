import pandas as pd
import pytest

from medlib.present.outputs import publish_tables


def test_publish_tables_writes_csv(tmp_path):
    written = publish_tables({"spend": pd.DataFrame({"a": [1, 2]})}, tmp_path / "t")
    assert [p.name for p in written] == ["spend.csv"]
    assert (tmp_path / "t" / "spend.csv").read_text() == "a\n1\n2\n"
    assert list((tmp_path / "t").glob(".*tmp")) == []


def test_interactive_run_writes_nothing(tmp_path):
    assert publish_tables({"spend": pd.DataFrame({"a": [1]})}, "") == []


def test_bad_table_name(tmp_path):
    with pytest.raises(ValueError, match="snake_case"):
        publish_tables({"Spend Table": pd.DataFrame()}, tmp_path)
