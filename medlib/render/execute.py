"""Rendering one report (one trust, one notebook) in a worker process.

Each report runs in its own kernel, in a staging folder: papermill executes the notebook, the
publication guard and the tables contracts check what it produced, then the page is exported
to HTML (and printed to PDF if asked). Nothing is published here: the renderer's main process
moves a finished report into place, so a report killed half-way never appears complete.

Two limits stop a stuck report holding up a pack. Papermill's ``execution_timeout`` stops a
cell that runs too long; a wall-clock watchdog kills the kernel when the whole notebook runs
longer than the limit. A kernel that dies on its own (``DeadKernelError``, or while starting) is
retried once.

Workers die with the render that started them, even when it is killed with ``kill -9`` (which
runs no clean-up): on Linux each worker asks the kernel for ``SIGKILL`` when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), elsewhere a thread exits it when its parent changes. A worker's
Jupyter kernels then exit by themselves: the kernel launcher gives each its parent's pid
(``JPY_PARENT_PID``) and ipykernel exits when that parent is gone.
"""

from __future__ import annotations

import ctypes
import errno
import multiprocessing
import os
import re
import shutil
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from medlib.errors import MedlibError
from medlib.pack_cache import CACHE_ENV
from medlib.render.html import (
    ReportHeading,
    count_stderr,
    notebook_to_html,
    report_data_source,
)
from medlib.render.manifest import STATUS_FAILED, STATUS_OK, now_iso
from medlib.render.params import TABLES_PARAMETER

__all__ = [
    "TABLES_FOLDER",
    "ReportFailed",
    "ReportOutcome",
    "ReportTask",
    "die_with_parent",
    "no_space",
    "run_report",
    "worker_init",
]

#: Folder (inside the staging folder) the notebook publishes its tables into.
TABLES_FOLDER = "tables"
#: How many times a report runs when its kernel dies (the first run plus one retry).
KERNEL_ATTEMPTS = 2
#: What jupyter_client says when a kernel exits before it answers its first request.
KERNEL_START_DIED = "Kernel died before replying to kernel_info"
#: ``prctl`` option: the signal this process gets when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: Seconds between checks of the parent where ``PR_SET_PDEATHSIG`` is not available.
PARENT_POLL_SECONDS = 1.0
#: ``errno`` values of a write refused for want of space: the disk, or the user's quota, is full.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


@dataclass(frozen=True)
class ReportTask:
    """Everything a worker needs to render one report.

    Attributes:
        trust_code: ODS code of the trust.
        notebook: Notebook name.
        notebook_path: The notebook file.
        parameters: Values to inject (``tables_dir`` is added here).
        staging_dir: Empty folder to render into.
        timeout_seconds: Wall-clock limit for executing the notebook.
        heading: The HTML page header.
        pdf: Whether to print a PDF.
        chromium: Chromium executable for the PDF.
        kernel_name: Jupyter kernel; None uses the notebook's own.
        cache_dir: Folder for work shared between the render's reports
            (:mod:`medlib.pack_cache`); None computes everything in the report.
    """

    trust_code: str
    notebook: str
    notebook_path: str
    parameters: dict[str, Any]
    staging_dir: str
    timeout_seconds: int
    heading: ReportHeading
    pdf: bool = False
    chromium: str | None = None
    kernel_name: str | None = None
    cache_dir: str | None = None


@dataclass
class ReportOutcome:
    """What a worker reports back about one report."""

    trust_code: str
    notebook: str
    status: str
    staging_dir: str
    error: str | None = None
    detail: str | None = None
    findings: list[str] = field(default_factory=list)
    attempts: int = 0
    started: str = ""
    finished: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    stderr_outputs: int = 0
    #: The report failed because the disk (or quota) is full: the render stops.
    no_space: bool = False


class ReportFailed(MedlibError):
    """A report cannot be published; the message says why."""

    def __init__(
        self,
        message: str,
        detail: str | None = None,
        findings: list[str] | None = None,
        no_space: bool = False,
    ):
        super().__init__(message)
        self.detail = detail
        self.findings = findings or []
        self.no_space = no_space


def no_space(exc: BaseException | None) -> OSError | None:
    """The full-disk error an exception is, or was raised from or while handling, or None.

    A library that meets a full disk may raise its own error while handling the ``OSError``
    (or re-raise it as another), so the whole chain is searched.

    Example:
        >>> import errno
        >>> no_space(OSError(errno.ENOSPC, "No space left on device")).errno == errno.ENOSPC
        True
        >>> no_space(OSError(errno.EACCES, "Permission denied")) is None
        True
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


class _Watchdog:
    """Kills this process's kernels when a notebook runs past its wall-clock limit."""

    def __init__(self, seconds: float):
        self.fired = False
        self._timer = threading.Timer(seconds, self._kill)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def _kill(self) -> None:
        self.fired = True
        _kill_own_children()


