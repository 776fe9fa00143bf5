"""The explorer's controls (ipywidgets) wired to an :class:`~medlib.explorer.state.Explorer`.

Each control sets one field of the selection and redraws; the :class:`Explorer` recomputes only
what that field touches. The chart is shown as a PNG inside an HTML widget and the table as an
HTML table, so both travel as plain values to the browser. A button exports the current table
to CSV and Excel; a collapsible what-if panel forecasts switch savings.
"""

from __future__ import annotations

import base64
import html
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from medlib.explorer.render import figure_png
from medlib.explorer.sources import BUNDLED_DATASETS, COMPARATOR_LABELS, ExplorerError
from medlib.explorer.state import CHARTS, COMPARISONS, MEASURES, Explorer
from medlib.explorer.whatif import WhatIf, scmd_units_per_month
from medlib.switch.definitions import SwitchDefinition

__all__ = ["ALL_PRODUCTS", "ExplorerPanel", "WhatIfPanel", "explore", "table_html"]

ALL_PRODUCTS = "All products in the dataset"
_NO_SYSTEM = "(none: show trusts)"
#: Volume used when the data cannot supply one (the analyst should type their own).
FALLBACK_UNITS_PER_MONTH = 100.0
_PNG_CACHE_SIZE = 24


def table_html(explorer: Explorer) -> str:
    """HTML for the summary table as a person reads it (:meth:`Explorer.table_view`).

    An empty table says so. Cells and headings are escaped by the shared layer.
    """
    return explorer.table_view()._repr_html_()


def _option_pairs(mapping: dict[str, Any]) -> list[tuple[str, Any]]:
    return list(mapping.items())


class WhatIfPanel(widgets.VBox):
    """Sliders for a switch scenario and its forecast savings, updated on every change.

    Args:
        explorer: The explorer whose trusts give the default monthly volume.
    """

    def __init__(self, explorer: Explorer) -> None:
        self.explorer = explorer
        switches = explorer.switches
        molecule = str(explorer.selection.molecule or "").casefold()
        self.switch = widgets.Dropdown(
            options=[(m.capitalize(), m) for m in switches],
            value=molecule if molecule in switches else next(iter(switches)),
            description="Switch",
        )
        self.units = widgets.BoundedFloatText(
            value=FALLBACK_UNITS_PER_MONTH, min=0, max=1e9, description="Units/month"
        )
        self.from_data = widgets.Button(description="Units from SCMD", icon="database")
        self.price_reduction = widgets.FloatSlider(
            value=0.5,
            min=0,
            max=1,
            step=0.05,
            description="Price cut",
            readout_format=".0%",
        )
        self.target_uptake = widgets.FloatSlider(
            value=0.8,
            min=0,
            max=1,
            step=0.05,
            description="Uptake",
            readout_format=".0%",
        )
        # The forecast takes a few milliseconds, so the sliders update while they move.
        self.months = widgets.IntSlider(value=12, min=0, max=36, description="Months")
        self.start = widgets.Text(
            value="",
            description="Start (YYYY-MM)",
            continuous_update=False,
            style={"description_width": "110px"},
        )
        self.output = widgets.HTML()
        self.volume_note = widgets.HTML()
        self.last_update_ms: float | None = None
        self._scenario: WhatIf | None = None
        self._syncing = False
        for control in (self.units, self.price_reduction, self.target_uptake, self.months):
            control.observe(self._changed, names="value")
        self.start.observe(self._changed, names="value")
        self.switch.observe(self._switch_changed, names="value")
        self.from_data.on_click(lambda _b: self.fill_units_from_data())
        super().__init__(
            [
                widgets.HBox([self.switch, self.start]),
                widgets.HBox([self.units, self.from_data]),
                self.volume_note,
                self.price_reduction,
                self.target_uptake,
                self.months,
                self.output,
            ]
        )
        self._reset_to_definition()
        self.fill_units_from_data()

    @property
    def scenario(self) -> WhatIf | None:
        """The scenario shown."""
        return self._scenario

    def _definition(self) -> SwitchDefinition:
        return self.explorer.switches[self.switch.value]

    def _reset_to_definition(self) -> None:
        d = self._definition()
        self._syncing = True
        try:
            self.price_reduction.value = d.price.expected_reduction
            self.target_uptake.value = d.price.target_uptake
            self.months.value = d.price.months_to_target
            self.start.value = f"{d.launch_month:%Y-%m}"
        finally:
            self._syncing = False
        self.update()

    def _switch_changed(self, _change: dict) -> None:
        self.volume_note.value = ""
        self._reset_to_definition()
        if self.fill_units_from_data() is None:
            self.units.value = FALLBACK_UNITS_PER_MONTH

    def fill_units_from_data(self) -> float | None:
        """Set units a month from the SCMD biologics extract for the trusts shown."""
        d = self._definition()
        ex = self.explorer
        if "scmd_biologics" not in ex.datasets:
            self.volume_note.value = (
                "<i>This explorer has no SCMD biologics extract: type the units a month.</i>"
            )
            return None
        rows = ex.usage_rows("scmd_biologics")
        trusts = ex.trusts_shown() or None
        units = scmd_units_per_month(rows, d, trusts)
        if units is None:
            self.volume_note.value = (
                f"<i>The SCMD extract has no milligram volume for {html.escape(d.molecule)}: "
                "type the units a month.</i>"
            )
            return None
        who = ", ".join(trusts) if trusts else "all trusts"
        self.volume_note.value = (
            f"<i>Mean of the latest 6 months of SCMD for {html.escape(who)}, in "
            f"{html.escape(d.price.unit)} units.</i>"
        )
        self.units.value = round(units, 1)
        return units

    def _changed(self, _change: dict) -> None:
        if not self._syncing:
            self.update()

    def update(self) -> None:
        """Recompute the forecast from the controls and show it."""
        started = time.perf_counter()
        try:
            scenario = WhatIf.from_definition(
                self._definition(),
                self.units.value,
                price_reduction=self.price_reduction.value,
                target_uptake=self.target_uptake.value,
                months_to_target=int(self.months.value),
                start=self.start.value.strip() or None,
            )
            table = scenario.table()
        except (ExplorerError, ValueError) as exc:
            self.output.value = f'<p class="medlib-error">{html.escape(str(exc))}</p>'
            return
        self._scenario = scenario
        shown = table.drop(columns=["molecule"]).T.reset_index()
        shown.columns = ["", "value"]
        self.output.value = (
            f'<p class="medlib-whatif">{html.escape(scenario.sentence())}</p>'
            + shown.to_html(index=False, border=0, classes="medlib-whatif-table")
        )
        self.last_update_ms = (time.perf_counter() - started) * 1000


