"""Rendering packs: parallel runs, failures, the guard, atomic outputs, kill and resume.

The renders use tiny notebooks written into temporary folders (see ``render_fixtures``) so the
whole file runs in well under a minute on two cores. The last test renders the real sample
parameter set with the project's notebooks.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import typer
from openpyxl import load_workbook
from render_fixtures import (
    TRUSTS,
    dying_notebook,
    flaky_kernel,
    good_notebook,
    leaking_notebook,
    raising_notebook,
    sharing_notebook,
    sleeping_notebook,
    write_notebook,
    write_parameter_set,
)
from typer.testing import CliRunner

from medlib.paths import NOTEBOOKS_DIR, PROJECT_ROOT
from medlib.render import ParameterError, load_parameter_set, render_pack
from medlib.render.cli import EXIT_FAILED, EXIT_INVALID, report
from medlib.render.excel import read_table_csv, sheet_names
from medlib.render.manifest import file_sha256, is_complete
from medlib.render.runner import select_reports

app = typer.Typer()
app.command("report")(report)


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def statuses(out: Path) -> dict[str, str]:
    return {k: v["status"] for k, v in manifest(out)["reports"].items()}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> dict:
    """Two trusts x three notebooks: one succeeds, one raises for RTF, one leaks a count."""
    root = tmp_path_factory.mktemp("mixed")
    nbs = root / "notebooks"
    good_notebook(nbs)
    raising_notebook(nbs, bad_trust="RTF")
    leaking_notebook(nbs, leak="table")
    params = write_parameter_set(root / "mixed.yaml", notebooks=["good", "fragile", "leaky"])
    out = root / "pack"
    code, output = run_cli(
        str(params),
        "--notebooks-dir", str(nbs),
        "--output-dir", str(out),
        "--jobs", "2",
        "--no-progress",
    )  # fmt: skip
    return {"code": code, "output": output, "out": out, "root": root}


def test_one_failure_leaves_the_others_rendered_and_exits_non_zero(mixed):
    assert mixed["code"] == EXIT_FAILED
    assert statuses(mixed["out"]) == {
        "RTD/good": "ok",
        "RTD/fragile": "ok",
        "RTD/leaky": "failed",
        "RTF/good": "ok",
        "RTF/fragile": "failed",
        "RTF/leaky": "failed",
    }
    error = manifest(mixed["out"])["reports"]["RTF/fragile"]["error"]
    assert error == "cell 4 raised ValueError: no data for RTF"
    assert "3 ok, 3 failed" in mixed["output"]


def test_report_html_has_no_code_and_shows_the_chart(mixed):
    page = (mixed["out"] / "RTD" / "good.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page
    assert "publish_tables" not in page and "plt.subplots" not in page
    assert "<title>Good: The Newcastle upon Tyne Hospitals NHS Foundation Trust (RTD)" in page
    assert 'href="../index.html"' in page
    # Self-contained: nothing loaded from a CDN.
    assert not re.search(r"<script[^>]+src=", page)


def test_warnings_stay_in_the_notebook_not_on_the_page(mixed):
    out = mixed["out"]
    assert "analyst-only warning" not in (out / "RTD" / "good.html").read_text(encoding="utf-8")
    assert "analyst-only warning" in (out / "RTD" / "good.ipynb").read_text(encoding="utf-8")
    assert manifest(out)["reports"]["RTD/good"]["stderr_outputs"] == 1


def test_failed_and_refused_reports_leave_no_page(mixed):
    out = mixed["out"]
    assert not (out / "RTF" / "fragile.html").exists()
    assert not (out / "RTF" / "fragile.ipynb").exists()
    assert not (out / "RTD" / "leaky.html").exists()
    assert not list(out.glob("*/tables/leaky_table.csv"))
    assert not (out / ".staging").exists()


def test_guard_refusal_says_why(mixed):
    entry = manifest(mixed["out"])["reports"]["RTD/leaky"]
    assert entry["error"].startswith("refused to publish: 1 disclosure or contract finding")
    assert entry["findings"] == [
        "table leaky_table, column 'n_patients', row 0: unsuppressed patient count '3' "
        "(counts 1-7 must be shown as '*')"
    ]


def test_tables_and_one_workbook_per_trust(mixed):
    out = mixed["out"]
    assert sorted(p.name for p in (out / "RTD" / "tables").iterdir()) == [
        "demo_table.csv",
        "fragile_table.csv",
    ]
    assert sorted(p.name for p in (out / "RTF" / "tables").iterdir()) == ["demo_table.csv"]
    book = load_workbook(out / "RTD" / "RTD_tables.xlsx")
    assert book.sheetnames == ["About", "demo_table", "fragile_table"]
    rows = list(book["demo_table"].values)
    # The header shows labels; the CSV keeps the machine names (trust_code, patients, cost_gbp).
    assert rows == [("Trust code", "Patients", "Spend (£)"), ("RTD", "*", 1250.5)]
    assert load_workbook(out / "RTF" / "RTF_tables.xlsx").sheetnames == ["About", "demo_table"]


def test_published_files_are_readable_like_any_new_file(mixed):
    # Atomic writes start as owner-only temporary files; a shared pack must not stay that way.
    mask = os.umask(0)
    os.umask(mask)
    for rel in ("RTD/tables/demo_table.csv", "RTD/RTD_tables.xlsx", "index.html", "manifest.json"):
        assert stat.S_IMODE((mixed["out"] / rel).stat().st_mode) == 0o666 & ~mask, rel


def test_manifest_records_inputs_code_and_each_report(mixed):
    data = manifest(mixed["out"])
    assert data["parameter_set"]["name"] == "test"
    assert data["parameter_set"]["source"].endswith("mixed.yaml")
    assert data["medlib_version"]
    assert set(data["git"]) == {"commit", "dirty"}
    lithium = next(f for f in data["data_files"] if f["path"].endswith("scmd_lithium.parquet"))
    assert lithium["date_range"] == ["2019-04", "2024-03"]
    assert lithium["path"] == "medlib/data/scmd_lithium.parquet"
    assert data["run"]["status"] == "incomplete"
    entry = data["reports"]["RTF/good"]
    assert entry["parameters"] == {"period_end": "2024-03", "trust_code": "RTF"}
    assert set(entry["timings"]) == {"execute", "guard", "html"}
    assert entry["attempts"] == 1
    for rel, digest in entry["files"].items():
        assert file_sha256(mixed["out"] / rel) == digest
    assert sorted(entry["files"]) == [
        "RTF/good.html",
        "RTF/good.ipynb",
        "RTF/tables/demo_table.csv",
    ]


def test_index_links_complete_reports_and_explains_failures(mixed):
    page = (mixed["out"] / "index.html").read_text(encoding="utf-8")
    assert page.count(">Report</a>") == 3
    assert 'href="RTD/good.html"' in page and 'href="RTF/fragile.html"' not in page
    assert "This pack is incomplete: 3 of 6 reports are complete (3 failed)" in page
    assert "cell 4 raised ValueError: no data for RTF" in page
    assert 'href="RTD/RTD_tables.xlsx"' in page


def test_executed_notebook_is_kept_without_machine_paths(mixed):
    nb = nbformat.read(mixed["out"] / "RTF" / "good.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'trust_code = "RTF"' in injected.source
    assert 'tables_dir = "tables"' in injected.source
    text = (mixed["out"] / "RTF" / "good.ipynb").read_text(encoding="utf-8")
    assert str(mixed["root"]) not in text


def test_misspelt_key_fails_before_any_kernel_starts(tmp_path, monkeypatch):
    nbs = tmp_path / "notebooks"
    good_notebook(nbs)
    params = write_parameter_set(tmp_path / "p.yaml", parameters={"scael": 2.0})

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started")

    monkeypatch.setattr("medlib.render.runner.ProcessPoolExecutor", no_pool)
    monkeypatch.setattr("papermill.execute_notebook", no_pool)
    out = tmp_path / "pack"
    with pytest.raises(ParameterError, match=r"parameters\.scael: no notebook of this set"):
        render_pack(params, notebooks_dir=nbs, output_dir=out)
    assert not out.exists()
    code, output = run_cli(str(params), "--notebooks-dir", str(nbs), "--output-dir", str(out))
    assert code == EXIT_INVALID
    assert "parameters.scael" in output and "did you mean 'scale'?" in output
    assert not out.exists()


def test_work_shared_between_reports_is_computed_once_and_removed_after(tmp_path):
    nbs = tmp_path / "notebooks"
    sharing_notebook(nbs)
    params = write_parameter_set(tmp_path / "share.yaml", notebooks=["sharing"])
    tables = {}
    for share in (True, False):
        out = tmp_path / f"pack-{share}"
        result = render_pack(
            params, notebooks_dir=nbs, output_dir=out, jobs=1, progress=False, share_work=share
        )
        assert result.ok, [r.error for r in result.failed]
        assert not (out / ".staging").exists()
        assert manifest(out)["run"]["shared_work"] is share
        tables[share] = pd.concat(
            [pd.read_csv(out / t / "tables" / "sharing.csv") for t in ("RTD", "RTF")]
        )
    shared, separate = tables[True], tables[False]
    # One job renders RTD then RTF: RTF's kernel finds the fit RTD's kernel stored.
    assert shared["folder_given"].tolist() == [True, True]
    assert shared["found_shared_result"].tolist() == [False, True]
    assert separate["folder_given"].tolist() == [False, False]
    assert separate["found_shared_result"].tolist() == [False, False]
    assert shared["ceiling"].tolist() == separate["ceiling"].tolist()
    # Rendered cells never reach the analyst's IPython history.
    assert shared["history_enabled"].tolist() == [False, False]


def test_an_output_dir_that_is_a_file_is_refused_before_any_kernel(tmp_path):
    nbs = tmp_path / "notebooks"
    good_notebook(nbs)
    params = write_parameter_set(tmp_path / "p.yaml")
    (tmp_path / "taken").write_text("not a folder")
    for out in (tmp_path / "taken", tmp_path / "taken" / "pack"):
        with pytest.raises(ParameterError) as caught:
            render_pack(params, notebooks_dir=nbs, output_dir=out, progress=False)
        assert caught.value.problems == [
            f"--output-dir: {tmp_path / 'taken'} is a file; expected a folder"
        ]


def test_selection_options_are_checked(tmp_path):
    pset = load_parameter_set(
        write_parameter_set(tmp_path / "p.yaml", trusts=["RTD", "RTF", "RR7"]),
        known_trusts=TRUSTS,
    )
    assert select_reports(pset, None, None, 2) == (["RTD", "RTF"], ["good"])
    assert select_reports(pset, ["RR7", "RTD"], ["good"], None) == (["RTD", "RR7"], ["good"])
    with pytest.raises(ParameterError) as caught:
        select_reports(pset, ["RXX"], ["bad"], 0)
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "--trusts",
        "--notebooks",
        "--limit",
    ]


def test_a_kernel_that_exits_while_starting_is_started_again(tmp_path, monkeypatch):
    marker = tmp_path / "exited-once"
    kernel = flaky_kernel(tmp_path / "jupyter", marker)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nbs = tmp_path / "notebooks"
    good_notebook(nbs)
    pset = load_parameter_set(
        write_parameter_set(tmp_path / "p.yaml", trusts=["RTD"]), known_trusts=TRUSTS
    )
    result = render_pack(
        pset,
        notebooks_dir=nbs,
        output_dir=tmp_path / "pack",
        jobs=1,
        kernel_name=kernel,
        progress=False,
    )
    [only] = result.reports
    assert marker.read_text() == "exited while starting"
    assert (only.status, only.attempts, only.error) == ("ok", 2, None)
    assert (tmp_path / "pack" / "RTD" / "good.html").is_file()


def test_dead_kernel_is_retried_once_and_a_hung_notebook_times_out(tmp_path):
    import psutil

    nbs = tmp_path / "notebooks"
    dying_notebook(nbs, marker=tmp_path / "died-once")
    sleeping_notebook(nbs, seconds=120)
    pset = load_parameter_set(
        write_parameter_set(
            tmp_path / "p.yaml",
            trusts=["RTD"],
            notebooks=["dies_once", "sleepy"],
            timeout_seconds=6,
        ),
        known_trusts=TRUSTS,
    )
    result = render_pack(
        pset, notebooks_dir=nbs, output_dir=tmp_path / "pack", jobs=2, progress=False
    )
    by_nb = {r.notebook: r for r in result.reports}
    assert (by_nb["dies_once"].status, by_nb["dies_once"].attempts) == ("ok", 2)
    assert by_nb["sleepy"].status == "failed"
    # Stopped by the 6 s limit (the watchdog or the cell timeout, whichever fires first),
    # not after its 120 s sleep.
    assert "timeout_seconds (6 s)" in by_nb["sleepy"].error
    assert not result.ok
    # No kernel outlives the render (a kernel's working folder is its report's staging folder).
    left = []
    for proc in psutil.process_iter():
        try:
            if str(tmp_path) in proc.cwd():
                left.append(proc)
        except psutil.Error:
            continue
    assert left == []


def _start_render(params: Path, nbs: Path, out: Path, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "medlib.render", str(params),
        "--notebooks-dir", str(nbs), "--output-dir", str(out), "--jobs", "2", "--no-progress",
        *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _assert_nothing_partial_looks_complete(out: Path) -> None:
    data = manifest(out)
    page = (out / "index.html").read_text(encoding="utf-8")
    linked = set(re.findall(r'href="(\w+/\w+)\.html"', page))
    for key, entry in data["reports"].items():
        if key in linked:
            # A linked report is complete: ok, with every file present and unchanged.
            assert entry["status"] == "ok", key
            assert all(file_sha256(out / rel) == h for rel, h in entry["files"].items()), key
    for html_page in out.glob("*/*.html"):
        if html_page.parent.name == "latest":
            continue  # the link to the last complete version, not a trust's folder
        trust, notebook = html_page.parent.name, html_page.stem
        entry = data["reports"][f"{trust}/{notebook}"]
        # A page on disk always has its notebook and tables beside it.
        assert (html_page.parent / f"{notebook}.ipynb").exists()
        assert all((html_page.parent / "tables" / f"{t}.csv").exists() for t in entry["tables"])
    for trust, record in data.get("trusts", {}).items():
        # A workbook the index offers is intact and holds every complete report's tables
        # (a trust's workbook is withdrawn while a report of it is being published).
        assert f'href="{record["workbook"]}"' in page
        assert file_sha256(out / record["workbook"]) == record["sha256"]
        sheets = load_workbook(out / record["workbook"], read_only=True).sheetnames
        complete = [
            t
            for key, entry in data["reports"].items()
            if key.startswith(trust + "/") and key in linked
            for t in entry["tables"]
        ]
        assert sorted(sheets) == sorted(["About", *complete])


def test_killed_render_is_never_presented_as_complete_and_resume_completes_it(tmp_path):
    nbs = tmp_path / "notebooks"
    table = (
        "import pandas as pd\nfrom medlib.present.outputs import publish_tables\n"
        "publish_tables({{'{name}': pd.DataFrame({{'trust_code': [trust_code]}})}}, tables_dir)"
    )
    params_cell = 'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""'
    write_notebook(nbs / "quick.ipynb", params_cell, table.format(name="quick_table"))
    write_notebook(
        nbs / "slow.ipynb", params_cell, "import time\ntime.sleep(1.5)", table.format(name="slow")
    )
    params = write_parameter_set(tmp_path / "p.yaml", notebooks=["quick", "slow"])
    out = tmp_path / "pack"
    render = _start_render(params, nbs, out)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if (out / "manifest.json").exists() and "ok" in statuses(out).values():
                break
            time.sleep(0.05)
        else:
            pytest.fail("no report finished within 90 s")
    finally:
        os.killpg(render.pid, signal.SIGKILL)
        render.communicate()

    before = manifest(out)
    assert before["run"]["status"] == "running"
    assert any(e["status"] != "ok" for e in before["reports"].values()), "kill came too late"
    _assert_nothing_partial_looks_complete(out)
    assert "This pack is incomplete" in (out / "index.html").read_text(encoding="utf-8")
    done_before = {k: e["finished"] for k, e in before["reports"].items() if e["status"] == "ok"}

    resumed = _start_render(params, nbs, out, "--resume")
    output, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, output
    after = manifest(out)
    assert after["run"]["status"] == "complete"
    assert set(statuses(out).values()) == {"ok"}
    # Reports complete before the kill were not rendered again.
    assert {k: after["reports"][k]["finished"] for k in done_before} == done_before
    assert f"{len(done_before)} already complete" in output
    _assert_nothing_partial_looks_complete(out)
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count(">Report</a>") == 4 and "incomplete" not in page
    assert not (out / ".staging").exists()


def test_changed_or_missing_file_makes_a_report_incomplete(tmp_path):
    page = tmp_path / "RTD" / "good.html"
    page.parent.mkdir()
    page.write_text("report", encoding="utf-8")
    entry = {"status": "ok", "inputs_sha256": "abc", "files": {"RTD/good.html": file_sha256(page)}}
    assert is_complete(tmp_path, entry, "abc")
    assert not is_complete(tmp_path, entry, "other inputs")
    assert not is_complete(tmp_path, {**entry, "status": "pending"}, "abc")
    page.write_text("changed", encoding="utf-8")
    assert not is_complete(tmp_path, entry, "abc")
    page.unlink()
    assert not is_complete(tmp_path, entry, "abc")


def test_sheet_names_are_short_and_unique():
    long = "polypharmacy_patients_by_number_of_medicines"
    names = sheet_names(["spend_by_month", long, long + "_x", "about"])
    # 31 characters at most; a clash gets "~2"; "about" clashes with the About sheet.
    assert names == {
        "spend_by_month": "spend_by_month",
        long: long[:31],
        long + "_x": long[:29] + "~2",
        "about": "about~2",
    }


def test_workbook_tables_keep_codes_as_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "vmp_code,trust_code,patients,cost_gbp\n39720311000001101,RTD,*,1.5\n0123,RTF,10,2\n",
        encoding="utf-8",
    )
    table = read_table_csv(path)
    assert table["vmp_code"].tolist() == ["39720311000001101", "0123"]
    assert table["patients"].tolist() == ["*", 10]
    assert table["cost_gbp"].tolist() == [1.5, 2.0]


SAMPLE_NOTEBOOKS = ("spend_trends", "switch_uptake", "polypharmacy_audit", "measures", "wet_amd")


@pytest.mark.notebook
def test_sample_pack_renders_with_the_real_notebooks(tmp_path):
    missing = [nb for nb in SAMPLE_NOTEBOOKS if not (NOTEBOOKS_DIR / f"{nb}.ipynb").exists()]
    assert not missing, f"report notebooks missing: {missing}"
    out = tmp_path / "sample"
    result = render_pack("sample", output_dir=out, limit=2, jobs=2, progress=False)
    assert result.ok, [(r.trust_code, r.notebook, r.error) for r in result.failed]
    trusts = [r.trust_code for r in result.reports]
    assert sorted(set(trusts)) == ["RR7", "RTD"]
    for trust in ("RTD", "RR7"):
        for nb in SAMPLE_NOTEBOOKS:
            page = (out / trust / f"{nb}.html").read_text(encoding="utf-8")
            assert "<img" in page and "Traceback" not in page
        spend = pd.read_csv(out / trust / "tables" / "spend_by_financial_year.csv")
        assert list(spend.columns[:5]) == [
            "trust_code",
            "financial_year",
            "cost_gbp",
            "yoy_change_gbp",
            "yoy_change_pct",
        ]
        book = load_workbook(out / trust / f"{trust}_tables.xlsx", read_only=True)
        assert "spend_by_financial_year" in book.sheetnames
    data = manifest(out)
    assert {e["status"] for e in data["reports"].values()} == {"ok"}
    assert len(data["reports"]) == 2 * len(SAMPLE_NOTEBOOKS)
    assert data["run"]["shared_work"] is True
    assert not (out / ".staging").exists()
    assert "This pack is incomplete" in (out / "index.html").read_text(encoding="utf-8")


def _staged(folder: Path, notebook: str, tables: dict[str, str]) -> Path:
    (folder / "tables").mkdir(parents=True)
    (folder / f"{notebook}.html").write_text(f"<html>{notebook}</html>", encoding="utf-8")
    (folder / f"{notebook}.ipynb").write_text("{}", encoding="utf-8")
    for name, text in tables.items():
        (folder / "tables" / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def test_publishing_moves_reports_in_and_clears_reports_that_leave_the_set(tmp_path):
    from medlib.render.execute import ReportOutcome
    from medlib.render.manifest import new_manifest
    from medlib.render.params import parse_parameter_set
    from medlib.render.publish import PackWriter

    def writer_for(notebooks: list[str], manifest_data: dict) -> PackWriter:
        pset = parse_parameter_set(
            {"name": "t", "title": "T", "period_end": "2024-03", "trusts": ["RTD"],
             "notebooks": notebooks},
            known_trusts=TRUSTS,
        )  # fmt: skip
        inputs = {f"RTD/{nb}": "inputs-" + nb for nb in notebooks}
        return PackWriter(out, pset, manifest_data, inputs, {"RTD": "Newcastle"})

    out = tmp_path / "pack"
    out.mkdir()
    writer = writer_for(["good", "other"], new_manifest({"name": "t"}, []))
    params = {"RTD/good": {"trust_code": "RTD"}, "RTD/other": {"trust_code": "RTD"}}
    writer.schedule(["RTD/good", "RTD/other"], params, {"status": "running"})
    assert statuses(out) == {"RTD/good": "pending", "RTD/other": "pending"}

    staged = _staged(tmp_path / "s1", "good", {"shared": "trust_code,patients\nRTD,*\n"})
    done = writer.publish(ReportOutcome("RTD", "good", "ok", str(staged), tables=["shared"]))
    assert done.status == "ok" and not staged.exists()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "RTD/RTD_tables.xlsx",
        "RTD/good.html",
        "RTD/good.ipynb",
        "RTD/tables/shared.csv",
        "index.html",
        "manifest.json",
    ]
    assert load_workbook(out / "RTD" / "RTD_tables.xlsx").sheetnames == ["About", "shared"]
    assert (out / "index.html").read_text(encoding="utf-8").count(">Report</a>") == 1

    # A second notebook publishing a table of the same name is refused, and leaves nothing.
    clash = _staged(tmp_path / "s2", "other", {"shared": "trust_code\nRTD\n"})
    refused = writer.publish(ReportOutcome("RTD", "other", "ok", str(clash), tables=["shared"]))
    assert refused.status == "failed"
    assert refused.error.startswith("table 'shared' is also published by good")
    assert not (out / "RTD" / "other.html").exists() and not clash.exists()
    assert (out / "RTD" / "tables" / "shared.csv").read_text() == "trust_code,patients\nRTD,*\n"

    # "good" leaves the parameter set: its files, entry and the workbook go.
    writer = writer_for(["other"], manifest(out))
    writer.schedule(["RTD/other"], {"RTD/other": {"trust_code": "RTD"}}, {"status": "running"})
    assert statuses(out) == {"RTD/other": "pending"}
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["index.html", "manifest.json"]


class _Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, no clean-up."""


