"""No process of a render outlives it, even when it is killed with SIGKILL.

Issue 15, item 6: after ``kill -9`` of ``medlib report``, its two pool workers (about 190 MB
each) and the multiprocessing resource tracker stayed alive for over six minutes. SIGKILL runs
no clean-up in the killed process, so each worker must end itself when its parent dies; the
Jupyter kernels the workers start must go too, and then the resource tracker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import psutil
import pytest
from render_fixtures import sleeping_notebook, write_parameter_set

from medlib.paths import PROJECT_ROOT

#: How long the processes may take to notice that their parent is gone (the condition of the
#: test, not a limit on its speed: each exits within about a second).
GONE_WITHIN_SECONDS = 20


def _kind(proc: psutil.Process) -> str:
    command = " ".join(proc.cmdline())
    if "multiprocessing.resource_tracker" in command:
        return "resource tracker"
    if "spawn_main" in command:
        return "worker"
    if "ipykernel" in command:
        return "kernel"
    return command


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running (a zombie has exited; it only waits for init to reap it)."""
    alive = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


def _wait_until_gone(processes: list[psutil.Process]) -> list[psutil.Process]:
    deadline = time.monotonic() + GONE_WITHIN_SECONDS
    left = _alive(processes)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _alive(left)
    return left


def _kill(processes: list[psutil.Process]) -> None:
    for proc in _alive(processes):
        try:
            proc.kill()
        except psutil.Error:
            pass


def test_workers_kernels_and_tracker_die_when_the_render_is_killed(tmp_path):
    nbs = tmp_path / "notebooks"
    sleeping_notebook(nbs, seconds=300)
    params = write_parameter_set(tmp_path / "p.yaml", notebooks=["sleepy"], timeout_seconds=600)
    command = [
        sys.executable, "-m", "medlib.render", str(params),
        "--notebooks-dir", str(nbs), "--output-dir", str(tmp_path / "pack"),
        "--jobs", "2", "--no-progress",
    ]  # fmt: skip
    render = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    parent = psutil.Process(render.pid)
    descendants: list[psutil.Process] = []
    try:
        # Wait until both reports are running: two workers, each with its kernel.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            descendants = parent.children(recursive=True)
            kinds = Counter(_kind(p) for p in _alive(descendants))
            if kinds["kernel"] == 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the two kernels did not start within 120 s: {kinds}")
        assert kinds == {"worker": 2, "kernel": 2, "resource tracker": 1}

        os.kill(render.pid, signal.SIGKILL)  # the parent only: nothing of it can clean up
        render.wait(timeout=10)
        left = _wait_until_gone(descendants)
        assert [(_kind(p), p.pid) for p in left] == []
    finally:
        _kill([parent, *descendants])
        render.wait(timeout=10)


_ORPHAN_SCRIPT = """\
import multiprocessing
import threading
import time


def child():
    import medlib.render.execute as execute

    # As where PR_SET_PDEATHSIG is not available: the parent-watching thread must do it.
    execute._death_signal_set = lambda: False
    execute.die_with_parent()
    watching = any(t.name == "medlib-parent-watch" for t in threading.enumerate())
    print("armed" if watching else "not watching", flush=True)
    time.sleep(300)


if __name__ == "__main__":
    process = multiprocessing.get_context("spawn").Process(target=child)
    process.start()
    print(process.pid, flush=True)
    time.sleep(300)
"""


def test_where_the_kernel_cannot_signal_a_thread_ends_the_orphan(tmp_path):
    script = tmp_path / "orphan.py"
    script.write_text(textwrap.dedent(_ORPHAN_SCRIPT), encoding="utf-8")
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    child = None
    try:
        assert parent.stdout is not None
        # The parent prints the child's pid, the child (on the same pipe) that it is armed.
        lines = sorted(parent.stdout.readline().strip() for _ in range(2))
        assert lines[1] == "armed"
        child = psutil.Process(int(lines[0]))
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert _wait_until_gone([child]) == []
    finally:
        _kill([p for p in (child,) if p is not None])
        if parent.poll() is None:
            parent.kill()
        parent.wait(timeout=10)
