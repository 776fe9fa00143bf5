"""Statistical methods: SPC (Making Data Count), funnels, deciles, percentile ranks, forecasts."""

__all__ = ["forecast", "peer_comparison", "spc"]