def test_a_kill_between_moves_leaves_the_report_pending_and_the_next_run_cleans_up(
    tmp_path, monkeypatch
):
    from medlib.render import publish
    from medlib.render.execute import ReportOutcome
    from medlib.render.manifest import load_manifest, new_manifest
    from medlib.render.params import parse_parameter_set

    pset = parse_parameter_set(
        {"name": "t", "title": "T", "period_end": "2024-03", "trusts": ["RTD"],
         "notebooks": ["good"]},
        known_trusts=TRUSTS,
    )  # fmt: skip
    out = tmp_path / "pack"
    out.mkdir()
    inputs = {"RTD/good": "x"}
    writer = publish.PackWriter(out, pset, new_manifest({"name": "t"}, []), inputs, {})
    writer.schedule(["RTD/good"], {"RTD/good": {}}, {"status": "running"})
    staged = _staged(tmp_path / "s", "good", {"shared": "trust_code\nRTD\n"})
    real_replace = os.replace

    def replace(source, target):
        if str(target).endswith(".html"):
            raise _Killed
        real_replace(source, target)

    monkeypatch.setattr(publish.os, "replace", replace)
    with pytest.raises(_Killed):
        writer.publish(ReportOutcome("RTD", "good", "ok", str(staged), tables=["shared"]))
    monkeypatch.setattr(publish.os, "replace", real_replace)

    # On disk: the tables and notebook moved in, but no page, and the entry still pending.
    on_disk = load_manifest(out)
    assert on_disk["reports"]["RTD/good"]["status"] == "pending"
    assert on_disk["reports"]["RTD/good"]["tables"] == ["shared"]
    assert (out / "RTD" / "tables" / "shared.csv").exists()
    assert not (out / "RTD" / "good.html").exists()
    assert ">Report</a>" not in (out / "index.html").read_text(encoding="utf-8")

    # The next run removes what the interrupted publish left behind before rendering again.
    writer = publish.PackWriter(out, pset, on_disk, inputs, {})
    writer.schedule(["RTD/good"], {"RTD/good": {}}, {"status": "running"})
    assert not (out / "RTD" / "tables" / "shared.csv").exists()
    assert not (out / "RTD" / "good.ipynb").exists()


