"""Moving finished reports into the pack, and keeping the manifest, workbooks and index true.

Only the renderer's main process writes the pack, one report at a time, in an order chosen so
that a kill at any moment leaves nothing that looks complete but is not:

1. when a report is scheduled, its old files are removed and its manifest entry becomes
   ``pending`` (the index shows it as not rendered);
2. when it finishes, its tables, executed notebook and PDF are moved in with ``os.replace``,
   the trust's Excel workbook is rebuilt, and the HTML page is moved in last;
3. only then does its manifest entry become ``ok``, with the hash of every file.

A report is shown as complete only when its entry is ``ok`` and every file it lists is there
with that hash; ``--resume`` re-renders everything else.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medlib import __version__
from medlib.present.disclosure import POLICY
from medlib.present.outputs import atomic_write_text
from medlib.present.wording import format_period
from medlib.render.digest import build_digest, digest_html, digest_markdown
from medlib.render.excel import read_table_csv, write_workbook
from medlib.render.execute import TABLES_FOLDER, ReportOutcome, no_space
from medlib.render.index import (
    STATE_FAILED,
    STATE_NOT_AVAILABLE,
    STATE_OK,
    STATE_PENDING,
    STATE_STALE,
    CellState,
    build_index,
)
from medlib.render.manifest import (
    STATUS_FAILED,
    STATUS_NOT_AVAILABLE,
    STATUS_OK,
    STATUS_PENDING,
    file_sha256,
    files_intact,
    is_complete,
    now_iso,
    report_key,
    write_manifest,
)
from medlib.render.params import ParameterSet
from medlib.render.tracker import Tracker, build_tracker, tracker_html, write_tracker

#: The notebook whose tables the front page is mainly built from.
TRACKER_NOTEBOOK = "spend_trends"

__all__ = ["STAGING_FOLDER", "PackWriter", "inputs_digest", "readable", "workbook_name"]

INDEX_NAME = "index.html"
DIGEST_NAME = "digest.md"
STAGING_FOLDER = ".staging"
#: Status of a report that left the parameter set while its files are being removed.
STATUS_REMOVING = "removing"


def readable(path: Path) -> Path:
    """Give a file the permissions a new file would get (temporary files are owner-only).

    Atomic writes go through ``tempfile.mkstemp``, which creates files readable by their owner
    alone; a pack is meant to be shared, so published files get the usual ``0o666 & ~umask``.
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
    return path


def workbook_name(trust_code: str) -> str:
    """File name of a trust's Excel workbook, e.g. ``RTD_tables.xlsx``."""
    return f"{trust_code}_tables.xlsx"


