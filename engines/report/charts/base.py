"""The base of every chart type: its palette entry, options schema and figure building.

Figures are plain plotly figure dicts built directly (``graph_objects``
validation costs milliseconds per figure; plotly.js validates in the browser).
A chart type declares how many dimensions and measures it takes; the compiled
chart has already checked them, so ``build`` can rely on the counts.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Mapping

import jsonschema

from ..exceptions import ReportError
from ..labels import localize, text

if TYPE_CHECKING:  # pragma: no cover
    from ..chart import CompiledChart

OTHERS = "__others__"
#: the flag of a trend's row for the period that is not over yet
PARTIAL = "__partial__"
#: plotly.js's default colours, set explicitly where one series is drawn as two traces
COLORWAY = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf")
FONT = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'


class ChartType:
    """A chart type. Subclasses set the class attributes and implement ``build``."""

    type: ClassVar[str]
    label: ClassVar[dict[str, str]]
    icon: ClassVar[str]
    #: (min, max) number of dimensions and of measures the type takes
    dimensions: ClassVar[tuple[int, int]] = (1, 1)
    measures: ClassVar[tuple[int, int]] = (1, 1)
    options_schema: ClassVar[dict] = {"type": "object", "additionalProperties": False, "properties": {}}
    default_options: ClassVar[dict] = {}
    #: True when the type reads options date_field/period_days/previous_period (the KPI)
    supports_period: ClassVar[bool] = False
    #: True when the type draws its date-bucketed dimension as a continuous axis (a trend): the
    #: compiled chart then adds the buckets without records and flags the current, partial one
    continuous: ClassVar[bool] = False

    def __init__(self, options: dict):
        self.options = options

    @classmethod
    def palette(cls) -> dict:
        """The builder's palette entry."""
        return {"type": cls.type, "icon": cls.icon, "label": cls.label, "dimensions": list(cls.dimensions),
                "measures": list(cls.measures), "options_schema": cls.options_schema}

    @classmethod
    def option_errors(cls, options: Any) -> list[ReportError]:
        validator = _validator(cls)
        return [ReportError(f"option: {e.message[:200]}", code="report.bad_option",
                            pointer="/options" + "".join(f"/{p}" for p in e.absolute_path))
                for e in validator.iter_errors(options)]

    def render(self, chart: CompiledChart, rows: list[dict], lang: str) -> dict:
        title = localize(chart.label, lang, chart.key)
        if not rows:
            return empty_figure(chart, title, lang)
        fig = self.build(chart, rows, lang)
        layout = fig.setdefault("layout", {})
        layout.setdefault("title", {"text": title})
        layout.setdefault("font", {"family": FONT})
        layout.setdefault("margin", {"l": 48, "r": 16, "t": 48, "b": 40})
        layout["meta"] = {"chart": chart.key, "type": self.type, "empty": False}
        return fig

    def build(self, chart: CompiledChart, rows: list[dict], lang: str) -> dict:
        raise NotImplementedError


@lru_cache(maxsize=None)
def _validator(cls: type) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(cls.options_schema)


def empty_figure(chart: CompiledChart, title: str, lang: str) -> dict:
    """The empty state: no traces, a centred 'no data' note, ``layout.meta.empty`` true."""
    hidden = {"visible": False}
    return {"data": [], "layout": {
        "title": {"text": title}, "font": {"family": FONT}, "xaxis": hidden, "yaxis": hidden,
        "annotations": [{"text": text("empty", lang), "showarrow": False, "xref": "paper", "yref": "paper",
                         "x": 0.5, "y": 0.5, "font": {"size": 16, "color": "#999"}}],
        "meta": {"chart": chart.key, "type": chart.chart_type.type, "empty": True}}}


def value_label(value: Any, lang: str, labels: Mapping[Any, Any] | None = None) -> str:
    """How a dimension value reads on an axis or a legend (an option's label when ``labels`` has it)."""
    if value is None:
        return text("blank", lang)
    if labels is not None and isinstance(value, (str, int)) and value in labels:
        return localize(labels[value], lang, str(value))
    if isinstance(value, bool):
        return text("true" if value else "false", lang)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number field's 2.0 reads 2
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def categories(rows: list[dict], key: str, lang: str, labels: Mapping[Any, Any] | None = None) -> list[str]:
    """Axis labels of one dimension, the folded group reading 'Others'."""
    others = text("others", lang)
    return [others if OTHERS in r else value_label(r[key], lang, labels) for r in rows]


#: aggregates whose every value is a whole number
WHOLE_AGGREGATES = frozenset({"count", "count_distinct"})


def tickformat(measures: list, values: Iterable[Any] = ()) -> dict:
    """Axis number format of the plotted ``measures`` (``values``: the numbers on that axis).

    Percent when every measure is a share or ratio; whole-number ticks when every measure counts
    (a count of 1 to 5 would otherwise get ticks 1.2, 1.4 ...): the labels read ``,d`` and, for
    small counts where plotly would pick fractional steps, a tick every 1 from 0.
    """
    if not measures:
        return {}
    if all(m.format == "percent" for m in measures):
        return {"tickformat": ".0%"}
    if all(m.kind == "agg" and m.agg in WHOLE_AGGREGATES and m.format != "percent" for m in measures):
        axis: dict[str, Any] = {"tickformat": ",d", "rangemode": "tozero"}
        peak = max((abs(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)), default=0)
        if peak <= 8:
            axis.update({"tick0": 0, "dtick": 1})
        return axis
    return {}


def series_rows(rows: list[dict], dim0: str, dim1: str, lang: str, labels0: Mapping | None = None,
                labels1: Mapping | None = None) -> list[list[int | None]]:
    """Per series of ``series_by`` (same order), the index in ``rows`` of each x category's row (None: no row)."""
    xs: dict[str, int] = {}
    series: dict[str, dict[str, int]] = {}
    for i, r in enumerate(rows):
        x = value_label(r[dim0], lang, labels0)
        xs.setdefault(x, len(xs))
        series.setdefault(value_label(r[dim1], lang, labels1), {})[x] = i
    return [[idx.get(x) for x in xs] for idx in series.values()]


def series_by(rows: list[dict], dim0: str, dim1: str, measure: str, lang: str, labels0: Mapping | None = None,
              labels1: Mapping | None = None):
    """Pivot long rows into (x categories, [(series name, values aligned to x)]) in first-seen order."""
    xs: dict[str, int] = {}
    series: dict[str, dict[str, Any]] = {}
    for r in rows:
        x = value_label(r[dim0], lang, labels0)
        xs.setdefault(x, len(xs))
        series.setdefault(value_label(r[dim1], lang, labels1), {})[x] = r[measure]
    xcats = list(xs)
    return xcats, [(name, [vals.get(x) for x in xcats]) for name, vals in series.items()]
