"""Rendering a report pack: every (trust x notebook) of a parameter set, in parallel.

:func:`render_pack` validates the parameter set against the notebooks before any kernel
starts, runs each report in a process pool (one kernel per notebook), publishes each finished
report as it arrives, and returns a :class:`PackResult` with every report's status. One
failure never stops the others; the caller decides the exit code from ``result.ok``. A full
disk is the exception: nothing more can be written, so the render stops its workers, removes
its staging folder, records the run as failed and raises :class:`DiskFullError`.
"""

from __future__ import annotations

import errno
import fcntl
import multiprocessing
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medlib.context import report_unavailable
from medlib.errors import MedlibError
from medlib.paths import NOTEBOOKS_DIR, REPORTS_DIR
from medlib.present.wording import format_period
from medlib.reference.trusts import trust_names
from medlib.render.execute import ReportOutcome, ReportTask, no_space, run_report, worker_init
from medlib.render.html import ReportHeading
from medlib.render.manifest import (
    STATUS_FAILED,
    STATUS_NOT_AVAILABLE,
    STATUS_OK,
    bundled_data_files,
    data_file_record,
    data_files_digest,
    load_manifest,
    new_manifest,
    now_iso,
    read_files_digest,
    report_key,
    store_record,
)
from medlib.render.params import (
    ParameterError,
    ParameterSet,
    check_against_notebooks,
    check_coverage,
    effective_parameters,
    load_parameter_set,
    report_parameters,
    resolve_parameter_path,
)
from medlib.render.pdf import chromium_for_pdf
from medlib.render.publish import STAGING_FOLDER, PackWriter, inputs_digest
from medlib.render.versions import previous_version, publish_version

__all__ = [
    "STATUS_SKIPPED",
    "DiskFullError",
    "PackBusyError",
    "PackResult",
    "ReportResult",
    "default_jobs",
    "render_pack",
    "select_reports",
]

#: Folder (inside the staging folder) of the work shared by a render's reports.
PACK_CACHE_FOLDER = "shared-work"

#: Status of a report left alone by ``--resume`` because it was already complete.
STATUS_SKIPPED = "skipped"
#: How many times a broken process pool (a worker process that died) is replaced.
POOL_RESTARTS = 2
#: Extra seconds the main process allows a report beyond its timeout before giving up on it.
GRACE_SECONDS = 120


@dataclass(frozen=True)
class ReportResult:
    """How one report went.

    Attributes:
        trust_code: ODS code.
        notebook: Notebook name.
        status: ``ok``, ``failed``, ``not available`` (the data cannot make it; checked before
            any kernel) or ``skipped`` (already complete; ``--resume``).
        seconds: Wall time in its worker.
        attempts: Kernel runs (2 when a dead kernel was retried).
        error: Why it failed.
        findings: Publication guard findings, if it was refused.
        detail: Traceback of a failing cell (not written into the pack).
    """

    trust_code: str
    notebook: str
    status: str
    seconds: float = 0.0
    attempts: int = 0
    error: str | None = None
    findings: tuple[str, ...] = ()
    detail: str | None = None


@dataclass
class PackResult:
    """The outcome of :func:`render_pack`."""

    name: str
    output_dir: Path
    reports: list[ReportResult] = field(default_factory=list)
    seconds: float = 0.0
    jobs: int = 1
    complete: bool = False
    notes: list[str] = field(default_factory=list)
    #: The version this render published (``versions/<name>``), or None.
    version: Path | None = None

    @property
    def failed(self) -> list[ReportResult]:
        """Reports that failed in this run."""
        return [r for r in self.reports if r.status == STATUS_FAILED]

    @property
    def rendered(self) -> list[ReportResult]:
        """Reports rendered (successfully or not) in this run."""
        return [r for r in self.reports if r.status != STATUS_SKIPPED]

    @property
    def ok(self) -> bool:
        """True when no report failed."""
        return not self.failed

    @property
    def index_path(self) -> Path:
        """The pack's index page."""
        return self.output_dir / "index.html"


class PackBusyError(MedlibError, RuntimeError):
    """Another render is writing to the same pack folder."""


class DiskFullError(MedlibError, RuntimeError):
    """The disk (or the user's quota) filled up during a render, which stopped.

    Attributes:
        result: The reports as far as the render got.
        manifest_written: Whether the manifest could still be rewritten to say the run failed
            (if not, the manifest on disk does not record the failure).
    """

    def __init__(self, message: str, result: PackResult, manifest_written: bool):
        super().__init__(message)
        self.result = result
        self.manifest_written = manifest_written


