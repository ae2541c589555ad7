"""The chart-type registry: built-ins come from the jimu.charts entry points, a contract test over every
registered type, and a third-party chart type plugged in the same way."""
from __future__ import annotations

import json
from importlib.metadata import entry_points

import jsonschema
import pytest

from engines.registry import RegistryError
from engines.report import CHARTS, ChartType, compile_chart

from .store import TableSource, run

BUILT_INS = ["bar", "funnel", "gauge", "kpi", "line", "pie", "pivot", "table"]


def test_built_ins_register_through_the_entry_point_group():
    names = sorted(ep.name for ep in entry_points(group="jimu.charts"))
    assert names == BUILT_INS
    assert set(BUILT_INS) <= set(CHARTS.types())
    assert not CHARTS.broken


@pytest.fixture
def store(sa_engine):
    source = TableSource()
    source.add("item", {"kind": ("choice", None), "stage": ("choice", None), "score": ("number", None)})
    source.metadata.create_all(sa_engine)
    source.insert(sa_engine, "item", [{"kind": k, "stage": s, "score": i}
                                      for i, (k, s) in enumerate([("a", "x"), ("b", "y"), ("a", "y"), ("c", "x")])])
    return source


def definition_for(chart_type) -> dict:
    dims = [{"field": "kind"}, {"field": "stage"}, {"field": "score"}][:max(chart_type.dimensions[0], min(1, chart_type.dimensions[1]))]
    return {"key": "k", "version": 1, "type": chart_type.type, "form": "item", "dimensions": dims,
            "measures": [{"key": "n", "agg": "count"}]}


@pytest.mark.parametrize("type_name", BUILT_INS)
def test_every_chart_type_keeps_the_contract(sa_engine, store, type_name):
    chart_type = CHARTS.get(type_name)
    palette = chart_type.palette()
    assert palette["type"] == type_name and {"zh-CN", "en"} <= set(palette["label"])
    jsonschema.Draft202012Validator.check_schema(palette["options_schema"])
    chart = compile_chart(definition_for(chart_type), store)
    rows = run(sa_engine, chart)
    assert sum(r["n"] for r in rows) == 4
    fig = chart.figure(rows, lang="en")
    json.dumps(fig)  # a plain JSON document for plotly.js
    assert fig["layout"]["meta"] == {"chart": "k", "type": type_name, "empty": False} and fig["data"]
    empty = chart.figure([], lang="zh-CN")
    assert empty["data"] == [] and empty["layout"]["meta"]["empty"] is True
    assert empty["layout"]["annotations"][0]["text"] == "暂无数据"


class ScatterChart(ChartType):
    """A third-party chart type: one dot per group, sized by the measure."""

    type = "dots"
    label = {"zh-CN": "点图", "en": "Dots"}
    icon = "chart-dots"
    dimensions = (1, 1)
    measures = (1, 1)
    options_schema = {"type": "object", "additionalProperties": False,
                      "properties": {"size": {"type": "integer", "minimum": 1}}}
    default_options = {"size": 10}

    def build(self, chart, rows, lang):
        m = chart.measures[0].key
        return {"data": [{"type": "scatter", "mode": "markers", "x": [r[chart.dimensions[0].key] for r in rows],
                          "y": [r[m] for r in rows], "marker": {"size": self.options["size"]}}], "layout": {}}


def test_a_plugin_chart_type_registers_and_compiles(sa_engine, store):
    CHARTS.register(ScatterChart)
    try:
        chart = compile_chart({"key": "d", "version": 1, "type": "dots", "form": "item",
                               "dimensions": [{"field": "kind"}], "measures": [{"key": "n", "agg": "count"}],
                               "options": {"size": 4}}, store)
        fig = chart.figure(run(sa_engine, chart))
        assert fig["data"][0]["x"] == ["a", "b", "c"] and fig["data"][0]["y"] == [2, 1, 1]
        with pytest.raises(RegistryError):
            CHARTS.register(type("Other", (ScatterChart,), {}))  # the type name is taken
        with pytest.raises(Exception) as err:
            compile_chart({"key": "d", "version": 1, "type": "dots", "form": "item",
                           "dimensions": [{"field": "kind"}], "measures": [{"key": "n", "agg": "count"}],
                           "options": {"size": 0}}, store)
        assert [e["code"] for e in err.value.errors] == ["report.bad_option"]
    finally:
        CHARTS.unregister("dots")


def test_malformed_chart_types_are_refused_at_registration():
    class NoLabel(ScatterChart):
        type = "nolabel"
        label = "Dots"
    class BadSpan(ScatterChart):
        type = "badspan"
        dimensions = (2, 1)
    class NotAChart:
        type = "notachart"
    for item in (NoLabel, BadSpan, NotAChart):
        with pytest.raises(RegistryError):
            CHARTS.register(item)
        assert item.type not in CHARTS
