"""The shared corpus runs in Python and, through the real runtime/static/js/expr.js, in Chromium.

Every case holds a source, variables, an optional context and either a result or
an error code. Python must produce exactly that; the browser, given the tree the
Python compiler exports, must produce the same (numbers within 1e-9).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engines.expr import FUNCTIONS, compile_expr

from .corpus import case_id, context_of, expected, load, matches, run_python, same

ROOT = Path(__file__).resolve().parents[3]
EXPR_JS = ROOT / "runtime" / "static" / "js" / "expr.js"
DOC = load()
CASES = DOC["cases"]
ORIGIN = "http://jimu.test"


def test_the_corpus_is_big_enough_and_covers_the_language():
    assert len(CASES) >= 220
    sources = " ".join(c["source"] for c in CASES)
    for name in [*FUNCTIONS.types(), "if"]:
        assert f"{name}(" in sources, f"no case calls {name}()"
    for op in ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", " in ", " not in ",
               " and ", " or ", "not ", " if ", "[", "."]:
        assert op in sources, f"no case uses {op!r}"
    codes = {c["error"] for c in CASES if "error" in c}
    assert {"expr.syntax", "expr.not_allowed", "expr.unknown_function", "expr.limit", "expr.type",
            "expr.zero_division", "expr.eval"} <= codes
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in c.get("vars", {})) for c in CASES), "no Chinese field key"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_python(case):
    outcome = run_python(case, DOC["context"])
    assert matches(case, outcome), f"{case['source']!r}: expected {expected(case)}, got {outcome}"


def _browser_cases() -> list[dict]:
    """Every case whose expression compiles: the browser gets its tree, never the source."""
    out = []
    for i, case in enumerate(CASES):
        try:
            tree = compile_expr(case["source"]).tree
        except Exception:
            continue
        out.append({"i": i, "tree": tree, "vars": case.get("vars", {}),
                    "context": context_of(DOC["context"], case)})
    return out


HARNESS = """<!doctype html><meta charset="utf-8"><title>expr.js corpus</title>
<script type="module">
import * as expr from "/static/js/expr.js";
window.runCorpus = (cases) => cases.map((c) => {
  try {
    return {i: c.i, result: expr.toTagged(expr.evaluate(c.tree, expr.fromTagged(c.vars), c.context))};
  } catch (err) {
    return {i: c.i, error: err.code ?? null, position: err.position ?? null, message: String(err && err.message),
            js: !(err instanceof expr.ExprError)};
  }
});
window.exprReady = true;
</script>"""


def test_browser_matches_python(page):
    """All compiled cases in Chromium, against the real expr.js file, in one page."""
    js = EXPR_JS.read_text("utf-8")

    def serve(route):
        url = route.request.url
        if url.endswith("/static/js/expr.js"):
            route.fulfill(status=200, content_type="text/javascript; charset=utf-8", body=js)
        elif url.rstrip("/") == ORIGIN:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=HARNESS)
        else:
            route.fulfill(status=404, body="")

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("window.exprReady === true", timeout=10_000)
    assert not errors, errors
    cases = _browser_cases()
    assert len(cases) >= 300
    outcomes = page.evaluate("(cases) => window.runCorpus(cases)", json.loads(json.dumps(cases)))
    assert len(outcomes) == len(cases)
    wrong = []
    for outcome in outcomes:
        case = CASES[outcome["i"]]
        python = run_python(case, DOC["context"])
        browser = {k: v for k, v in outcome.items() if k in ("result", "error")}
        ok = matches(case, browser) and (
            (browser.get("error"), outcome.get("position")) == (python.get("error"), python.get("position"))
            if "error" in python else "result" in browser and same(browser["result"], python["result"]))
        if not ok:
            wrong.append(f"{case['source'][:60]!r}: python {python}, browser {outcome}")
    assert not wrong, f"{len(wrong)} of {len(outcomes)} differ:\n" + "\n".join(wrong)


#: values of every kind (tagged JSON) for the generated cross product below
KINDS = [None, True, False, 0, 1, -1, 2.5, -0.5, 3, 2 ** 53, -(2 ** 53), 1e308, "", "a", "B", "高", "😀", " 10 ",
         "2026-11-23", "2026-11-23T08:00:00Z", {"$date": "2026-11-24"}, {"$datetime": "2026-11-23T00:00:00Z"},
         [], [1], ["a", "b"], [None], {}, {"a": 1}]
BINARY = ["a == b", "a != b", "a < b", "a <= b", "a > b", "a >= b", "a in b", "a not in b", "a + b", "a - b",
          "a * b", "a / b", "a // b", "a % b", "a ** b", "a and b", "a or b", "a[b]", "if(a, b, 0)",
          "contains(a, b)", "startswith(a, b)", "endswith(a, b)", "hours_between(a, b)", "days_between(a, b)",
          "workdays_between(a, b)", "date_add(a, b)", "date_add(a, b, 'months')", "round(a, b)", "min(a, b)",
          "max(a, b)", "sum(a, b)", "concat(a, b)", "coalesce(a, b)", "[a, b] == [b, a]"]
UNARY = ["-a", "+a", "not a", "len(a)", "lower(a)", "upper(a)", "trim(a)", "text(a)", "number(a)", "round(a)",
         "abs(a)", "is_empty(a)", "year(a)", "month(a)", "weekday(a)", "min(a)", "max(a)", "sum(a)",
         "hours_since(a)", "a.a", "a[0]", "a[-1]", "coalesce(a)", "has_role(a)", "a == a"]


def _python_outcome(source: str, variables: dict, context: dict) -> dict:
    return run_python({"source": source, "vars": variables, "context": context}, {})


def test_browser_matches_python_on_every_pair_of_kinds(page):
    """Generated, not written down: every operator and function over values of every kind.

    No expected values here: the Python evaluator is run on each case and the
    browser must agree with it (the corpus above pins the Python answers)."""
    context = DOC["context"]
    trees = {src: compile_expr(src).tree for src in BINARY + UNARY}
    cases = [{"src": src, "vars": {"a": a, "b": b}} for src in BINARY for a in KINDS for b in KINDS]
    cases += [{"src": src, "vars": {"a": a}} for src in UNARY for a in KINDS]
    page.route(f"{ORIGIN}/**", lambda route: route.fulfill(
        status=200, content_type="text/javascript; charset=utf-8", body=EXPR_JS.read_text("utf-8"))
        if route.request.url.endswith("/static/js/expr.js")
        else route.fulfill(status=200, content_type="text/html; charset=utf-8", body=HARNESS))
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("window.exprReady === true", timeout=10_000)
    payload = [{"i": i, "tree": trees[c["src"]], "vars": c["vars"], "context": context} for i, c in enumerate(cases)]
    outcomes = page.evaluate("(cases) => window.runCorpus(cases)", payload)
    wrong = []
    for outcome in outcomes:
        case = cases[outcome["i"]]
        python = _python_outcome(case["src"], case["vars"], context)
        python.pop("stage", None)
        python.setdefault("position", None)
        browser = {k: v for k, v in outcome.items() if k in ("result", "error")}
        if "error" in python:
            ok = (browser.get("error"), outcome.get("position")) == (python["error"], python.get("position"))
        else:
            ok = "result" in browser and same(browser["result"], python["result"])
        if not ok:
            wrong.append(f"{case['src']} with {case['vars']}: python {python}, browser {outcome}")
    assert len(outcomes) == len(cases) > 25_000
    assert not wrong, f"{len(wrong)} of {len(cases)} differ:\n" + "\n".join(wrong[:40])