def test_a_report_the_data_cannot_make_is_not_available_not_failed(tmp_path):
    nbs = tmp_path / "notebooks"
    path = good_notebook(nbs, name="audit")
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["medlib"] = {"needs": ["patients"]}
    nbformat.write(notebook, path)
    # RTD has synthetic patients; Leeds Teaching Hospitals (RR8) has none.
    params = write_parameter_set(tmp_path / "set.yaml", trusts=["RTD", "RR8"], notebooks=["audit"])
    out = tmp_path / "out"
    result = render_pack(params, notebooks_dir=nbs, output_dir=out, jobs=1, progress=False)
    assert result.ok and result.complete
    by_trust = {r.trust_code: r for r in result.reports}
    assert by_trust["RTD"].status == "ok"
    assert by_trust["RR8"].status == "not available"
    assert by_trust["RR8"].error.startswith("no polypharmacy data for RR8")
    assert statuses(out) == {"RTD/audit": "ok", "RR8/audit": "not available"}
    assert not (out / "RR8" / "audit.html").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Not available" in index and "no polypharmacy data for RR8" in index
    assert "1 of 2 reports are not available" in index and "incomplete" not in index
    again = render_pack(
        params, notebooks_dir=nbs, output_dir=out, jobs=1, progress=False, resume=True
    )
    assert {r.status for r in again.reports} == {"skipped"}