def render_pack(
    parameter_set: ParameterSet | str | Path,
    *,
    notebooks_dir: Path | None = None,
    output_dir: Path | None = None,
    trusts: Sequence[str] | None = None,
    notebooks: Sequence[str] | None = None,
    jobs: int | None = None,
    limit: int | None = None,
    resume: bool = False,
    pdf: bool = False,
    progress: bool = True,
    console: Console | None = None,
    kernel_name: str | None = None,
    share_work: bool = True,
) -> PackResult:
    """Render every (trust x notebook) report of a parameter set.

    Args:
        parameter_set: A validated :class:`ParameterSet`, or a YAML path or a name in
            ``parameters/``.
        notebooks_dir: Folder of the notebooks; default ``medlib.paths.NOTEBOOKS_DIR``.
        output_dir: Pack folder; default ``reports/<parameter set name>``.
        trusts: Render only these trusts (each must be in the parameter set).
        notebooks: Render only these notebooks (each must be in the parameter set).
        jobs: Reports rendered at once; default the number of CPUs available.
        limit: Render only the first ``limit`` trusts (after ``trusts``).
        resume: Render only reports that are missing, failed or out of date.
        pdf: Also print each report to PDF with the system Chromium (skipped with a message
            if Chromium is not installed).
        progress: Show a progress bar.
        console: Where messages and the progress bar go; default standard error.
        kernel_name: Jupyter kernel to run the notebooks in; default each notebook's own.
        share_work: Compute the work that is the same for every trust once per render and
            share it between the reports (:mod:`medlib.pack_cache`); False recomputes it in
            every report. The reports are identical either way.

    Returns:
        Every selected report's status, and whether the whole pack is now complete.

    Raises:
        ParameterError: The parameter set or the selection is invalid (nothing was run).
        PackBusyError: Another render holds the pack folder.
        DiskFullError: The disk filled up: the workers were stopped, the staging folder
            removed and (if it could still be written) the manifest marked failed.
    """
    clock = time.perf_counter()
    console = console or Console(stderr=True)
    pset = _as_parameter_set(parameter_set)
    notebooks_dir = Path(notebooks_dir or NOTEBOOKS_DIR)
    specs = check_against_notebooks(pset, notebooks_dir)
    check_coverage(pset, specs)
    chosen_trusts, chosen_notebooks = select_reports(pset, trusts, notebooks, limit)
    jobs = _check_jobs(jobs)
    out_dir = Path(output_dir or REPORTS_DIR / pset.name)
    in_the_way = next((p for p in (out_dir, *out_dir.parents) if p.is_file()), None)
    if in_the_way is not None:
        raise ParameterError(
            "--output-dir", [f"--output-dir: {in_the_way} is a file; expected a folder"]
        )
    result = PackResult(pset.name, out_dir, jobs=jobs)

    chromium, note = chromium_for_pdf(pdf)
    if note:
        console.print(f"[yellow]{note}[/]")
        result.notes.append(note)

    trust_names = _trust_names(pset.trusts)
    data_records = [data_file_record(p) for p in bundled_data_files()]
    if pset.store:
        # The ingest log gains a line at every ingest that changes the store, so its hash
        # stands for the store's content: --resume re-renders what a new month may change.
        data_records.append(store_record(Path(pset.store)))
    data_sha = data_files_digest(data_records)
    parameters = {
        report_key(t, nb): report_parameters(pset, specs[nb], t)
        for t in pset.trusts
        for nb in pset.notebooks
    }
    inputs = {
        key: inputs_digest(
            values, specs[key.split("/", 1)[1]].sha256, data_sha + read_files_digest(values)
        )
        for key, values in parameters.items()
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    with _pack_lock(out_dir), _stop_when_disk_full(out_dir, result) as stop:
        manifest = load_manifest(out_dir)
        fresh = new_manifest(_pset_record(pset), data_records)
        if manifest is None:
            manifest = fresh
        else:
            manifest.update({k: v for k, v in fresh.items() if k not in {"reports", "trusts"}})
        writer = PackWriter(out_dir, pset, manifest, inputs, trust_names)
        stop.writer = writer

        selected = [report_key(t, nb) for t in chosen_trusts for nb in chosen_notebooks]
        to_render = [k for k in selected if not (resume and writer.complete(k))]
        for key in selected:
            if key not in to_render:
                trust, nb = key.split("/", 1)
                result.reports.append(ReportResult(trust, nb, STATUS_SKIPPED))
        shutil.rmtree(out_dir / STAGING_FOLDER, ignore_errors=True)
        # Inside the staging folder, so it goes with it: at the end of this run, or at the
        # start of the next if this one is killed.
        cache_dir = out_dir / STAGING_FOLDER / PACK_CACHE_FOLDER if share_work else None
        run = {
            "status": "running",
            "started": now_iso(),
            "jobs": jobs,
            "resume": resume,
            "pdf": chromium is not None,
            "shared_work": share_work,
            "selected": len(selected),
            "rendering": len(to_render),
        }
        writer.schedule(to_render, parameters, run)
        unavailable = {}
        for key in to_render:
            trust, nb = key.split("/", 1)
            values = effective_parameters(specs[nb], parameters[key])
            reason = report_unavailable(specs[nb].needs, trust, values)
            if reason:
                unavailable[key] = reason
                writer.not_available(key, reason)
                result.reports.append(ReportResult(trust, nb, STATUS_NOT_AVAILABLE, error=reason))
        to_render = [key for key in to_render if key not in unavailable]

        tasks = [
            _task(
                key,
                pset,
                specs[key.split("/", 1)[1]].path,
                parameters[key],
                out_dir,
                trust_names,
                chromium,
                kernel_name,
                cache_dir,
            )
            for key in to_render
        ]
        # Each trust's workbook is written once, after its last report of this run, not once
        # per report: openpyxl takes ~0.4 s a workbook, in the process that also publishes.
        left = Counter(key.split("/", 1)[0] for key in to_render)
        outcomes = _run_tasks(tasks, jobs, pset.timeout_seconds, progress, console)
        disk_full = False
        try:
            for outcome in outcomes:
                outcome = writer.publish(outcome, workbook=False)
                left[outcome.trust_code] -= 1
                if left[outcome.trust_code] == 0:
                    writer.rebuild_workbook(outcome.trust_code)
                    writer.write()
                result.reports.append(
                    ReportResult(
                        outcome.trust_code,
                        outcome.notebook,
                        outcome.status,
                        outcome.seconds,
                        outcome.attempts,
                        outcome.error,
                        tuple(outcome.findings),
                        outcome.detail,
                    )
                )
                if outcome.no_space:
                    # The worker found the disk full: every report after it would too.
                    raise _ReportNoSpace(report_key(outcome.trust_code, outcome.notebook))
        except Exception as exc:  # a full disk may surface as another library's error
            disk_full = no_space(exc) is not None
            raise
        finally:
            outcomes.close()  # stops the pool and its workers if the loop did not finish
            # A full disk refuses the workbooks, tracker and index too: _stop_when_disk_full
            # writes only the manifest.
            if not disk_full:
                for trust in [t for t, n in left.items() if n > 0]:
                    writer.rebuild_workbook(trust)  # interrupted: the workbook of what is complete
                result.complete = writer.pack_complete()
                manifest["run"]["status"] = "complete" if result.complete else "incomplete"
                manifest["run"]["finished"] = now_iso()
                if writer.has_tracker:
                    writer.write_digest(previous_version(out_dir))
                writer.write_tracker()
                writer.write()
                if result.complete:
                    result.version = publish_version(out_dir, pset.period_end)
                shutil.rmtree(out_dir / STAGING_FOLDER, ignore_errors=True)

    order = {key: i for i, key in enumerate(selected)}
    result.reports.sort(key=lambda r: order.get(report_key(r.trust_code, r.notebook), 0))
    result.seconds = round(time.perf_counter() - clock, 3)
    return result


def select_reports(
    pset: ParameterSet,
    trusts: Sequence[str] | None,
    notebooks: Sequence[str] | None,
    limit: int | None,
) -> tuple[list[str], list[str]]:
    """The trusts and notebooks to render, in parameter-set order.

    Raises:
        ParameterError: A requested trust or notebook is not in the parameter set, or
            ``limit`` is not positive.
    """
    problems = []
    for option, wanted, allowed in (
        ("--trusts", trusts, pset.trusts),
        ("--notebooks", notebooks, pset.notebooks),
    ):
        for item in wanted or ():
            if item not in allowed:
                problems.append(
                    f"{option}: {item!r} is not in the parameter set; choose from {list(allowed)}"
                )
    if limit is not None and limit < 1:
        problems.append(f"--limit: expected a positive number of trusts, got {limit}")
    if problems:
        raise ParameterError(f"parameter set {pset.name!r}", problems)
    chosen_trusts = [t for t in pset.trusts if not trusts or t in trusts]
    if limit is not None:
        chosen_trusts = chosen_trusts[:limit]
    chosen_notebooks = [nb for nb in pset.notebooks if not notebooks or nb in notebooks]
    return chosen_trusts, chosen_notebooks


def default_jobs() -> int:
    """Number of CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _as_parameter_set(value: ParameterSet | str | Path) -> ParameterSet:
    if isinstance(value, ParameterSet):
        return value
    return load_parameter_set(resolve_parameter_path(value))


def _check_jobs(jobs: int | None) -> int:
    if jobs is None:
        return default_jobs()
    if jobs < 1:
        raise ParameterError("--jobs", [f"--jobs: expected a positive number, got {jobs}"])
    return jobs


def _task(
    key: str,
    pset: ParameterSet,
    notebook_path: Path,
    parameters: dict,
    out_dir: Path,
    trust_names: dict[str, str],
    chromium: str | None,
    kernel_name: str | None,
    cache_dir: Path | None,
) -> ReportTask:
    trust, notebook = key.split("/", 1)
    period = format_period(pset.period_start, pset.period_end)
    heading = ReportHeading(
        pack_title=pset.title,
        trust_code=trust,
        trust_name=trust_names.get(trust, ""),
        notebook=notebook,
        period=period,
        generated=time.strftime("%d %b %Y %H:%M"),
    )
    staging = out_dir / STAGING_FOLDER / f"{trust}-{notebook}-{uuid.uuid4().hex[:8]}"
    return ReportTask(
        trust_code=trust,
        notebook=notebook,
        notebook_path=str(notebook_path),
        parameters=dict(parameters),
        staging_dir=str(staging),
        timeout_seconds=pset.timeout_seconds,
        heading=heading,
        pdf=chromium is not None,
        chromium=chromium,
        kernel_name=kernel_name,
        cache_dir=str(cache_dir) if cache_dir else None,
    )


def _run_tasks(
    tasks: list[ReportTask], jobs: int, timeout: int, progress: bool, console: Console
) -> Iterator[ReportOutcome]:
    """Run tasks in a process pool, yielding outcomes as they finish.

    A worker process that dies breaks the pool; the unfinished tasks then run in a new pool
    (at most :data:`POOL_RESTARTS` times). A report still running ``GRACE_SECONDS`` after its
    timeout is given up on and its worker killed.
    """
    if not tasks:
        return
    bar = Progress(
        TextColumn("[bold]Rendering[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=not progress,
        transient=False,
    )
    context = multiprocessing.get_context("spawn")
    pending, restarts = list(tasks), 0
    with bar:
        bar_task = bar.add_task("", total=len(tasks))
        while pending:
            broken: list[ReportTask] = []
            pool = ProcessPoolExecutor(
                max_workers=min(jobs, len(pending)), mp_context=context, initializer=worker_init
            )
            try:
                futures: dict[Future, ReportTask] = {pool.submit(run_report, t): t for t in pending}
                deadline = _deadline(len(pending), jobs, timeout)
                not_done = set(futures)
                while not_done:
                    done, not_done = wait(
                        not_done,
                        timeout=max(1.0, deadline - time.monotonic()),
                        return_when=FIRST_COMPLETED,
                    )
                    if not done:
                        _kill_children()
                        for fut in not_done:
                            yield _failed(
                                futures[fut], "gave up: the render overran its time limit"
                            )
                            bar.advance(bar_task)
                        not_done = set()
                        break
                    for fut in done:
                        task = futures[fut]
                        try:
                            outcome = fut.result()
                        except BrokenProcessPool:
                            broken.append(task)
                            continue
                        except Exception as exc:  # pickling or pool errors: report, carry on
                            outcome = _failed(task, f"{type(exc).__name__}: {exc}")
                        bar.advance(bar_task)
                        mark = "[green]ok[/]" if outcome.status == STATUS_OK else "[red]failed[/]"
                        bar.update(
                            bar_task, description=f"{outcome.trust_code}/{outcome.notebook} {mark}"
                        )
                        yield outcome
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                _kill_children()
                raise
            else:
                pool.shutdown(wait=True)
            pending = broken
            if pending:
                restarts += 1
                if restarts > POOL_RESTARTS:
                    for task in pending:
                        bar.advance(bar_task)
                        yield _failed(task, "its worker process died repeatedly")
                    pending = []


def _deadline(count: int, jobs: int, timeout: int) -> float:
    rounds = -(-count // max(1, jobs))
    return time.monotonic() + rounds * (timeout + GRACE_SECONDS)


def _failed(task: ReportTask, error: str) -> ReportOutcome:
    stamp = now_iso()
    return ReportOutcome(
        task.trust_code,
        task.notebook,
        STATUS_FAILED,
        task.staging_dir,
        error=error,
        started=stamp,
        finished=stamp,
    )


def _kill_children() -> None:
    """Kill the render's pool workers and their kernels, and nothing else this process runs.

    The workers are this process's multiprocessing children; their kernels are theirs. Other
    child processes are left alone: the multiprocessing resource tracker (shared by everything
    in this process; killed, it is relaunched without the resources it knew of) and whatever
    the caller started, such as the Java process behind a Spark session.
    """
    import multiprocessing

    import psutil

    for worker in multiprocessing.active_children():
        try:
            process = psutil.Process(worker.pid)
            victims = [*process.children(recursive=True), process]
        except psutil.Error:
            continue
        for victim in victims:
            try:
                victim.kill()
            except psutil.Error:
                pass


class _ReportNoSpace(MedlibError, OSError):
    """A report's worker or kernel found the disk full (raised in the main process)."""

    def __init__(self, key: str):
        super().__init__(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.key = key


class _DiskFullStop:
    """What :func:`_stop_when_disk_full` needs to record the failure (set once it exists)."""

    writer: PackWriter | None = None


@contextmanager
def _stop_when_disk_full(out_dir: Path, result: PackResult) -> Iterator[_DiskFullStop]:
    """Turn a full disk anywhere in the render into :class:`DiskFullError`, after cleaning up.

    The workers are killed first (they write into the staging folder), then the staging
    folder is removed, which frees what the render had used, so that the manifest can still
    say that the run failed. Other errors pass through untouched.
    """
    stop = _DiskFullStop()
    try:
        yield stop
    except Exception as exc:
        cause = no_space(exc)
        if cause is None:
            raise
        raised: Exception = exc
    else:
        return
    _kill_children()
    shutil.rmtree(out_dir / STAGING_FOLDER, ignore_errors=True)
    if isinstance(cause, _ReportNoSpace):
        where = f" (rendering {cause.key})"
    elif cause.filename:
        where = f" (writing {_shown(Path(cause.filename), out_dir)})"
    else:
        where = ""
    index_written = False
    if stop.writer is not None:
        run = stop.writer.manifest.setdefault("run", {})
        run.update(status="failed", error=f"no space left on device{where}", finished=now_iso())
        try:
            stop.writer.write()  # the manifest, then the index
            index_written = True
        except Exception:  # best effort on a full disk: what reached the disk is read back
            pass
    # Read back rather than assumed: the manifest may be the write that failed (then the file
    # holds an earlier run record, perhaps of an earlier failed run: compare the whole record).
    saved = (load_manifest(out_dir) or {}).get("run")
    written = stop.writer is not None and saved == stop.writer.manifest.get("run")
    if written and index_written:
        record = "the manifest and the index record the run as failed"
    elif written:
        record = "the manifest records the run as failed (the index could not be rewritten)"
    else:
        record = "the manifest could not be updated either, so it does not record this failure"
    result.complete = False
    done = sum(r.status == STATUS_OK for r in result.reports)
    raise DiskFullError(
        f"no space left on device{where}: the render of {out_dir.name} stopped after "
        f"{done} report{'s' if done != 1 else ''} rendered in this run; the staging folder "
        f"was removed and {record}. Free some space, then run it again with --resume.",
        result,
        written,
    ) from raised


def _shown(path: Path, out_dir: Path) -> str:
    """A path as messages show it: relative to the pack folder when inside it, else its name."""
    try:
        return Path(path).resolve().relative_to(Path(out_dir).resolve()).as_posix()
    except ValueError:
        return Path(path).name


@contextmanager
def _pack_lock(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the pack folder (released even if the process is killed)."""
    path = Path(out_dir) / ".lock"
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole render
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PackBusyError(
                f"another render is writing to {out_dir.name}; wait for it or stop it"
            ) from None
        yield
    finally:
        handle.close()


def _trust_names(codes: Sequence[str]) -> dict[str, str]:
    names = trust_names()
    return {code: names.get(code, "") for code in codes}


def _pset_record(pset: ParameterSet) -> dict:
    record = pset.as_dict()
    if pset.source is not None:
        from medlib.render.manifest import display_path, file_sha256

        record["source"] = display_path(pset.source)
        record["source_sha256"] = file_sha256(pset.source)
    return record
