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
  with at least one letter) or an NHS number: ten digits standing on their own that pass the
  NHS number (modulus 11) check digit, written ``ddd ddd dddd`` (spaces, non-breaking spaces
  or hyphens) or unspaced ``dddddddddd`` as the patient reader accepts it as an id. In a
  column named as a code (:func:`is_code_column`: ``vmp_code``, ``snomed_code``, ``dmd``...),
  ten unspaced digits are a product or clinical code and only the spaced form counts. A
  column named like :data:`IDENTIFIER_COLUMN_PATTERN` is refused whatever it holds;
* a **patient-count column** is one whose name contains ``patient``, ``people`` or ``person``
  (``patients``, ``n_patients``, ``new_patients``...) and is not a rate or share
  (:data:`NOT_A_COUNT_PATTERN`); any value from 1 to 7 in it is an unsuppressed small count
  (``disclose_count`` shows those as ``*`` and rounds every other count to a multiple of 5, so
  1-7 never survives it);
* a table is **about patients** when it has a patient-count column, and a report is when any
  of its tables (published or shown) is. In a table or report about patients a **count-like
  column** (:func:`is_count_like_column`: ``n``, ``n_*``, ``*_n``, ``count``, ``*_count``,
  ``number_*``, ``flagged``, ``*_flagged``, ``numerator``, ``denominator``, ``*_num``,
  ``*_den``, ``cases``) is a patient count too, whatever its name lacks; elsewhere (a spend
  report's ``numerator`` of DDDs) it is not;
* in text, a number from 1 to 7 followed within two words by ``patient(s)``, ``people`` or
  ``person(s)`` is an unsuppressed small count (``3 patients``, ``5 new patients``,
  ``2 of 40 patients``), and so is the noun followed within two words by ``:``, ``=`` or
  ``(n=`` and such a number (``patients flagged: 5``, ``patients (n=3)``). Words may be
  separated by any one or two whitespace characters (a non-breaking space too) or one line
  break, and zero-width characters are ignored; a run of three or more spaces is a column gap
  in a text table, where the number is a row label.
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
    "is_code_column",
    "is_count_like_column",
    "is_nhs_number",
    "is_patient_count_column",
    "is_patient_table",
]

#: Pseudonyms issued by ``medlib.synthetic.patients`` (``SYN`` + 10 upper-case hex digits).
SYNTHETIC_PATIENT_ID = r"SYN[0-9A-F]{10}"
#: Pseudonyms in ``hcd_activity`` as ``medlib.synthetic.hcd_activity`` issues them: 16 lower-case
# hex digits.
#: At least one must be a letter, so 16-digit dm+d codes are not mistaken for them.
HCD_PSEUDONYM = r"(?=[0-9a-f]{16}(?![0-9A-Za-z]))[0-9a-f]*[a-f][0-9a-f]*"
#: A patient pseudonym standing on its own (not part of a longer code or hash, nor the digits
#: after a decimal point: a float such as ``5.949370854032165e-05`` holds 16 hex-like
#: characters).
PATIENT_ID_PATTERN = re.compile(
    rf"(?<![0-9A-Za-z])(?<![0-9]\.)(?:{SYNTHETIC_PATIENT_ID}|{HCD_PSEUDONYM})(?![0-9A-Za-z])"
)
#: Ten digits that may be an NHS number: displayed 3-3-4 (the same space, non-breaking space or
#: hyphen both times) or unspaced, standing on their own (not part of a longer number, a
#: decimal, a code or a hash; a full stop ending a sentence is fine); confirmed by the check
#: digit.
NHS_NUMBER_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])(?<![0-9]\.)([0-9]{3})([ \u00a0-]?)([0-9]{3})\2([0-9]{4})"
    r"(?![0-9A-Za-z])(?!\.[0-9])"
)
#: Column names that hold patient identifiers; such columns never reach a lead.
IDENTIFIER_COLUMN_PATTERN = re.compile(
    r"(patient_?id|person_?id|nhs_?number|nhs_?no|pseudonym|pseudo_?id)", re.IGNORECASE
)
#: Column names that mark a patient count.
PATIENT_COUNT_COLUMN_PATTERN = re.compile(r"patient|people|person", re.IGNORECASE)
#: Column names that are about patients but are not counts (rates, shares, averages).
NOT_A_COUNT_PATTERN = re.compile(
    r"(pct|percent|share|rate|ratio|proportion|prop_|per_|mean|median|average|avg|_id$)",
    re.IGNORECASE,
)
#: Words of a column name that make it a count (see :func:`is_count_like_column`).
COUNT_WORDS = frozenset(
    {"n", "count", "counts", "number", "flagged", "numerator", "denominator", "num", "den", "cases"}
)
#: Words of a column name that make it a label, not a count (``denominator_description``).
LABEL_WORDS = frozenset({"description", "label", "name", "title", "note", "text", "definition"})
#: Words of a column name that mark a product or clinical code.
CODE_WORDS = frozenset({"snomed", "dmd", "vmp", "vmpp", "amp", "ampp", "vtm", "bnf", "ods"})
#: Whatever separates two words in text, once whitespace is normalised (:func:`_normalised`):
#: one or two spaces, or one line break. Three or more spaces are a column gap in a text table.
_GAP = r"(?: {1,2}| ?\n ?)"
#: What is counted, as running text names it.
_NOUN = r"(?:patients?|people|persons?)"
#: A number 1-7 followed within two words by the noun, as in "3 patients", "5 new patients" or
#: "2 of 40 patients" ("3 per patient" is a rate, not a count), or straight by the noun
#: ("3patients", as a zero-width space between them shows).
SMALL_COUNT_TEXT_PATTERN = re.compile(
    rf"(?<![\d.,£$%])\b([1-{SMALL_MAX}])(?![0-9])(?![.,]\d)"
    rf"(?:{_GAP}(?!per\b)(?:of{_GAP}[\d,]+{_GAP})?(?:[A-Za-z-]+{_GAP}){{0,2}})?{_NOUN}\b",
    re.IGNORECASE,
)
#: The noun, then within two words ":", "=" or "(n=" and a number 1-7, as in "patients
#: flagged: 5", "patients: 3" or "patients (n=3)"; not "patients: 5%", "patients: 5.5",
#: "patients: 5,000" or "patients: 5 per 1,000".
SMALL_COUNT_LABEL_PATTERN = re.compile(
    rf"\b{_NOUN}\b(?:{_GAP}[A-Za-z-]+){{0,2}}(?:['\"]? ?[:=]| ?\(n ?=){_GAP}?"
    rf"([1-{SMALL_MAX}])(?![0-9])(?![.,][0-9])(?! ?(?:%|per\b))",
    re.IGNORECASE,
)
#: Whitespace other than a line break (``\s`` is every Unicode space: no-break, thin, ideographic).
_SPACE = re.compile(r"[^\S\n]")
#: Characters that show as nothing (Unicode format characters a phrase could hide behind).
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
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


