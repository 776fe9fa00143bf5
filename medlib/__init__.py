"""medlib: medicines value workbook for NHS trusts."""

__version__ = "0.1.0"