def _kill_own_children() -> None:
    """Kill this process's children and theirs (a worker's kernel is in its own group)."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            child.kill()
        except psutil.Error:
            pass


def worker_init() -> None:
    """Process-pool initializer: workers that die with their parent, quiet and quick to start.

    Kernels inherit the worker's stdout and stderr; their logging would break the progress
    bar. Cell output is unaffected: it is captured in the notebook.
    """
    die_with_parent()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # nbconvert validates the notebook after every preprocessor; nbformat's own dependency
    # fastjsonschema does that about twice as fast as jsonschema.
    os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")
    # jsonschema (imported by nbformat) optionally loads rfc3987_syntax, which builds a parser
    # at import and costs ~1.4 s per process; notebooks never use the IRI formats it checks.
    # Workers are this renderer's own processes, so opting out here affects nothing else.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def die_with_parent() -> None:
    """End this process when the process that started it ends, however that ends.

    A pool worker killed with its render would otherwise live on (with its kernel, and the
    multiprocessing resource tracker it keeps open) until its report finished or for ever.
    On Linux the kernel sends ``SIGKILL`` when the parent dies (``PR_SET_PDEATHSIG``); where
    that is not available, a daemon thread checks the parent every
    :data:`PARENT_POLL_SECONDS` and kills this process's children, then the process.
    """
    parent = multiprocessing.parent_process()
    parent_pid = parent.pid if parent is not None and parent.pid else os.getppid()
    if _death_signal_set():
        # The parent may have died before the request, which then never fires.
        if os.getppid() != parent_pid:
            os._exit(1)
        return
    threading.Thread(
        target=_exit_when_orphaned, args=(parent_pid,), name="medlib-parent-watch", daemon=True
    ).start()


def _death_signal_set() -> bool:
    """Ask Linux for ``SIGKILL`` when the parent dies; False where that cannot be asked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):  # no C library, or no prctl in it
        return False


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    try:
        _kill_own_children()
    finally:
        os._exit(1)  # whatever happened above: an orphan must not live on


def run_report(task: ReportTask) -> ReportOutcome:
    """Render one report into its staging folder; never raises.

    Returns:
        The outcome: ``ok`` with the tables published, or ``failed`` with the reason.
    """
    started, clock = now_iso(), time.perf_counter()
    outcome = ReportOutcome(task.trust_code, task.notebook, STATUS_FAILED, task.staging_dir)
    outcome.started = started
    try:
        _render(task, outcome)
        outcome.status = STATUS_OK
    except ReportFailed as exc:
        outcome.error, outcome.detail, outcome.findings = str(exc), exc.detail, exc.findings
        outcome.no_space = exc.no_space
    except Exception as exc:  # a worker must report every failure, not die with it
        outcome.error = f"unexpected error: {type(exc).__name__}: {exc}"
        outcome.detail = traceback.format_exc()
        outcome.no_space = no_space(exc) is not None
    outcome.finished = now_iso()
    outcome.seconds = round(time.perf_counter() - clock, 3)
    return outcome


def _render(task: ReportTask, outcome: ReportOutcome) -> None:
    import nbformat

    from medlib.render.contracts import check_contracts
    from medlib.render.guard import check_report

    staging = Path(task.staging_dir)
    staging.mkdir(parents=True, exist_ok=True)
    tables_dir = staging / TABLES_FOLDER
    # The kernel inherits this process's environment; a worker renders one report at a time.
    if task.cache_dir:
        os.environ[CACHE_ENV] = task.cache_dir
    else:
        os.environ.pop(CACHE_ENV, None)

    tick = time.perf_counter()
    nb = _execute_with_retry(task, staging, tables_dir, outcome)
    outcome.timings["execute"] = round(time.perf_counter() - tick, 3)
    outcome.tables = sorted(p.stem for p in tables_dir.glob("*.csv"))

    tick = time.perf_counter()
    findings = check_report(nb, tables_dir) + check_contracts(tables_dir)
    outcome.timings["guard"] = round(time.perf_counter() - tick, 3)
    if findings:
        lines = [str(f) for f in findings]
        raise ReportFailed(
            f"refused to publish: {len(lines)} disclosure or contract finding"
            f"{'s' if len(lines) != 1 else ''}, first: {lines[0]}",
            findings=lines,
        )

    tick = time.perf_counter()
    _tidy_metadata(nb, task)
    nbformat.write(nb, staging / f"{task.notebook}.ipynb")
    html_path = staging / f"{task.notebook}.html"
    import pandas as pd

    published = [pd.read_csv(p, dtype=str) for p in sorted(tables_dir.glob("*.csv"))]
    heading = replace(task.heading, data_source=report_data_source(nb, published))
    html_path.write_text(notebook_to_html(nb, heading), encoding="utf-8")
    outcome.stderr_outputs = count_stderr(nb)
    outcome.timings["html"] = round(time.perf_counter() - tick, 3)

    if task.pdf:
        from medlib.render.pdf import PdfError, html_to_pdf

        tick = time.perf_counter()
        try:
            html_to_pdf(html_path, staging / f"{task.notebook}.pdf", chromium=task.chromium)
        except PdfError as exc:
            raise ReportFailed(f"PDF: {exc}") from None
        outcome.timings["pdf"] = round(time.perf_counter() - tick, 3)


