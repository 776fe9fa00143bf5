"""Pack versions behind a stable ``latest`` link, and the digest of what changed since the last."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from render_fixtures import write_notebook, write_parameter_set

from medlib.io.datasets import load_dataset
from medlib.io.store import ingest
from medlib.io.usage import SCMD_PUBLISHED_HEADER
from medlib.paths import PROJECT_ROOT
from medlib.render.manifest import files_intact
from medlib.render.runner import render_pack
from medlib.render.versions import LATEST_LINK, VERSIONS_FOLDER, latest_version

TRUSTS = ["RTD", "RR7", "RTF"]
HEADER = ",".join(SCMD_PUBLISHED_HEADER)


def _month_file(folder: Path, month: pd.Period, scale: dict[str, float] | None = None) -> Path:
    usage = load_dataset("scmd_lithium")
    rows = usage[usage["trust_code"].isin(TRUSTS) & (usage["year_month"] == month.to_timestamp())]
    scale = scale or {}
    lines = [HEADER]
    for r in rows.itertuples():
        cost = "" if pd.isna(r.cost_gbp) else repr(r.cost_gbp * scale.get(r.trust_code, 1.0))
        lines.append(
            f'{month:%Y%m},{r.trust_code},{r.vmp_code},"{r.vmp_name}",1,{r.unit},{r.quantity!r},'
            f"{cost}"
        )
    path = folder / f"scmd_final_{month:%Y%m}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _params(folder: Path, period_end: str) -> Path:
    return write_parameter_set(
        folder / "own.yaml",
        name="own",
        period_end=period_end,
        trusts=TRUSTS,
        notebooks=["spend_trends"],
        data={"store": "store"},
        timeout_seconds=600,
    )


@pytest.mark.notebook
def test_a_planted_signal_a_new_month_and_a_moved_forecast_are_in_the_digest(tmp_path):
    packs, files = tmp_path / "packs", tmp_path / "files"
    files.mkdir()
    months = pd.period_range("2022-04", "2024-02", freq="M")
    ingest([_month_file(files, m) for m in months], packs / "store")
    out = tmp_path / "own"
    first = render_pack(_params(packs, "2024-02"), output_dir=out, jobs=2, progress=False)
    assert first.complete and first.version is not None
    assert "there is no previous pack" in (out / "digest.md").read_text(encoding="utf-8")
    assert latest_version(out) == first.version.resolve()

    # March 2024 arrives, with RTD's lithium spend 40 times its usual: far above its limit.
    ingest([_month_file(files, pd.Period("2024-03", "M"), {"RTD": 40.0})], packs / "store")
    second = render_pack(_params(packs, "2024-03"), output_dir=out, jobs=2, progress=False)
    assert second.complete and second.version is not None
    digest = (out / "digest.md").read_text(encoding="utf-8")
    assert f"Compared with the previous complete pack ({first.version.name})" in digest
    assert "The period end moved from 2024-02 to 2024-03." in digest
    assert "Store: scmd_final_202403.csv (usage, final) added or replaced 2024-03." in digest
    signals = digest.split("## New special-cause signals")[1].split("##")[0]
    assert "(RTD): special cause: high in the latest month (was common cause)" in signals
    assert "RR7" not in signals and "RTF" not in signals
    assert "Year-end forecast for" in digest and "(RTD)" in digest.split("## Year-end")[1]
    assert "## Spend since the last pack" in digest
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.index("What changed since the last pack") < page.index("The system at a glance")

    # Both versions are kept and complete; latest points at the new one.
    versions = sorted(p.name for p in (out / VERSIONS_FOLDER).iterdir())
    assert versions == sorted([first.version.name, second.version.name])
    assert (out / LATEST_LINK).resolve() == second.version.resolve()
    for version in (first.version, second.version):
        record = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        for entry in record["reports"].values():
            assert entry["status"] == "ok" and files_intact(version, entry["files"])
    old = json.loads((first.version / "manifest.json").read_text(encoding="utf-8"))
    assert old["parameter_set"]["period_end"] == "2024-02"

    # Nothing changed: no new version, and the digest still compares with the first pack.
    again = render_pack(
        _params(packs, "2024-03"), output_dir=out, jobs=2, progress=False, resume=True
    )
    assert again.version is None
    assert f"({first.version.name})" in (out / "digest.md").read_text(encoding="utf-8")


def test_the_previous_pack_stays_complete_and_browsable_while_a_render_runs(tmp_path):
    nbs = tmp_path / "notebooks"
    params_cell = 'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""'
    table = (
        "import pandas as pd\nfrom medlib.present.outputs import publish_tables\n"
        "publish_tables({'quick_table': pd.DataFrame({'trust_code': [trust_code]})}, tables_dir)"
    )
    write_notebook(nbs / "quick.ipynb", params_cell, table)
    params = write_parameter_set(tmp_path / "p.yaml", notebooks=["quick"])
    out = tmp_path / "pack"
    first = render_pack(params, notebooks_dir=nbs, output_dir=out, jobs=1, progress=False)
    assert first.complete and first.version is not None
    # The same pack again, now slow: each report sleeps, so the render is caught mid-way.
    write_notebook(
        nbs / "quick.ipynb",
        params_cell,
        "import time\ntime.sleep(2)",
        table,
    )
    command = [
        sys.executable, "-m", "medlib.render", str(params), "--notebooks-dir", str(nbs),
        "--output-dir", str(out), "--jobs", "1", "--no-progress",
    ]  # fmt: skip
    render = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        seen_running = False
        while time.monotonic() < deadline and render.poll() is None:
            live = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
            if live.get("run", {}).get("status") == "running":
                seen_running = True
                latest = out / LATEST_LINK
                assert latest.resolve() == first.version.resolve()
                kept = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
                assert kept["run"]["status"] == "complete"
                for entry in kept["reports"].values():
                    assert entry["status"] == "ok" and files_intact(latest, entry["files"])
                page = (latest / "index.html").read_text(encoding="utf-8")
                assert "This pack is incomplete" not in page
                for href in ("RTD/quick.html", "RTF/quick.html"):
                    assert (latest / href).is_file()
                break
            time.sleep(0.05)
        output, _ = render.communicate(timeout=120)
    finally:
        if render.poll() is None:
            render.kill()
    assert seen_running, "the render finished before it could be read mid-way"
    assert render.returncode == 0, output
    assert (out / LATEST_LINK).resolve() != first.version.resolve()
