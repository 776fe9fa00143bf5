"""Exporting an executed notebook to a lead-facing HTML page with no code.

The page is nbconvert's JupyterLab template with code cells, input prompts, output prompts and
standard-error output (warnings) removed, and without the external scripts the template would
load from a CDN (require.js, MathJax, Mermaid): a report is one self-contained file (charts are
embedded images) that opens offline and behind NHS proxies. A small header names the pack, the
trust and the period and links back to the pack's index.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "ReportHeading",
    "count_stderr",
    "is_stderr",
    "lead_facing",
    "notebook_label",
    "notebook_to_html",
    "report_data_source",
]

_TEMPLATE_NAME = "medlib_report.html.j2"
_TEMPLATE = r"""
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}
<style type="text/css">
.medlib-banner { font-family: Arial, "Liberation Sans", sans-serif; background: #005EB8;
  color: #fff; padding: 12px 24px; }
.medlib-banner a { color: #fff; }
.medlib-banner .medlib-title { font-size: 1.1em; font-weight: bold; }
.medlib-banner .medlib-meta, .medlib-banner .medlib-source { font-size: 0.9em; margin-top: 4px; }
.medlib-synthetic { background: #DA291C; color: #fff; font-weight: bold; padding: 1px 6px; }
@media print { .medlib-banner a.medlib-back { display: none; } }
/* Every page fits an A4 portrait width: tables wrap their headers and long text instead of
   scrolling, numbers stay on one line, charts shrink to the column. */
body { max-width: 1100px; margin: 0 auto; }
.jp-OutputArea-output, .jp-RenderedHTMLCommon, .jp-RenderedHTML { overflow: visible !important; }
.jp-RenderedHTMLCommon table { table-layout: auto; max-width: 100%; margin: 0.5em 0;
  font-size: 12px; }
.jp-RenderedHTMLCommon thead { display: table-header-group; }
.jp-RenderedHTMLCommon .medlib-table table th { white-space: normal; word-break: normal;
  overflow-wrap: normal; vertical-align: bottom; text-align: left; }
.jp-RenderedHTMLCommon .medlib-table table td { white-space: normal; overflow-wrap: break-word;
  text-align: left; max-width: 22em; }
.jp-RenderedImage img, .jp-RenderedHTMLCommon img { max-width: 100%; height: auto; }
.medlib-caption { color: #425563; font-size: 0.9em; }
.medlib-empty { font-style: italic; color: #425563; }
@page { size: A4 portrait; margin: 14mm 12mm 16mm 12mm; }
@media print {
  body { max-width: none; font-size: 10pt; }
  .jp-Cell, .jp-OutputArea-child { break-inside: auto; }
  .jp-RenderedImage, .jp-RenderedImage img, figure {
    break-inside: avoid; page-break-inside: avoid; }
  .jp-RenderedHTMLCommon tr { break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  .medlib-banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style>
{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
{{ resources.medlib_banner }}
{%- endblock body_header -%}
"""


@dataclass(frozen=True)
class ReportHeading:
    """What the header of a report page says.

    Attributes:
        pack_title: The parameter set's title.
        trust_code: ODS code.
        trust_name: Trust name, or empty if unknown.
        notebook: Notebook name.
        period: Period label, e.g. ``"data to March 2024 (financial year 2023/24)"``.
        generated: When the report was rendered (ISO date-time).
        index_href: Link back to the pack index.
        data_source: Where the report's figures come from (empty when unknown); a source
            that is synthetic is flagged in the header.
    """

    pack_title: str
    trust_code: str
    trust_name: str
    notebook: str
    period: str
    generated: str
    index_href: str = "../index.html"
    data_source: str = ""

    @property
    def page_title(self) -> str:
        """The browser title: notebook, then trust."""
        who = f"{self.trust_name} ({self.trust_code})" if self.trust_name else self.trust_code
        return f"{notebook_label(self.notebook)}: {who}"

    def banner_html(self) -> str:
        """The header block shown above the report."""
        esc = html.escape
        who = f"{self.trust_name} ({self.trust_code})" if self.trust_name else self.trust_code
        return (
            '<header class="medlib-banner">'
            f'<div class="medlib-title">{esc(self.pack_title)}</div>'
            f'<div class="medlib-meta">{esc(notebook_label(self.notebook))} &middot; {esc(who)}'
            f" &middot; {esc(self.period)} &middot; rendered {esc(self.generated)}"
            f' &middot; <a class="medlib-back" href="{esc(self.index_href)}">all reports</a></div>'
            f"{self._source_html()}</header>"
        )

    def _source_html(self) -> str:
        if not self.data_source:
            return ""
        flag = (
            '<span class="medlib-synthetic">SYNTHETIC DATA</span> '
            if "synthetic" in self.data_source.lower()
            else ""
        )
        return f'<div class="medlib-source">{flag}Data: {html.escape(self.data_source)}</div>'


def report_data_source(nb: Any, tables: Sequence[pd.DataFrame]) -> str:
    """What a rendered report's header says its data are.

    The notebook declares its usual source (``metadata.medlib.data_source``); a published
    table's ``data_source`` column says what each table was actually made from (a store's
    activity or the synthetic sample), and those values are added, so a header never calls
    synthetic figures real.

    Example:
        >>> nb = {"metadata": {"medlib": {"data_source": "SCMD"}}}
        >>> report_data_source(nb, [pd.DataFrame({"data_source": ["synthetic sample"]})])
        'SCMD; synthetic sample'
    """
    declared = nb.get("metadata", {}).get("medlib", {}).get("data_source", "")
    found = [declared] if declared else []
    for table in tables:
        if "data_source" in table.columns:
            found += [str(v) for v in table["data_source"].dropna().unique()]
    return "; ".join(dict.fromkeys(v for v in found if v))


def notebook_to_html(nb: object, heading: ReportHeading) -> str:
    """Render an executed notebook (nbformat node) as a self-contained page without code.

    Args:
        nb: The executed notebook.
        heading: What the page header says.

    Returns:
        The HTML document.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        template_file=_TEMPLATE_NAME,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    resources = {
        "metadata": {"name": heading.page_title},
        "medlib_banner": heading.banner_html(),
    }
    body, _ = exporter.from_notebook_node(lead_facing(nb), resources=resources)
    return body


def lead_facing(nb: Any) -> Any:
    """A copy of the notebook without the standard-error streams (warnings, log lines).

    Warnings are for analysts: they stay in the executed ``.ipynb`` (and are counted in the
    manifest) but not on the page a lead reads.
    """
    copy = deepcopy(nb)
    for cell in copy.cells:
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if not is_stderr(o)]
    return copy


def count_stderr(nb: Any) -> int:
    """How many standard-error stream outputs the notebook has."""
    return sum(is_stderr(o) for cell in nb.cells for o in cell.get("outputs", []))


def is_stderr(output: Any) -> bool:
    """Whether an output is text written to standard error."""
    return output.get("output_type") == "stream" and output.get("name") == "stderr"


#: Names of the project's reports whose file names do not read as a name on their own.
NOTEBOOK_LABELS = {"wet_amd": "Wet AMD treatment intervals", "measures": "Medicines measures"}


def notebook_label(notebook: str) -> str:
    """``spend_trends`` -> ``Spend trends``; ``wet_amd`` -> ``Wet AMD treatment intervals``."""
    if notebook in NOTEBOOK_LABELS:
        return NOTEBOOK_LABELS[notebook]
    text = notebook.replace("_", " ").strip()
    return text[:1].upper() + text[1:]
