"""Presentation: NHS style, charts, figures, disclosure control and published outputs."""

__all__ = ["charts", "disclosure", "figures", "outputs", "sections", "style", "wording"]
