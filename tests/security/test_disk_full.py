"""A full disk ends a render with its own exit code and message, the manifest marked failed.

Issue 15, item 7: a full disk raised an unhandled ``OSError: [Errno 28]`` from the manifest
writer, exited 1 (the code for "a report failed"), and left the manifest saying "running" and
the staging folder behind. The disk is filled by making the manifest writer (or a notebook's
own write) raise ``ENOSPC``, as a full disk does.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import psutil
import pytest
import typer
from render_fixtures import TRUSTS, good_notebook, write_notebook, write_parameter_set
from typer.testing import CliRunner

from medlib.render import load_parameter_set, render_pack
from medlib.render import publish as publish_module
from medlib.render.cli import EXIT_BUSY, EXIT_FAILED, EXIT_INVALID, EXIT_NO_SPACE, report
from medlib.render.runner import DiskFullError

app = typer.Typer()
app.command("report")(report)

STOPPED = (
    "no space left on device (writing manifest.json): the render of pack stopped after 0 "
    "reports rendered in this run; the staging folder was removed and "
)


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def fill_disk_when_publishing(monkeypatch, out: Path, *, frees: bool) -> list[int]:
    """Make the manifest write that records a finished report raise ENOSPC.

    That is the first write naming a report's tables. With ``frees``, later writes succeed
    again (the render's own clean-up freed space); without, every later write fails too.
    Returns the list the number of each refused write is appended to.
    """
    real = publish_module.write_manifest
    refused: list[int] = []
    count = 0

    def write(out_dir, data):
        nonlocal count
        count += 1
        publishing = any(entry.get("tables") for entry in data["reports"].values())
        if (publishing and not refused) or (refused and not frees):
            refused.append(count)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out / "manifest.json"))
        return real(out_dir, data)

    monkeypatch.setattr(publish_module, "write_manifest", write)
    return refused


@pytest.fixture
def pack(tmp_path):
    nbs = tmp_path / "notebooks"
    good_notebook(nbs)
    params = write_parameter_set(tmp_path / "p.yaml", trusts=["RTD", "RTF"])
    return {"nbs": nbs, "params": params, "out": tmp_path / "pack"}


def render(pack: dict):
    return render_pack(
        load_parameter_set(pack["params"], known_trusts=TRUSTS),
        notebooks_dir=pack["nbs"],
        output_dir=pack["out"],
        jobs=1,
        progress=False,
    )


def no_worker_left() -> list[str]:
    left = []
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in command or "ipykernel" in command:
            left.append(command)
    return left


def test_a_full_disk_stops_the_run_marks_the_manifest_failed_and_cleans_staging(pack, monkeypatch):
    out = pack["out"]
    refused = fill_disk_when_publishing(monkeypatch, out, frees=True)
    with pytest.raises(DiskFullError) as caught:
        render(pack)
    assert str(caught.value) == (
        STOPPED + "the manifest and the index record the run as failed. Free some space, "
        "then run it again with --resume."
    )
    assert caught.value.manifest_written is True
    assert len(refused) == 1
    data = manifest(out)
    assert data["run"]["status"] == "failed"
    assert data["run"]["error"] == "no space left on device (writing manifest.json)"
    assert {k: v["status"] for k, v in data["reports"].items()} == {
        "RTD/good": "failed",
        "RTF/good": "pending",
    }
    assert data["reports"]["RTD/good"]["error"] == "could not publish: no space left on device"
    assert data["reports"]["RTD/good"]["files"] == {}
    # Nothing of the report that was being published is left in the pack.
    assert not (out / "RTD" / "good.html").exists()
    assert not (out / "RTD" / "tables" / "demo_table.csv").exists()
    assert not (out / ".staging").exists()
    page = (out / "index.html").read_text(encoding="utf-8")
    assert (
        "This pack is incomplete: 0 of 2 reports are complete (1 failed); the last render "
        "stopped: no space left on device (writing manifest.json)." in page
    )
    assert no_worker_left() == []


def test_when_the_manifest_cannot_be_written_either_the_message_says_so(pack, monkeypatch):
    out = pack["out"]
    fill_disk_when_publishing(monkeypatch, out, frees=False)
    with pytest.raises(DiskFullError) as caught:
        render(pack)
    assert str(caught.value) == (
        STOPPED + "the manifest could not be updated either, so it does not record this "
        "failure. Free some space, then run it again with --resume."
    )
    assert caught.value.manifest_written is False
    # What is on disk is the last manifest written before the disk filled: as the message says.
    assert manifest(out)["run"]["status"] == "running"
    assert not (out / ".staging").exists()
    assert no_worker_left() == []


def test_a_notebook_that_finds_the_disk_full_stops_the_run_too(tmp_path):
    nbs = tmp_path / "notebooks"
    write_notebook(
        nbs / "nospace.ipynb",
        'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""',
        "import errno, os\nraise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))",
    )
    params = write_parameter_set(tmp_path / "p.yaml", trusts=["RTD", "RTF"], notebooks=["nospace"])
    out = tmp_path / "pack"
    with pytest.raises(DiskFullError) as caught:
        render_pack(
            load_parameter_set(params, known_trusts=TRUSTS),
            notebooks_dir=nbs,
            output_dir=out,
            jobs=1,
            progress=False,
        )
    assert str(caught.value) == (
        "no space left on device (rendering RTD/nospace): the render of pack stopped after 0 "
        "reports rendered in this run; the staging folder was removed and the manifest and the "
        "index record the run as failed. Free some space, then run it again with --resume."
    )
    data = manifest(out)
    assert data["run"]["status"] == "failed"
    assert {k: (v["status"], v.get("error")) for k, v in data["reports"].items()} == {
        "RTD/nospace": ("failed", "cell 4 raised OSError: [Errno 28] No space left on device"),
        # Not started: the render stopped instead of failing every report the same way.
        "RTF/nospace": ("pending", None),
    }
    assert not (out / ".staging").exists()


def test_the_command_line_exits_with_its_own_code_and_message(pack, monkeypatch):
    out = pack["out"]
    fill_disk_when_publishing(monkeypatch, out, frees=True)
    result = CliRunner().invoke(
        app,
        [
            str(pack["params"]),
            "--notebooks-dir",
            str(pack["nbs"]),
            "--output-dir",
            str(out),
            "--jobs",
            "1",
            "--no-progress",
        ],  # fmt: skip
    )
    assert result.exit_code == EXIT_NO_SPACE == 4
    assert EXIT_NO_SPACE not in {0, EXIT_FAILED, EXIT_INVALID, EXIT_BUSY}
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert (
        "Disk full: " + STOPPED + "the manifest and the index record the run as failed. Free "
        "some space, then run it again with --resume." in result.output
    )
    assert manifest(out)["run"]["status"] == "failed"
    assert not (out / ".staging").exists()


def test_a_disk_full_before_the_render_starts_is_the_same_exit_code(pack, monkeypatch):
    lock = pack["out"] / ".lock"

    def no_lock(out_dir):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(lock))

    monkeypatch.setattr("medlib.render.runner._pack_lock", no_lock)
    result = CliRunner().invoke(
        app,
        [
            str(pack["params"]),
            "--notebooks-dir",
            str(pack["nbs"]),
            "--output-dir",
            str(pack["out"]),
        ],
    )
    assert result.exit_code == EXIT_NO_SPACE
    assert (
        f"Disk full: [Errno 28] No space left on device: '{lock}': the render could not start"
        in result.output
    )


def test_stopping_the_render_leaves_the_callers_own_processes_alone(pack, monkeypatch):
    # A process the caller started before the render (as a Spark session starts its Java
    # process) is not the render's to kill when a full disk stops it.
    import subprocess
    import sys

    own = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        fill_disk_when_publishing(monkeypatch, pack["out"], frees=True)
        with pytest.raises(DiskFullError):
            render(pack)
        assert no_worker_left() == []
        assert own.poll() is None
    finally:
        own.kill()
        own.wait()
