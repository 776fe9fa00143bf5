"""Small notebooks and parameter sets for the renderer's tests.

Each notebook is a few cells written with nbformat into the test's temporary folder, so the
renderer can be tested without the real report notebooks: one that succeeds (a chart and a
table), one that raises for one trust, one that sleeps, one that leaks a patient id or a bare
small count, and one that kills its own kernel the first time it runs; and a kernel that exits
while starting the first time it is launched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import yaml

TRUSTS = {"RTD": None, "RTF": None, "RR7": None, "RLN": "R0B", "R0B": None}

_CHART = """\
import matplotlib
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 2))
ax.bar(["a", "b", "c"], [1, 2, 3])
ax.set_title("Spend for " + trust_code)
plt.show()"""

_TABLE = """\
import pandas as pd
from medlib.present.outputs import publish_tables
table = pd.DataFrame({"trust_code": [trust_code], "patients": ["*"], "cost_gbp": [1250.5]})
publish_tables({table_name: table}, tables_dir)
table"""


def write_notebook(path: Path, parameters: str, *cells: str, markdown: str = "") -> Path:
    """Write a notebook: optional markdown, a tagged parameters cell, then code cells."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(markdown or f"# {path.stem}\nA test report."), params]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def good_notebook(folder: Path, name: str = "good", table_name: str = "demo_table") -> Path:
    """Succeeds: shows a chart, publishes one table named ``table_name`` and warns once."""
    params = (
        f'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""\nscale: float = 1.0\n'
        f'table_name: str = "{table_name}"'
    )
    warning = 'import warnings\nwarnings.warn("analyst-only warning")'
    return write_notebook(folder / f"{name}.ipynb", params, _CHART, _TABLE, warning)


def raising_notebook(folder: Path, name: str = "fragile", bad_trust: str = "RTF") -> Path:
    """Raises ValueError for ``bad_trust`` only; writes a table for the others."""
    params = 'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""'
    body = (
        f'if trust_code == "{bad_trust}":\n'
        f'    raise ValueError("no data for " + trust_code)\n'
        "import pandas as pd\n"
        "from medlib.present.outputs import publish_tables\n"
        'publish_tables({"fragile_table": pd.DataFrame({"trust_code": [trust_code]})}, '
        "tables_dir)\n"
        'print("done")'
    )
    return write_notebook(folder / f"{name}.ipynb", params, body)


def sleeping_notebook(folder: Path, name: str = "sleepy", seconds: float = 60) -> Path:
    """Sleeps ``seconds`` (longer than a test's timeout)."""
    params = (
        f'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""\n'
        f"seconds: float = {seconds}"
    )
    return write_notebook(folder / f"{name}.ipynb", params, "import time\ntime.sleep(seconds)")


def leaking_notebook(folder: Path, name: str = "leaky", leak: str = "id") -> Path:
    """Prints a patient id (``leak="id"``), a bare count (``"count"``) or tables a small count."""
    params = 'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""'
    code = {
        "id": 'print("first patient: P0012345")',
        "count": 'print("3 patients were on the old product")',
        "table": (
            "import pandas as pd\nfrom medlib.present.outputs import publish_tables\n"
            'publish_tables({"leaky_table": pd.DataFrame({"n_patients": [3, 10]})}, tables_dir)'
        ),
    }[leak]
    return write_notebook(folder / f"{name}.ipynb", params, code)


def dying_notebook(folder: Path, marker: Path, name: str = "dies_once") -> Path:
    """Kills its own kernel the first time it runs (``marker`` records that it has)."""
    params = 'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""'
    body = (
        "import os, pathlib, signal\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n"
        "    marker.write_text('died')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        'print("survived")'
    )
    return write_notebook(folder / f"{name}.ipynb", params, body)


def flaky_kernel(jupyter_path: Path, marker: Path, name: str = "flaky") -> str:
    """A kernel spec whose first launch exits at once (before it answers ``kernel_info``).

    Put ``jupyter_path`` on ``JUPYTER_PATH`` to make the kernel ``name`` findable; later launches
    (``marker`` records the first) start an ordinary IPython kernel.
    """
    folder = jupyter_path / "kernels" / name
    folder.mkdir(parents=True)
    launcher = folder / "launch.py"
    launcher.write_text(
        "import pathlib, runpy, sys\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n"
        "    marker.write_text('exited while starting')\n"
        "    sys.exit(1)\n"
        "runpy.run_module('ipykernel_launcher', run_name='__main__')\n",
        encoding="utf-8",
    )
    spec = {
        "argv": [sys.executable, str(launcher), "-f", "{connection_file}"],
        "display_name": "Exits once while starting",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return name


def write_parameter_set(path: Path, **values: object) -> Path:
    """Write a parameter set YAML with sensible defaults, overridden by ``values``."""
    data: dict[str, object] = {
        "name": "test",
        "title": "Test pack",
        "period_end": "2024-03",
        "trusts": ["RTD", "RTF"],
        "notebooks": ["good"],
        "timeout_seconds": 60,
    }
    data.update(values)
    data = {k: v for k, v in data.items() if v is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def sharing_notebook(folder: Path, name: str = "sharing") -> Path:
    """Tables whether the render gave it a shared-work folder, whether the shared DOAC fit was
    already there when it started (it is for every report after the first), and whether the
    kernel keeps IPython history."""
    params = 'trust_code: str = "RTD"\nperiod_end: str = "2024-03"\ntables_dir: str = ""'
    body = (
        "import pandas as pd\n"
        "from medlib.present.outputs import publish_tables\n"
        "from medlib.pack_cache import cache_dir\n"
        "from medlib.switch.uptake_curve import fit_doac_curve\n"
        "from medlib.switch.report import shared_doac_curve\n"
        "folder = cache_dir()\n"
        "if folder:\n"
        "    from joblib import Memory\n"
        "    found = Memory(folder, verbose=0).cache(fit_doac_curve).check_call_in_cache()\n"
        "else:\n"
        "    found = False\n"
        "series, fit = shared_doac_curve()\n"
        "history = get_ipython().history_manager.enabled\n"
        "table = pd.DataFrame({'trust_code': [trust_code], 'folder_given': [folder is not None],\n"
        "                      'found_shared_result': [found], 'ceiling': [round(fit.ceiling, 6)],\n"
        "                      'history_enabled': [history]})\n"
        "publish_tables({'sharing': table}, tables_dir)"
    )
    return write_notebook(folder / f"{name}.ipynb", params, body)