def inputs_digest(parameters: Mapping[str, Any], notebook_sha256: str, data_sha256: str) -> str:
    """Hash of everything a report is rendered from; a change makes the report out of date."""
    text = json.dumps(
        {
            "parameters": parameters,
            "notebook": notebook_sha256,
            "data": data_sha256,
            "medlib": __version__,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PackWriter:
    """The single writer of one pack folder (see the module docstring for the order of writes).

    Args:
        out_dir: The pack folder.
        pset: The parameter set.
        manifest: The manifest to update (loaded or new).
        inputs: ``{report_key: inputs digest}`` for every report of the parameter set.
        trust_names: ``{trust_code: name}`` for page headings and the index.
    """

    def __init__(
        self,
        out_dir: Path,
        pset: ParameterSet,
        manifest: dict[str, Any],
        inputs: Mapping[str, str],
        trust_names: Mapping[str, str],
    ):
        self.out_dir = Path(out_dir)
        self.pset = pset
        self.manifest = manifest
        self.inputs = dict(inputs)
        self.trust_names = dict(trust_names)
        self.digest_fragment = ""

    @property
    def reports(self) -> dict[str, dict[str, Any]]:
        """Manifest entries by report key."""
        return self.manifest.setdefault("reports", {})

    def complete(self, key: str) -> bool:
        """Whether a report is complete for the current inputs."""
        return is_complete(self.out_dir, self.reports.get(key), self.inputs[key])

    def schedule(
        self,
        keys: Sequence[str],
        parameters: Mapping[str, Mapping[str, Any]],
        run: Mapping[str, Any],
    ) -> None:
        """Prepare the pack for a run: mark reports pending, then clear their old files.

        The manifest and index are written first, so from the moment any file is removed they
        no longer present it. Reports no longer in the parameter set are removed the same way.

        Args:
            keys: Reports about to be rendered.
            parameters: ``{report_key: injected values}``.
            run: The manifest's ``run`` record for this run.
        """
        leaving = [k for k in self.reports if k not in self.inputs]
        for key in leaving:
            self.reports[key]["status"] = STATUS_REMOVING
        for key in keys:
            old = self.reports.get(key, {})
            trust, notebook = key.split("/", 1)
            self.reports[key] = {
                "trust_code": trust,
                "notebook": notebook,
                "status": STATUS_PENDING,
                "inputs_sha256": self.inputs[key],
                "parameters": dict(parameters[key]),
                "scheduled": now_iso(),
                # Kept until the files are gone, so an interrupted clean-up can be finished.
                "files": dict(old.get("files", {})),
                "tables": list(old.get("tables", [])),
            }
        self.manifest["run"] = dict(run)
        self.write()

        for key in [*leaving, *keys]:
            self._remove_files(self.reports[key])
        for key in leaving:
            del self.reports[key]
        for key in keys:
            self.reports[key].update(files={}, tables=[])
        for trust in [t for t in self.manifest.get("trusts", {}) if t not in self.pset.trusts]:
            record = self.manifest["trusts"].pop(trust)
            Path(self.out_dir, record.get("workbook", "")).unlink(missing_ok=True)
        stale = {k.split("/", 1)[0] for k in keys}
        for trust in self.pset.trusts:
            if trust in stale or not self.workbook_intact(trust):
                self.rebuild_workbook(trust)
        self.write()

    def publish(self, outcome: ReportOutcome, *, workbook: bool = True) -> ReportOutcome:
        """Move a finished report into place, or record why it failed.

        Args:
            outcome: What the worker reported.
            workbook: Rebuild the trust's workbook with this report's tables (before its page
                appears). A render publishing several reports of a trust passes False and
                calls :meth:`rebuild_workbook` once, after the trust's last report.

        Returns:
            The outcome, marked failed if publishing itself was refused (a table name that
            another report of the trust already publishes, or an unreadable table).
        """
        key = report_key(outcome.trust_code, outcome.notebook)
        staging = Path(outcome.staging_dir)
        try:
            if outcome.status == STATUS_OK:
                clash = self._table_clash(key, outcome.tables)
                if clash:
                    outcome.status, outcome.error = STATUS_FAILED, clash
                else:
                    try:
                        self._move_into_place(key, outcome, staging, workbook)
                    except (OSError, ValueError) as exc:
                        self._remove_files(self.reports[key])
                        self.reports[key]["status"] = STATUS_FAILED
                        if no_space(exc) is not None:
                            self.reports[key].update(
                                error="could not publish: no space left on device",
                                files={},
                                tables=[],
                            )
                            raise  # a full disk stops the render (medlib.render.runner)
                        self.rebuild_workbook(outcome.trust_code)
                        outcome.status = STATUS_FAILED
                        outcome.error = f"could not publish: {type(exc).__name__}: {exc}"
            entry = self.reports[key]
            entry.update(
                status=outcome.status,
                error=outcome.error,
                findings=list(outcome.findings),
                attempts=outcome.attempts,
                started=outcome.started,
                finished=outcome.finished,
                seconds=outcome.seconds,
                timings=dict(outcome.timings),
                stderr_outputs=outcome.stderr_outputs,
            )
            if outcome.status != STATUS_OK:
                entry.update(files={}, tables=[])
            self.write()
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return outcome

    def rebuild_workbook(self, trust: str, also: str | None = None) -> None:
        """Write the trust's workbook from the tables of its complete reports (or remove it).

        Args:
            trust: ODS code.
            also: Key of a report being published, included though not yet marked complete.
        """
        tables, sources = {}, {}
        for notebook in self.pset.notebooks:
            key = report_key(trust, notebook)
            entry = self.reports.get(key)
            if entry is None or not (key == also or self.complete(key)):
                continue
            for name in entry.get("tables", []):
                tables[name] = read_table_csv(
                    self._trust_dir(trust) / TABLES_FOLDER / f"{name}.csv"
                )
                sources[name] = notebook
        path = self._trust_dir(trust) / workbook_name(trust)
        records = self.manifest.setdefault("trusts", {})
        if not tables:
            path.unlink(missing_ok=True)
            records.pop(trust, None)
            return
        about = [
            ("Report pack", self.pset.title),
            ("Trust", f"{self.trust_names.get(trust, '')} ({trust})".strip()),
            ("Period", _period(self.pset)),
            ("Written", now_iso()),
            ("Disclosure control", POLICY),
            (
                "Tables",
                "One sheet per table, listed below with what it holds, the report it comes "
                "from and where its data came from.",
            ),
        ]
        write_workbook(path, tables, about, sources)
        readable(path)
        records[trust] = {
            "workbook": self._rel(path),
            "sha256": file_sha256(path),
            "tables": list(tables),
        }

    def workbook_intact(self, trust: str) -> bool:
        """Whether the trust's workbook is as recorded and holds its complete reports' tables."""
        record = self.manifest.get("trusts", {}).get(trust)
        expected = [
            name
            for nb in self.pset.notebooks
            if self.complete(report_key(trust, nb))
            for name in self.reports[report_key(trust, nb)].get("tables", [])
        ]
        if record is None:
            return not expected
        return record.get("tables") == expected and files_intact(
            self.out_dir, {record["workbook"]: record["sha256"]}
        )

    def states(self) -> dict[str, CellState]:
        """What the index shows for each report of the parameter set."""
        states = {}
        for key in self.inputs:
            entry = self.reports.get(key)
            if entry is None or entry.get("status") == STATUS_PENDING:
                states[key] = CellState(STATE_PENDING)
            elif entry.get("status") == STATUS_FAILED:
                states[key] = CellState(STATE_FAILED, reason=entry.get("error"))
            elif (
                entry.get("status") == STATUS_NOT_AVAILABLE
                and entry.get("inputs_sha256") == self.inputs[key]
            ):
                states[key] = CellState(STATE_NOT_AVAILABLE, reason=entry.get("error"))
            elif not self.complete(key):
                reason = (
                    "files missing or changed"
                    if entry.get("inputs_sha256") == self.inputs[key]
                    else "parameters, notebook or data changed since it was rendered"
                )
                states[key] = CellState(STATE_STALE, reason=reason)
            else:
                files = entry["files"]
                trust, notebook = key.split("/", 1)
                html = f"{trust}/{notebook}.html"
                pdf = f"{trust}/{notebook}.pdf"
                states[key] = CellState(STATE_OK, href=html, pdf_href=pdf if pdf in files else None)
        return states

    @property
    def has_tracker(self) -> bool:
        """Whether the pack has a front page: it does when it has a spend report."""
        return TRACKER_NOTEBOOK in self.pset.notebooks

    def tracker(self, states: Mapping[str, CellState] | None = None) -> Tracker:
        """The front page's content, from the published tables of the complete reports."""
        states = self.states() if states is None else states
        return build_tracker(
            self.out_dir,
            list(self.pset.trusts),
            self.trust_names,
            {key: state.state == STATE_OK for key, state in states.items()},
            system_name=f"System total ({len(self.pset.trusts)} trusts)",
        )

    def write_digest(self, previous: Path | None) -> None:
        """Compare the pack with the previous version; write ``digest.md``; show it on top."""
        digest = build_digest(
            self.tracker(), self.manifest, previous, self.trust_names, self.pset.store
        )
        title = f"{self.pset.title or self.pset.name}, to {self.pset.period_end}"
        atomic_write_text(self.out_dir / DIGEST_NAME, digest_markdown(digest, title))
        readable(self.out_dir / DIGEST_NAME)
        self.digest_fragment = digest_html(digest)

    def write_tracker(self) -> None:
        """Write the front page's tables (``tracker.csv``, ``tracker.xlsx``) into the pack."""
        if not self.has_tracker:
            return
        about = [
            ("Pack", str(self.pset.title or self.pset.name)),
            ("Period end", str(self.pset.period_end)),
            (
                "Contents",
                "One row per trust and a system total; each figure is the one in the "
                "trust's own report (see index.html).",
            ),
            (
                "Synthetic data",
                "Switch and PINCER columns say when their data are synthetic "
                "(switch_data, pincer_data).",
            ),
        ]
        write_tracker(self.out_dir, self.tracker(), about)

    def not_available(self, key: str, reason: str) -> None:
        """Record that the data cannot make a report (scheduled first, so old files are gone)."""
        entry = self.reports[key]
        entry.update(status=STATUS_NOT_AVAILABLE, error=reason, files={}, tables=[])
        self.write()

    def pack_complete(self) -> bool:
        """Whether every report of the parameter set is complete."""
        return all(self.complete(key) for key in self.inputs)

    def write(self) -> None:
        """Write the manifest, then the index built from it (both atomically)."""
        self.manifest.setdefault("run", {})["updated"] = now_iso()
        readable(write_manifest(self.out_dir, self.manifest))
        workbooks = {
            t: str(Path(r["workbook"]).as_posix())
            for t, r in self.manifest.get("trusts", {}).items()
            if t in self.pset.trusts
        }
        states = self.states()
        page = build_index(
            self.manifest,
            list(self.pset.trusts),
            list(self.pset.notebooks),
            states,
            self.trust_names,
            workbooks,
            front=(self.digest_fragment + tracker_html(self.tracker(states)))
            if self.has_tracker
            else "",
        )
        atomic_write_text(self.out_dir / INDEX_NAME, page)
        readable(self.out_dir / INDEX_NAME)

    def _move_into_place(
        self, key: str, outcome: ReportOutcome, staging: Path, workbook: bool = True
    ) -> None:
        trust, notebook = outcome.trust_code, outcome.notebook
        trust_dir = self._trust_dir(trust)
        (trust_dir / TABLES_FOLDER).mkdir(parents=True, exist_ok=True)
        entry = self.reports[key]
        if not workbook:
            self._drop_workbook(trust)
        # Record which tables are about to appear while the entry is still pending, so a
        # kill during the moves leaves a manifest that names every file to clean up.
        entry.update(status=STATUS_PENDING, tables=list(outcome.tables), files={})
        write_manifest(self.out_dir, self.manifest)
        moves = [
            (staging / TABLES_FOLDER / f"{name}.csv", trust_dir / TABLES_FOLDER / f"{name}.csv")
            for name in outcome.tables
        ]
        moves.append((staging / f"{notebook}.ipynb", trust_dir / f"{notebook}.ipynb"))
        if (staging / f"{notebook}.pdf").is_file():
            moves.append((staging / f"{notebook}.pdf", trust_dir / f"{notebook}.pdf"))
        # The page goes last: once it exists, everything it refers to exists too.
        moves.append((staging / f"{notebook}.html", trust_dir / f"{notebook}.html"))
        files: dict[str, str] = {}
        for source, target in moves:
            if workbook and target.suffix == ".html":
                self.rebuild_workbook(trust, also=key)
            readable(source)
            os.replace(source, target)
            files[self._rel(target)] = file_sha256(target)
        entry["files"] = files

    def _drop_workbook(self, trust: str) -> None:
        """Withdraw the trust's workbook until it is rebuilt with the report being published.

        The index stops linking it first, so a workbook without a complete report's tables is
        never offered, even if the render is killed before the rebuild.
        """
        record = self.manifest.get("trusts", {}).pop(trust, None)
        if record is not None:
            self.write()
            Path(self.out_dir, record["workbook"]).unlink(missing_ok=True)

    def _table_clash(self, key: str, tables: Sequence[str]) -> str | None:
        trust = key.split("/", 1)[0]
        for other_nb in self.pset.notebooks:
            other = report_key(trust, other_nb)
            if other == key:
                continue
            entry = self.reports.get(other, {})
            if entry.get("status") != STATUS_OK:
                continue
            same = sorted(set(tables) & set(entry.get("tables", [])))
            if same:
                return (
                    f"table {same[0]!r} is also published by {other_nb}; table names must be "
                    "unique across the notebooks of a pack"
                )
        return None

    def _remove_files(self, entry: Mapping[str, Any]) -> None:
        trust, notebook = entry.get("trust_code"), entry.get("notebook")
        paths = []
        if trust and notebook:
            trust_dir = self._trust_dir(trust)
            # Entry points first, so no page outlives the files it describes.
            paths += [trust_dir / f"{notebook}.{ext}" for ext in ("html", "pdf", "ipynb")]
            paths += [trust_dir / TABLES_FOLDER / f"{t}.csv" for t in entry.get("tables", [])]
        paths += [Path(self.out_dir, rel) for rel in entry.get("files", {})]
        for path in paths:
            path.unlink(missing_ok=True)

    def _trust_dir(self, trust: str) -> Path:
        return self.out_dir / trust

    def _rel(self, path: Path) -> str:
        return Path(path).relative_to(self.out_dir).as_posix()


def _period(pset: ParameterSet) -> str:
    return format_period(pset.period_start, pset.period_end)
