"""medlib: medicines value workbook for NHS trusts."""

__all__ = [
    "cli",
    "context",
    "engine",
    "errors",
    "explorer",
    "io",
    "measures",
    "pack_cache",
    "paths",
    "polypharmacy",
    "present",
    "reference",
    "render",
    "spend",
    "stats",
    "switch",
    "synthetic",
    "validation",
    "wet_amd",
]

__version__ = "0.1.0"
