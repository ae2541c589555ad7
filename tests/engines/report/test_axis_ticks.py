"""Value-axis ticks: counts read as whole numbers (a daily count of 1 to 3 must not show 1.2, 1.4 ...),
percentages as percent, other measures keep plotly's automatic ticks."""
from __future__ import annotations

import datetime as dt

import pytest

from engines.report import compile_chart

from .store import TableSource, run


@pytest.fixture
def store(sa_engine):
    source = TableSource()
    source.add("visit", {"channel": ("choice", None), "score": ("number", None), "at": ("datetime", None)})
    source.metadata.create_all(sa_engine)
    day = dt.datetime(2026, 11, 2, 9)
    rows = [("web", 1.5, 0), ("web", 2.25, 0), ("mail", 3.0, 1), ("web", 4.0, 2), ("mail", 1.0, 2), ("web", 2.0, 2)]
    source.insert(sa_engine, "visit", [{"channel": c, "score": s, "at": day + dt.timedelta(days=d)}
                                       for c, s, d in rows])
    return source


def figure(sa_engine, store, type_, measures, dimensions=None, options=None):
    chart = compile_chart({"key": "c", "version": 1, "type": type_, "form": "visit", "options": options or {},
                           "dimensions": dimensions or [{"field": "at", "bucket": "day", "key": "day"}],
                           "measures": measures}, store)
    return chart.figure(run(sa_engine, chart), lang="zh-CN")


def test_daily_count_line_has_whole_number_ticks(sa_engine, store):
    fig = figure(sa_engine, store, "line", [{"key": "n", "agg": "count"}])
    assert fig["data"][0]["y"] == [2, 1, 3]
    yaxis = fig["layout"]["yaxis"]
    assert yaxis["tickformat"] == ",d" and yaxis["dtick"] == 1 and yaxis["tick0"] == 0
    assert yaxis["rangemode"] == "tozero"


def test_distinct_count_bar_and_big_counts_keep_automatic_steps(sa_engine, store):
    fig = figure(sa_engine, store, "bar", [{"key": "d", "agg": "count_distinct", "field": "channel"}])
    assert fig["layout"]["yaxis"]["tickformat"] == ",d"
    fig = figure(sa_engine, store, "bar", [{"key": "n", "agg": "count"}],
                 dimensions=[{"field": "channel", "key": "ch"}], options={"horizontal": True})
    assert fig["layout"]["xaxis"]["tickformat"] == ",d"  # the value axis of horizontal bars
    chart = compile_chart({"key": "c", "version": 1, "type": "line", "form": "visit",
                           "dimensions": [{"field": "channel", "key": "ch"}],
                           "measures": [{"key": "n", "agg": "count"}]}, store)
    big = chart.figure([{"ch": "web", "n": 1200}, {"ch": "mail", "n": 40}], lang="en")
    assert big["layout"]["yaxis"]["tickformat"] == ",d" and "dtick" not in big["layout"]["yaxis"]


def test_stacked_counts_measure_the_stack(sa_engine, store):
    chart = compile_chart({"key": "c", "version": 1, "type": "bar", "form": "visit", "options": {"stacked": True},
                           "dimensions": [{"field": "at", "bucket": "day", "key": "day"}, {"field": "channel", "key": "ch"}],
                           "measures": [{"key": "n", "agg": "count"}]}, store)
    rows = [{"day": "2026-11-02", "ch": "web", "n": 5}, {"day": "2026-11-02", "ch": "mail", "n": 6}]
    assert "dtick" not in chart.figure(rows, lang="en")["layout"]["yaxis"]  # the stack reaches 11


def test_non_count_measures_keep_fractional_ticks(sa_engine, store):
    fig = figure(sa_engine, store, "line", [{"key": "a", "agg": "avg", "field": "score"}])
    assert "tickformat" not in fig["layout"]["yaxis"] and "dtick" not in fig["layout"]["yaxis"]
    fig = figure(sa_engine, store, "line", [{"key": "n", "agg": "count"}, {"key": "a", "agg": "sum", "field": "score"}])
    assert "tickformat" not in fig["layout"]["yaxis"]
