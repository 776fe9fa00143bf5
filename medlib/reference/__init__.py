"""Reference data resolved once: trusts and their lineage, financial years, look-back windows."""
