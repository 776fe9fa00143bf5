"""Printing a report page to PDF with the system Chromium, headless.

Chromium prints the same self-contained HTML page the lead sees, so the PDF matches it. The
flags keep a headless print quiet and offline: no first-run set-up, no background network,
no component updates, and a fresh empty profile each time. Chromium is optional: without it
PDFs are skipped with a message, and everything else is rendered.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from medlib.errors import MedlibError

__all__ = [
    "CHROMIUM_FLAGS",
    "NO_CHROMIUM_NOTE",
    "PdfError",
    "chromium_for_pdf",
    "find_chromium",
    "html_to_pdf",
]

#: Executables tried in order when looking for Chromium.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Environment variable naming a Chromium executable explicitly.
CHROMIUM_ENV = "MEDLIB_CHROMIUM"
#: Flags for a quiet, offline, headless Chromium.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
)
PDF_TIMEOUT_SECONDS = 120


class PdfError(MedlibError, RuntimeError):
    """Chromium did not produce a PDF."""


def find_chromium() -> str | None:
    """The Chromium executable to use, or None if none is installed.

    ``MEDLIB_CHROMIUM`` wins if set; otherwise the first of :data:`CHROMIUM_NAMES` on PATH.
    """
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        return explicit if Path(explicit).exists() else shutil.which(explicit)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


#: What the renderer says when PDFs were asked for but cannot be printed.
NO_CHROMIUM_NOTE = "PDF skipped: Chromium not found (install the Debian package 'chromium')"


def chromium_for_pdf(pdf: bool) -> tuple[str | None, str | None]:
    """The Chromium to print PDFs with, and a note to show if PDFs must be skipped.

    Returns:
        ``(executable, None)`` when PDFs can be printed, ``(None, note)`` when they were asked
        for but Chromium is missing, ``(None, None)`` when they were not asked for.
    """
    if not pdf:
        return None, None
    chromium = find_chromium()
    return (chromium, None) if chromium else (None, NO_CHROMIUM_NOTE)


def html_to_pdf(
    html_path: Path,
    pdf_path: Path,
    *,
    chromium: str | None = None,
    timeout: float = PDF_TIMEOUT_SECONDS,
) -> Path:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium.

    Args:
        html_path: A self-contained HTML page.
        pdf_path: Where to write the PDF.
        chromium: The executable; None finds it with :func:`find_chromium`.
        timeout: Seconds before giving up.

    Returns:
        ``pdf_path``.

    Raises:
        PdfError: Chromium is missing, failed, timed out or wrote no PDF.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise PdfError("Chromium not found: install the Debian package 'chromium' for PDFs")
    pdf_path = Path(pdf_path)
    pdf_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="medlib-chromium-") as profile:
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf_path}",
            Path(html_path).resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium took longer than {timeout:.0f} s to print the PDF") from None
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        last = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise PdfError(f"Chromium wrote no PDF (exit {done.returncode}): {last[0]}")
    return pdf_path