def find_identifiers(text: str, spaced_only: bool = False) -> list[str]:
    """Patient identifiers in ``text``: pseudonyms and NHS numbers, spaced or not.

    Args:
        text: Any text.
        spaced_only: Count only NHS numbers written 3-3-4 with separators (for a column of
            codes, where ten unspaced digits are a code).

    Example:
        >>> find_identifiers("ids 943 476 5919 and 9434765919, not 9434765918")
        ['943 476 5919', '9434765919']
    """
    found = PATIENT_ID_PATTERN.findall(text)
    for match in NHS_NUMBER_PATTERN.finditer(text):
        if spaced_only and not match.group(2):
            continue
        if is_nhs_number(match.group(1) + match.group(3) + match.group(4)):
            found.append(match.group(0))
    return found


def find_small_counts_in_text(text: str) -> list[str]:
    """Phrases like ``3 patients`` or ``patients flagged: 5`` (unsuppressed counts 1-7).

    Whitespace is normalised first (every kind of space becomes a plain space, zero-width
    characters go), so a phrase is returned as it reads, e.g. ``3 patients`` for
    ``3\u00a0patients``.

    Example:
        >>> find_small_counts_in_text("3\u00a0patients; patients flagged: 5; 8 patients")
        ['3 patients', 'patients flagged: 5']
    """
    text = _normalised(text)
    found = [(m.start(), m.group(0)) for m in SMALL_COUNT_TEXT_PATTERN.finditer(text)]
    found += [(m.start(), m.group(0)) for m in SMALL_COUNT_LABEL_PATTERN.finditer(text)]
    return [phrase for _, phrase in sorted(found)]