class ExplorerPanel(widgets.VBox):
    """The explorer: controls, chart, summary table, export button and what-if panel.

    Args:
        explorer: The state to drive.
        export_dir: Folder the export button writes to.

    Attributes:
        explorer: The :class:`Explorer` behind the controls.
        controls: The controls by selection field (``dataset``, ``focus``, ``trusts``,
            ``system``, ``period``, ``measure``, ``comparator``, ``comparison``, ``chart``).
        chart: HTML widget holding the chart image.
        table: HTML widget holding the summary table.
        status: Messages and caveats.
        last_update_ms: How long the last redraw took.
    """

    def __init__(self, explorer: Explorer, export_dir: str | Path = "exports") -> None:
        self.explorer = explorer
        self.export_dir = Path(export_dir)
        self.last_update_ms: float | None = None
        self.last_export: tuple[Path, Path] | None = None
        self._syncing = False
        self._png: OrderedDict[Any, str] = OrderedDict()

        def wide() -> widgets.Layout:
            # One Layout per control: a shared one would hide them all with the comparator.
            return widgets.Layout(width="460px")

        style = {"description_width": "110px"}
        self.controls: dict[str, widgets.Widget] = {
            "dataset": widgets.Dropdown(description="Dataset", layout=wide(), style=style),
            "focus": widgets.Combobox(
                description="Products",
                placeholder="Type a molecule or BNF section",
                ensure_option=True,
                layout=wide(),
                style=style,
            ),
            "trusts": widgets.SelectMultiple(
                description="Trusts", rows=6, layout=wide(), style=style
            ),
            "system": widgets.Dropdown(description="or system", layout=wide(), style=style),
            "period": widgets.SelectionRangeSlider(
                options=["-"],
                description="Period",
                continuous_update=False,
                layout=widgets.Layout(width="700px"),
                style=style,
            ),
            "measure": widgets.Dropdown(
                options=[(m.label, k) for k, m in MEASURES.items()],
                description="Measure",
                layout=wide(),
                style=style,
            ),
            "comparator": widgets.Dropdown(
                options=[(label, key) for key, label in COMPARATOR_LABELS.items()],
                description="Comparator",
                layout=wide(),
                style=style,
            ),
            "comparison": widgets.Dropdown(
                options=[(label.capitalize(), key) for key, label in COMPARISONS.items()],
                description="Compare with",
                layout=wide(),
                style=style,
            ),
            "chart": widgets.ToggleButtons(options=[(v, k) for k, v in CHARTS.items()]),
        }
        self.export_button = widgets.Button(
            description="Export table (CSV + Excel)",
            icon="download",
            layout=widgets.Layout(width="240px"),
        )
        self.export_status = widgets.HTML()
        self.chart = widgets.HTML(layout=widgets.Layout(min_height="360px"))
        self.table = widgets.HTML()
        self.status = widgets.HTML()
        self.whatif_box = widgets.Accordion(children=[widgets.HTML("Opening...")])
        self.whatif_box.set_title(0, "What-if savings for a switch")
        self.whatif_box.selected_index = None
        self.whatif: WhatIfPanel | None = None

        handlers: dict[str, Callable[[Any], dict[str, Any]]] = {
            "dataset": lambda v: {"dataset": v},
            "focus": self._focus_change,
            "trusts": lambda v: {"trusts": tuple(v)} if v else {"trusts": (), "system": None},
            "system": self._system_change,
            "period": lambda v: {"period": v},
            "measure": lambda v: {"measure": v},
            "comparator": lambda v: {"comparator": v},
            "comparison": lambda v: {"comparison": v},
            "chart": lambda v: {"chart": v},
        }
        for name, control in self.controls.items():
            control.observe(self._handler(handlers[name]), names="value")
        self.export_button.on_click(lambda _b: self.export())
        self.whatif_box.observe(self._open_whatif, names="selected_index")

        c = self.controls
        super().__init__(
            [
                widgets.HBox(
                    [
                        widgets.VBox([c["dataset"], c["focus"], c["measure"], c["comparator"]]),
                        widgets.VBox([c["trusts"], c["system"]]),
                    ]
                ),
                c["period"],
                widgets.HBox([c["comparison"], c["chart"]]),
                self.status,
                self.chart,
                self.table,
                widgets.HBox([self.export_button, self.export_status]),
                self.whatif_box,
            ]
        )
        self.add_class("medlib-explorer")
        self.sync_controls()
        self.refresh()

    # --- control -> state -------------------------------------------------------------

    def _handler(self, make: Callable[[Any], dict[str, Any]]) -> Callable[[dict], None]:
        def handle(change: dict) -> None:
            if self._syncing:
                return
            changes = make(change["new"])
            if changes is None:
                return
            self.apply(**changes)

        return handle

    def _focus_change(self, value: str) -> dict[str, Any] | None:
        if not value:
            return None
        if value == ALL_PRODUCTS:
            return {"molecule": None, "bnf_section": None}
        sections = self.explorer.section_options()
        if value in sections:
            return {"bnf_section": sections[value]}
        return {"molecule": value}

    def _system_change(self, value: str | None) -> dict[str, Any]:
        if value is None:
            return {"system": None}
        changes: dict[str, Any] = {"system": value}
        if self.explorer.selection.comparison == "system":
            changes["comparison"] = "england"
        return changes

    def apply(self, **changes: Any) -> None:
        """Set the selection from code or a control, then redraw (errors show as messages)."""
        if changes.get("measure") == "polypharmacy" and not self.explorer.patients_ready:
            self.status.value = (
                "<p>Making the synthetic patients and their monthly comparators: the first time "
                "takes a little while...</p>"
            )
        try:
            self.explorer.set(**changes)
        except ExplorerError as exc:
            self.status.value = f'<p class="medlib-error">{html.escape(str(exc))}</p>'
            self.sync_controls()
            return
        self.sync_controls()
        self.refresh()

    # --- state -> controls ------------------------------------------------------------

    def sync_controls(self) -> None:
        """Make every control show the current selection (without triggering updates)."""
        ex = self.explorer
        sel = ex.selection
        c = self.controls
        self._syncing = True
        try:
            datasets = [(BUNDLED_DATASETS.get(n, n), n) for n in ex.datasets]
            if list(c["dataset"].options) != datasets:
                c["dataset"].options = datasets
            c["dataset"].value = sel.dataset
            patients = ex.measure.patients
            c["dataset"].disabled = patients
            c["focus"].disabled = patients
            c["comparator"].layout.display = None if patients else "none"
            if not patients:
                focus_options = [ALL_PRODUCTS, *ex.molecule_options(), *ex.section_options()]
                if list(c["focus"].options) != focus_options:
                    c["focus"].options = focus_options
                c["focus"].value = self._focus_text()
            trusts = _option_pairs(ex.trust_options())
            if list(c["trusts"].options) != trusts:
                c["trusts"].options = trusts
            c["trusts"].value = tuple(t for t in sel.trusts if t in dict(trusts).values())
            systems = [(_NO_SYSTEM, None), *_option_pairs(ex.system_options())]
            if list(c["system"].options) != systems:
                c["system"].options = systems
            c["system"].value = sel.system if sel.system in dict(systems).values() else None
            months = list(ex.months)
            options = [(f"{m:%b %Y}", m) for m in months]
            if list(c["period"].options) != options:
                c["period"].options = options
            start, end = ex.period
            c["period"].value = (start, end)
            c["measure"].value = sel.measure
            c["comparator"].value = sel.comparator
            c["comparison"].value = sel.comparison
            c["chart"].value = sel.chart
        finally:
            self._syncing = False

    def _focus_text(self) -> str:
        sel = self.explorer.selection
        if sel.molecule is not None:
            return sel.molecule
        if sel.bnf_section is not None:
            for label, code in self.explorer.section_options().items():
                if code == sel.bnf_section:
                    return label
        return ALL_PRODUCTS

    # --- drawing ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw the chart, table and notes for the current selection."""
        started = time.perf_counter()
        ex = self.explorer
        message = ex.message
        if message:
            self.chart.value = f'<p class="medlib-message">{html.escape(message)}</p>'
        else:
            self.chart.value = self._chart_html()
        self.table.value = table_html(ex)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in ex.notes)
        self.status.value = f'<ul class="medlib-notes">{notes}</ul>' if notes else ""
        self.last_update_ms = (time.perf_counter() - started) * 1000

    def _chart_html(self) -> str:
        key = self.explorer.selection
        if key in self._png:
            self._png.move_to_end(key)
            return self._png[key]
        fig = self.explorer.figure()
        if fig is None:
            return '<p class="medlib-message">Nothing to draw for this selection.</p>'
        data = base64.b64encode(figure_png(fig)).decode("ascii")
        alt = html.escape(self.explorer.title())
        value = f'<img class="medlib-chart" alt="{alt}" src="data:image/png;base64,{data}"/>'
        self._png[key] = value
        if len(self._png) > _PNG_CACHE_SIZE:
            self._png.popitem(last=False)
        return value

    # --- export and what-if -----------------------------------------------------------

    def export(self) -> tuple[Path, Path] | None:
        """Write the current table to CSV and Excel in :attr:`export_dir`."""
        try:
            paths = self.explorer.export(self.export_dir)
        except (OSError, ValueError) as exc:
            self.export_status.value = f'<span class="medlib-error">{html.escape(str(exc))}</span>'
            return None
        self.last_export = paths
        names = " and ".join(html.escape(p.name) for p in paths)
        self.export_status.value = f"Saved {names} in {html.escape(str(self.export_dir))}"
        return paths

    def _open_whatif(self, change: dict) -> None:
        if change["new"] is None or self.whatif is not None:
            return
        self.whatif = WhatIfPanel(self.explorer)
        self.whatif_box.children = [self.whatif]


def explore(
    explorer: Explorer | None = None, *, export_dir: str | Path = "exports", **initial: Any
) -> ExplorerPanel:
    """The interactive explorer, ready to display in a notebook.

    Args:
        explorer: An existing :class:`Explorer` to drive (default: a new one over the bundled
            data).
        export_dir: Folder the export button writes to (default ``exports`` under the current
            working directory).
        **initial: Initial selection, e.g. ``trusts=["RTD"], measure="spend"`` (see
            :meth:`Explorer.set`).

    Returns:
        The explorer panel (an ipywidgets box).
    """
    if explorer is None:
        explorer = Explorer(**initial)
    elif initial:
        explorer.set(**initial)
    return ExplorerPanel(explorer, export_dir=export_dir)
