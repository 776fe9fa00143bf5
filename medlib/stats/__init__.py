"""Statistical methods: SPC (Making Data Count), funnels, deciles, percentile ranks, forecasts."""
