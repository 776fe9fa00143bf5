"""Polypharmacy comparators, PINCER, anticholinergic burden, review list, the audit report."""

__all__ = ["acb", "comparators", "pincer", "report", "review_list", "views"]
