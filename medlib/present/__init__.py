"""Presentation: NHS style, charts, figures, disclosure control and published outputs."""

__all__ = [
    "charts",
    "disclosure",
    "disclosure_check",
    "figures",
    "labels",
    "outputs",
    "sections",
    "style",
    "wording",
]
