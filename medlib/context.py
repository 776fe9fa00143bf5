"""The report context: a trust or system resolved once, with its period and data source."""