def _execute_with_retry(
    task: ReportTask, staging: Path, tables_dir: Path, outcome: ReportOutcome
) -> Any:
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    # Relative to the kernel's working folder (the staging folder), so the executed notebook
    # records "tables", which is also where the tables sit beside the published report.
    parameters = {**task.parameters, TABLES_PARAMETER: TABLES_FOLDER}
    for attempt in range(1, KERNEL_ATTEMPTS + 1):
        outcome.attempts = attempt
        shutil.rmtree(tables_dir, ignore_errors=True)
        tables_dir.mkdir(parents=True)
        with _Watchdog(task.timeout_seconds) as watchdog:
            try:
                return papermill.execute_notebook(
                    task.notebook_path,
                    None,
                    parameters=parameters,
                    kernel_name=task.kernel_name,
                    progress_bar=False,
                    log_output=False,
                    request_save_on_cell_execute=False,
                    execution_timeout=task.timeout_seconds,
                    cwd=str(staging),
                    # Every output is in once the last cell is idle; a graceful shutdown would
                    # wait ~0.5 s for the kernel to tear down pandas, matplotlib and the rest.
                    shutdown_kernel="immediate",
                    # Rendered cells stay out of the analyst's IPython history, and two kernels
                    # never contend for its SQLite file.
                    extra_arguments=["--HistoryManager.enabled=False"],
                )
            except PapermillExecutionError as exc:
                if watchdog.fired:
                    raise _timed_out(task) from None
                raise ReportFailed(
                    f"cell {exc.cell_index + 1} raised {exc.ename}: {_one_line(exc.evalue)}",
                    detail=_strip_ansi("\n".join(exc.traceback)),
                    # The kernel's own write (a table, a chart) found the disk full.
                    no_space=_kernel_no_space(exc.ename, exc.evalue),
                ) from None
            except CellTimeoutError:
                raise ReportFailed(
                    f"a cell ran longer than timeout_seconds ({task.timeout_seconds} s)"
                ) from None
            except DeadKernelError as exc:
                if watchdog.fired:
                    raise _timed_out(task) from None
                if attempt == KERNEL_ATTEMPTS:
                    reason = _one_line(str(exc))
                    raise ReportFailed(
                        f"kernel died {KERNEL_ATTEMPTS} times (DeadKernelError: {reason})"
                    ) from None
            except RuntimeError as exc:
                if watchdog.fired:
                    raise _timed_out(task) from None
                # jupyter_client's words for a kernel that exited while starting: under load
                # a kernel can lose the race for the ports it was given, and a second start
                # succeeds, so it is retried like a kernel that died mid-run.
                if KERNEL_START_DIED not in str(exc):
                    raise
                if attempt == KERNEL_ATTEMPTS:
                    raise ReportFailed(
                        f"kernel died while starting, {KERNEL_ATTEMPTS} times ({_one_line(exc)})"
                    ) from None
            except Exception:
                if watchdog.fired:
                    raise _timed_out(task) from None
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _kernel_no_space(ename: str, evalue: str) -> bool:
    # A kernel's exception arrives as text: OSError and its subclasses print their errno first.
    codes = {f"[Errno {code}]" for code in NO_SPACE_ERRNOS}
    return ename in {"OSError", "IOError"} and any(str(evalue).startswith(c) for c in codes)


def _timed_out(task: ReportTask) -> ReportFailed:
    return ReportFailed(
        f"timed out: the notebook ran longer than timeout_seconds ({task.timeout_seconds} s)"
    )


def _tidy_metadata(nb: Any, task: ReportTask) -> None:
    """Record paths in the executed notebook relative to the pack, not to this machine."""
    meta = nb.metadata.get("papermill")
    if meta is not None:
        meta["input_path"] = f"notebooks/{task.notebook}.ipynb"
        meta["output_path"] = f"{task.trust_code}/{task.notebook}.ipynb"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(_strip_ansi(str(text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
