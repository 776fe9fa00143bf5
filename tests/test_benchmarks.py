"""The benchmark scripts stay runnable: each imports against the current package."""

import importlib.util

import pytest

from medlib.paths import PROJECT_ROOT

SCRIPTS = sorted((PROJECT_ROOT / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_benchmark_imports(path):
    spec = importlib.util.spec_from_file_location(f"benchmark_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # top level only: each runs under `if __name__ == "__main__"`
    assert callable(module.main)


def test_the_render_benchmarks_empty_notebook_is_a_valid_report_notebook(tmp_path):
    import json

    from medlib.render.params import inspect_report_notebook

    path = PROJECT_ROOT / "benchmarks" / "render.py"
    spec = importlib.util.spec_from_file_location("benchmark_render", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    notebook = tmp_path / "empty.ipynb"
    notebook.write_text(json.dumps(module.EMPTY_NOTEBOOK), encoding="utf-8")
    assert sorted(inspect_report_notebook(notebook).parameters) == [
        "period_end",
        "tables_dir",
        "trust_code",
    ]