def is_patient_count_column(name: str) -> bool:
    """Whether a column name marks a patient count (see the module rules)."""
    name = str(name)
    return (
        bool(PATIENT_COUNT_COLUMN_PATTERN.search(name))
        and not IDENTIFIER_COLUMN_PATTERN.search(name)
        and not NOT_A_COUNT_PATTERN.search(name)
    )


def is_count_like_column(name: str) -> bool:
    """Whether a column name says "a count" without naming patients (see the module rules).

    Example:
        >>> [is_count_like_column(c) for c in ("n", "flagged", "gi_bleed_num", "z", "n_orgs")]
        [True, True, True, False, True]
        >>> is_count_like_column("denominator_description"), is_count_like_column("pct_flagged")
        (False, False)
    """
    words = _words(name)
    return (
        bool(words & COUNT_WORDS)
        and not words & LABEL_WORDS
        and not IDENTIFIER_COLUMN_PATTERN.search(str(name))
        and not NOT_A_COUNT_PATTERN.search(str(name))
    )


def is_code_column(name: str) -> bool:
    """Whether a column name marks a product or clinical code (``vmp_code``, ``snomed``...).

    Example:
        >>> is_code_column("vmp_code"), is_code_column("dmd_id"), is_code_column("notes")
        (True, True, False)
    """
    words = _words(name)
    return any(w.endswith("code") for w in words) or bool(words & CODE_WORDS)


def is_patient_table(table: pd.DataFrame) -> bool:
    """Whether a table is about patients: it has a patient-count column."""
    return any(is_patient_count_column(c) for c in table.columns)


def check_table(
    table: pd.DataFrame, where: str, about_patients: bool | None = None
) -> list[Finding]:
    """Check one lead-facing table for identifiers and small patient counts.

    Args:
        table: The table as the lead sees it (values may be text, as read from CSV).
        where: How to name the table in findings, e.g. ``"table spend_by_month"``.
        about_patients: Whether the table belongs to a report about patients, which makes its
            count-like columns patient counts; None decides from the table itself
            (:func:`is_patient_table`).

    Returns:
        Findings; empty if the table may be published.
    """
    if about_patients is None:
        about_patients = is_patient_table(table)
    findings: list[Finding] = []
    for column in table.columns:
        label = f"{where}, column {column!r}"
        if IDENTIFIER_COLUMN_PATTERN.search(str(column)):
            findings.append(Finding(label, "column of patient identifiers"))
            continue
        values = table[column]
        text = values.dropna().astype(str)
        spaced_only = is_code_column(column)
        for row, value in text.items():
            ids = find_identifiers(value, spaced_only=spaced_only)
            if ids:
                findings.append(Finding(f"{label}, row {row}", f"patient identifier {ids[0]!r}"))
                break
        if is_patient_count_column(column) or (about_patients and is_count_like_column(column)):
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


def check_html(html: str, where: str, about_patients: bool | None = None) -> list[Finding]:
    """Check an HTML output: its tables by column, and its visible text.

    Args:
        html: The HTML fragment.
        where: How to name it in findings.
        about_patients: As for :func:`check_table`, for every table in it.
    """
    text, frames = _parsed_html(html)
    findings = check_text(text, where)
    for n, frame in frames:
        findings += check_table(frame, f"{where}, HTML table {n}", about_patients)
    return findings


