"""Polypharmacy comparators, PINCER, anticholinergic burden, review list, the audit report."""
