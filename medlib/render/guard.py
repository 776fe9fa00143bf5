"""The publication guard: a last check that a report shows no patient identifiers or small counts.

Disclosure control is applied by :mod:`medlib.present.disclosure` when tables and charts are built;
the
guard checks the finished report for anything that slipped past it, and the renderer refuses
to publish a report with any finding. It reads what a lead would see: every cell output of the
executed notebook (text, HTML tables, markdown, errors), the markdown cells, and every table
the notebook published. Images cannot be read, so chart labels rely on the chart functions.

The rules (documented for notebook authors in ``docs/reports.md``):

* a **patient identifier** is a value matching :data:`PATIENT_ID_PATTERN` (the pseudonyms the
  project's patient-level tables use: ``SYN`` + 10 hex digits, or 16 lower-case hex digits
  with at least one letter) or an NHS number written ``ddd ddd dddd`` that passes the NHS
  number check digit; a column named like :data:`IDENTIFIER_COLUMN_PATTERN` is refused
  whatever it holds;
* a **patient-count column** is one whose name contains ``patient`` (``patients``,
  ``n_patients``, ``new_patients``...) and is not a rate or share (:data:`NOT_A_COUNT_PATTERN`);
  any value from 1 to 7 in it is an unsuppressed small count (``disclose_count`` shows those
  as ``*`` and rounds every other count to a multiple of 5, so 1-7 never survives it);
* in text, a number from 1 to 7 followed within two words by ``patient(s)`` is an unsuppressed
  small count, e.g. ``3 patients`` or ``5 new patients``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from medlib.present.disclosure import SMALL_MAX

__all__ = [
    "PATIENT_ID_PATTERN",
    "Finding",
    "check_html",
    "check_notebook",
    "check_report",
    "check_table",
    "check_tables_dir",
    "check_text",
    "find_identifiers",
    "find_small_counts_in_text",
    "is_nhs_number",
    "is_patient_count_column",
]

#: Pseudonyms issued by ``medlib.synthetic.patients`` (``SYN`` + 10 upper-case hex digits).
SYNTHETIC_PATIENT_ID = r"SYN[0-9A-F]{10}"
#: Pseudonyms in ``hcd_activity`` as ``medlib.synthetic.hcd_activity`` issues them: 16 lower-case
# hex digits.
#: At least one must be a letter, so 16-digit dm+d codes are not mistaken for them.
HCD_PSEUDONYM = r"(?=[0-9a-f]{16}(?![0-9A-Za-z]))[0-9a-f]*[a-f][0-9a-f]*"
#: A patient pseudonym standing on its own (not part of a longer code or hash).
PATIENT_ID_PATTERN = re.compile(
    rf"(?<![0-9A-Za-z])(?:{SYNTHETIC_PATIENT_ID}|{HCD_PSEUDONYM})(?![0-9A-Za-z])"
)
#: An NHS number as displayed (3-3-4 digits, spaces or hyphens); confirmed by its check digit.
NHS_NUMBER_PATTERN = re.compile(r"(?<![\d.])(\d{3})[ -](\d{3})[ -](\d{4})(?![\d.])")
#: Column names that hold patient identifiers; such columns never reach a lead.
IDENTIFIER_COLUMN_PATTERN = re.compile(
    r"(patient_?id|person_?id|nhs_?number|nhs_?no|pseudonym|pseudo_?id)", re.IGNORECASE
)
#: Column names that mark a patient count.
PATIENT_COUNT_COLUMN_PATTERN = re.compile(r"patient", re.IGNORECASE)
#: Column names that are about patients but are not counts (rates, shares, averages).
NOT_A_COUNT_PATTERN = re.compile(
    r"(pct|percent|share|rate|ratio|proportion|prop_|per_|mean|median|average|avg|_id$)",
    re.IGNORECASE,
)
#: A number 1-7 followed within two words by "patient(s)" in running text, as in "3 patients",
#: "5 new patients" or "2 of 40 patients" ("3 per patient" is a rate, not a count). Words are
#: separated by single spaces: a run of spaces is a column gap in a text table, where the
#: number is a row label.
SMALL_COUNT_TEXT_PATTERN = re.compile(
    rf"(?<![\d.,£$%])\b([1-{SMALL_MAX}])\b(?![.,]\d) {{1,2}}(?!per\b)(?:of [\d,]+ )?"
    r"(?:[A-Za-z-]+ ){0,2}patients?\b",
    re.IGNORECASE,
)
_TEXT_MIMES = ("text/plain", "text/markdown", "text/latex")
_MAX_FINDINGS = 20


@dataclass(frozen=True)
class Finding:
    """One reason a report may not be published."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def is_nhs_number(digits: str) -> bool:
    """Whether ten digits form a valid NHS number (modulus 11 check digit).

    Example:
        >>> is_nhs_number("9434765919"), is_nhs_number("9434765918")
        (True, False)
    """
    if not re.fullmatch(r"\d{10}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def find_identifiers(text: str) -> list[str]:
    """Patient identifiers in ``text``: pseudonyms and displayed NHS numbers."""
    found = PATIENT_ID_PATTERN.findall(text)
    for match in NHS_NUMBER_PATTERN.finditer(text):
        if is_nhs_number("".join(match.groups())):
            found.append(match.group(0))
    return found


def find_small_counts_in_text(text: str) -> list[str]:
    """Phrases like ``3 patients`` in ``text`` (unsuppressed counts 1-7)."""
    return [m.group(0) for m in SMALL_COUNT_TEXT_PATTERN.finditer(text)]


def is_patient_count_column(name: str) -> bool:
    """Whether a column name marks a patient count (see the module rules)."""
    name = str(name)
    return (
        bool(PATIENT_COUNT_COLUMN_PATTERN.search(name))
        and not IDENTIFIER_COLUMN_PATTERN.search(name)
        and not NOT_A_COUNT_PATTERN.search(name)
    )


def check_table(table: pd.DataFrame, where: str) -> list[Finding]:
    """Check one lead-facing table for identifiers and small patient counts.

    Args:
        table: The table as the lead sees it (values may be text, as read from CSV).
        where: How to name the table in findings, e.g. ``"table spend_by_month"``.

    Returns:
        Findings; empty if the table may be published.
    """
    findings: list[Finding] = []
    for column in table.columns:
        label = f"{where}, column {column!r}"
        if IDENTIFIER_COLUMN_PATTERN.search(str(column)):
            findings.append(Finding(label, "column of patient identifiers"))
            continue
        values = table[column]
        text = values.dropna().astype(str)
        for row, value in text.items():
            ids = find_identifiers(value)
            if ids:
                findings.append(Finding(f"{label}, row {row}", f"patient identifier {ids[0]!r}"))
                break
        if is_patient_count_column(column):
            numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
            small = numbers[(numbers > 0) & (numbers <= SMALL_MAX)]
            if not small.empty:
                row = small.index[0]
                findings.append(
                    Finding(
                        f"{label}, row {row}",
                        f"unsuppressed patient count {text[row]!r} (counts 1-{SMALL_MAX} "
                        "must be shown as '*')",
                    )
                )
    return findings


def check_text(text: str, where: str) -> list[Finding]:
    """Check free text (printed output, prose) for identifiers and phrases like ``3 patients``."""
    findings = [Finding(where, f"patient identifier {i!r}") for i in find_identifiers(text)[:1]]
    findings += [
        Finding(where, f"unsuppressed small count {p!r}")
        for p in find_small_counts_in_text(text)[:1]
    ]
    return findings


def check_html(html: str, where: str) -> list[Finding]:
    """Check an HTML output: its tables by column, and its visible text."""
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    findings = check_text(" ".join(parser.text), where)
    for n, table in enumerate(parser.tables, start=1):
        frame = _table_frame(table)
        if frame is not None:
            findings += check_table(frame, f"{where}, HTML table {n}")
    return findings


def check_notebook(nb: object) -> list[Finding]:
    """Check every output and markdown cell of an executed notebook (an nbformat node).

    Findings name cells by position, counting every cell of the executed notebook from 1
    (papermill's injected-parameters cell included), as the report's error messages do.
    """
    findings: list[Finding] = []
    for number, cell in enumerate(nb.cells, start=1):  # type: ignore[attr-defined]
        where = f"cell {number}"
        if cell.cell_type == "markdown":
            findings += check_text(_markdown_text(cell.source), f"{where} (markdown)")
            continue
        for output in cell.get("outputs", []):
            findings += _check_output(output, where)
    return findings


def check_tables_dir(tables_dir: Path) -> list[Finding]:
    """Check every ``*.csv`` table a notebook published."""
    findings: list[Finding] = []
    for path in sorted(Path(tables_dir).glob("*.csv")):
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            findings.append(Finding(f"table {path.stem}", f"cannot be read as CSV: {exc}"))
            continue
        findings += check_table(table, f"table {path.stem}")
    return findings


def check_report(nb: object, tables_dir: Path | None) -> list[Finding]:
    """All findings for one report: notebook outputs and published tables (capped at 20)."""
    findings = check_notebook(nb)
    if tables_dir is not None and Path(tables_dir).is_dir():
        findings += check_tables_dir(tables_dir)
    return findings[:_MAX_FINDINGS]


def _check_output(output: dict, where: str) -> list[Finding]:
    kind = output.get("output_type")
    if kind == "stream":
        return check_text(_joined(output.get("text", "")), f"{where} output")
    if kind == "error":
        text = "\n".join([output.get("evalue", ""), *output.get("traceback", [])])
        return check_text(_strip_ansi(text), f"{where} error")
    findings: list[Finding] = []
    data = output.get("data", {})
    # text/plain is only a fallback when a richer form is shown (a table's HTML, a chart).
    shown = [m for m in _TEXT_MIMES if m != "text/plain" or not _has_rich_form(data)]
    for mime in shown:
        if mime in data:
            findings += check_text(_joined(data[mime]), f"{where} output ({mime})")
    if "text/html" in data:
        findings += check_html(_joined(data["text/html"]), f"{where} output (text/html)")
    return findings


def _has_rich_form(data: dict) -> bool:
    return any(m == "text/html" or m.startswith("image/") for m in data)


def _joined(value: str | Iterable[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _markdown_text(source: str) -> str:
    # Images embedded as data URIs are not prose; their base64 can look like an id.
    return re.sub(r"data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=]+", "", source)


class _TableParser(HTMLParser):
    """Collects visible text and the cells of every ``<table>`` in an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tables: list[list[tuple[bool, list[str]]]] = []
        self._rows: list[tuple[bool, list[str]]] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        elif tag == "table":
            self._rows = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._rows is not None:
            self._row = []
        elif tag in {"td", "th"} and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._skip = max(0, self._skip - 1)
        elif tag in {"td", "th"} and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._rows is not None and self._row is not None:
            self._rows.append((self._in_head, self._row))
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._rows is not None:
            self.tables.append(self._rows)
            self._rows = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        else:
            self.text.append(data)


def _table_frame(rows: list[tuple[bool, list[str]]]) -> pd.DataFrame | None:
    head = [cells for is_head, cells in rows if is_head]
    body = [cells for is_head, cells in rows if not is_head]
    if not head and body:
        head, body = [body[0]], body[1:]
    if not head or not body:
        return None
    # pandas puts the column names first and the index name row last; take the fuller one.
    header = max(head, key=lambda cells: sum(bool(c) for c in cells))
    width = max(len(r) for r in body)
    # Align from the right: index cells (<th> in body rows) may be missing from the header.
    names = (
        [""] * (width - len(header)) + header[-width:] if len(header) <= width else header[-width:]
    )
    columns = [name or f"column {i}" for i, name in enumerate(names)]
    padded = [[""] * (width - len(r)) + r for r in body]
    return pd.DataFrame(padded, columns=_unique(columns))


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
