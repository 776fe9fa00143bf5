"""Reference data resolved once: trusts and their lineage, financial years, look-back windows."""

__all__ = ["financial_years", "lookback", "pincer_definitions", "trusts"]