def check_notebook(nb: object, about_patients: bool | None = None) -> list[Finding]:
    """Check every output and markdown cell of an executed notebook (an nbformat node).

    Findings name cells by position, counting every cell of the executed notebook from 1
    (papermill's injected-parameters cell included), as the report's error messages do.

    Args:
        nb: The executed notebook.
        about_patients: As for :func:`check_table`, for every HTML table it shows.
    """
    findings: list[Finding] = []
    for number, cell in enumerate(nb.cells, start=1):  # type: ignore[attr-defined]
        where = f"cell {number}"
        if cell.cell_type == "markdown":
            findings += check_text(_markdown_text(cell.source), f"{where} (markdown)")
            continue
        for output in cell.get("outputs", []):
            findings += _check_output(output, where, about_patients)
    return findings


def check_tables_dir(tables_dir: Path, about_patients: bool | None = None) -> list[Finding]:
    """Check every ``*.csv`` table a notebook published.

    Args:
        tables_dir: The report's tables folder.
        about_patients: As for :func:`check_table`, for every table in it.
    """
    findings: list[Finding] = []
    for name, table in _read_tables(tables_dir):
        if isinstance(table, Finding):
            findings.append(table)
        else:
            findings += check_table(table, f"table {name}", about_patients)
    return findings


def check_report(nb: object, tables_dir: Path | None) -> list[Finding]:
    """All findings for one report: notebook outputs and published tables (capped at 20).

    The report is about patients when any of its tables, published or shown, is
    (:func:`is_patient_table`); then the count-like columns of all its tables are checked as
    patient counts.
    """
    has_tables = tables_dir is not None and Path(tables_dir).is_dir()
    published = _read_tables(tables_dir) if has_tables else []
    frames = [t for _, t in published if isinstance(t, pd.DataFrame)] + _shown_tables(nb)
    about_patients = any(is_patient_table(frame) for frame in frames)
    findings = check_notebook(nb, about_patients)
    if has_tables:
        findings += check_tables_dir(tables_dir, about_patients)
    return findings[:_MAX_FINDINGS]


def _read_tables(tables_dir: Path) -> list[tuple[str, pd.DataFrame | Finding]]:
    """Every published table as text, or a finding for one that cannot be read."""
    tables: list[tuple[str, pd.DataFrame | Finding]] = []
    for path in sorted(Path(tables_dir).glob("*.csv")):
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            tables.append(
                (path.stem, Finding(f"table {path.stem}", f"cannot be read as CSV: {exc}"))
            )
            continue
        tables.append((path.stem, table))
    return tables


def _shown_tables(nb: object) -> list[pd.DataFrame]:
    """Every HTML table of the notebook's outputs, as text frames."""
    frames: list[pd.DataFrame] = []
    for cell in nb.cells:  # type: ignore[attr-defined]
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html is not None:
                frames += [frame for _, frame in _parsed_html(_joined(html))[1]]
    return frames


def _parsed_html(html: str) -> tuple[str, list[tuple[int, pd.DataFrame]]]:
    """The visible text of an HTML fragment, and its tables numbered from 1."""
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    frames = [(n, _table_frame(table)) for n, table in enumerate(parser.tables, start=1)]
    return " ".join(parser.text), [(n, f) for n, f in frames if f is not None]


def _check_output(output: dict, where: str, about_patients: bool | None) -> list[Finding]:
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
        findings += check_html(
            _joined(data["text/html"]), f"{where} output (text/html)", about_patients
        )
    return findings


def _words(name: object) -> frozenset[str]:
    """The lower-case words of a column name (split at anything but a letter or digit)."""
    return frozenset(w for w in re.split(r"[^a-z0-9]+", str(name).lower()) if w)


def _normalised(text: str) -> str:
    """``text`` with every kind of space a plain space, one kind of line break, no zero-width.

    A non-breaking or thin space reads as a space on the page, and a zero-width character (a
    zero-width space or joiner, a soft hyphen, a direction mark, a BOM) as nothing, so a
    phrase cannot hide behind either.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _SPACE.sub(" ", _INVISIBLE.sub("", text))


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
