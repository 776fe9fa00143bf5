"""Where things live, resolved from the package so notebooks and scripts work from any folder."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DATA_DIR",
    "NOTEBOOKS_DIR",
    "PACKAGE_DIR",
    "PARAMETERS_DIR",
    "PROJECT_ROOT",
    "REFERENCE_DIR",
    "REPORTS_DIR",
    "STORE_DIR",
]

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
REFERENCE_DIR = PACKAGE_DIR / "reference"
PROJECT_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
PARAMETERS_DIR = PROJECT_ROOT / "parameters"
REPORTS_DIR = PROJECT_ROOT / "reports"
#: Where ``medlib ingest`` builds a store when no ``--store`` is given.
STORE_DIR = PROJECT_ROOT / "store"
