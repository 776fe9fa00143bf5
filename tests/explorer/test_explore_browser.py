"""End to end: JupyterLab headless, explore.ipynb in headless Chromium, a control changed.

Starts ``jupyter lab`` on a free localhost port with a random token, serving a temporary copy
of the notebooks folder; opens ``explore.ipynb`` in the system Chromium driven by Playwright;
runs every cell; waits for the explorer's chart image and table; picks another trust; and checks
that the chart image and the table both change. JupyterLab, its kernels and the browser are
stopped in the fixtures' teardown whatever happens.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from medlib.paths import NOTEBOOKS_DIR

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 60
WIDGET_TIMEOUT_MS = 90_000
CHANGE_TIMEOUT_MS = 30_000


#: JupyterLab settings for the test: render every cell (by default cells scrolled out of view
#: are not rendered, so the widgets would vanish when "Run All" scrolls to the end) and do not
#: ask about fetching news.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def _write_settings(folder: Path) -> None:
    import json

    for name, values in LAB_SETTINGS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen) -> None:
    """Stop JupyterLab and everything it started (kernels run in their own process groups)."""
    import psutil

    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    _gone, alive = psutil.wait_procs(children, timeout=5)
    for child in alive:
        child.kill()
    psutil.wait_procs(alive, timeout=5)


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser test")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is missing")
    pytest.importorskip("psutil", reason="psutil (installed with ipykernel) is missing")
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOKS_DIR / "explore.ipynb", root / "explore.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    state = tmp_path_factory.mktemp("jupyter_state")
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
    }
    _write_settings(state / "settings")
    log = (state / "jupyter.log").open("w")
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        # CI containers often run as root; JupyterLab refuses to unless told.
        command.append("--allow-root")
    process = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(f"{base}/api/status?token={token}"):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "JupyterLab did not start:\n" + (state / "jupyter.log").read_text()[-3000:]
                )
            time.sleep(0.5)
        yield base, token, root
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="module")
def page(jupyter):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def _wait_for_idle_kernel(base: str, token: str) -> None:
    """Wait until the notebook's kernel has started and is idle (asked of the server)."""
    import json

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=5) as reply:
            sessions = json.load(reply)
        states = [s.get("kernel", {}).get("execution_state") for s in sessions]
        if states and all(state == "idle" for state in states):
            return
        time.sleep(0.5)
    pytest.fail(f"the notebook's kernel did not become idle within {START_TIMEOUT_S} s")


def _run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def test_explore_notebook_runs_and_a_control_changes_chart_and_table(jupyter, page):
    base, token, root = jupyter
    page.goto(f"{base}/lab/tree/explore.ipynb?token={token}", timeout=WIDGET_TIMEOUT_MS)
    page.wait_for_selector(".jp-Notebook", timeout=WIDGET_TIMEOUT_MS)
    _wait_for_idle_kernel(base, token)
    _run_all(page)

    chart = page.locator(".medlib-explorer img.medlib-chart").first
    table = page.locator(".medlib-explorer .medlib-table table").first
    chart.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    table.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    # Let every cell finish first, so nothing scrolls or redraws under the next steps.
    page.wait_for_function(
        "() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
        ".map(e => e.innerText); return p.length > 0 && p.every(t => /\\[\\d+\\]/.test(t)); }",
        timeout=WIDGET_TIMEOUT_MS,
    )
    src_before = chart.get_attribute("src")
    text_before = table.inner_text()
    assert src_before.startswith("data:image/png;base64,")
    assert "RTD" in text_before

    trusts = page.locator(".medlib-explorer .widget-select-multiple select").first
    labels = trusts.locator("option").all_inner_texts()
    other = next(i for i, label in enumerate(labels) if label.startswith("RTF"))
    trusts.select_option(index=[other])

    page.wait_for_function(
        "([before]) => { const t = document.querySelector("
        "'.medlib-explorer .medlib-table table'); return t && t.innerText !== before; }",
        arg=[text_before],
        timeout=CHANGE_TIMEOUT_MS,
    )
    page.wait_for_function(
        "([before]) => { const i = document.querySelector("
        "'.medlib-explorer img.medlib-chart'); return i && i.getAttribute('src') !== before; }",
        arg=[src_before],
        timeout=CHANGE_TIMEOUT_MS,
    )
    text_after = table.inner_text()
    assert "RTF" in text_after and "RTD" not in text_after
    assert chart.get_attribute("src").startswith("data:image/png;base64,")
