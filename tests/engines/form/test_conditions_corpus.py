"""The form-level shared corpus (``conditions_corpus.json``): formulas, then visibility and
required/required_if on the merged record. ``FormSpec.clean`` must give each case's answer, and
``runtime/static/js/formstate.js`` in Chromium (what the live form runs) must give the same."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engines.form import compile_form
from tests.engines.expr.corpus import eval_context, from_tagged, same, to_tagged

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DOC = json.loads((HERE / "conditions_corpus.json").read_text("utf-8"))
CASES = DOC["cases"]
SPECS = {key: compile_form(definition) for key, definition in DOC["forms"].items()}
ORIGIN = "http://jimu.test"


def run_python(case: dict) -> dict:
    spec = SPECS[case["form"]]
    existing = from_tagged(case["existing"]) if "existing" in case else None
    result = spec.clean(from_tagged(case["submit"]), context=eval_context(DOC["context"]), existing=existing,
                        partial=existing is not None)
    others = [e for e in result.errors if e["code"] != "form.required"]
    assert not others, others   # the corpus holds no coercion errors: only condition outcomes are compared
    return {"values": {k: to_tagged(result.values.get(k)) for k in case["expect"]["values"]},
            "hidden": sorted(result.hidden),
            "missing": sorted(e["field"] for e in result.errors if e["code"] == "form.required")}


def agrees(expect: dict, outcome: dict) -> bool:
    return (same(expect["values"], outcome["values"]) and sorted(expect["hidden"]) == outcome["hidden"]
            and sorted(expect["missing"]) == outcome["missing"])


def test_the_corpus_covers_formula_dependent_conditions():
    kinds = set()
    for case in CASES:
        fields = {f["key"]: f for f in DOC["forms"][case["form"]]["fields"]}
        formulas = {k for k, f in fields.items() if f.get("formula")}
        for f in fields.values():
            for prop in ("required_if", "visible_if"):
                if f.get(prop) and any(name in f[prop] for name in formulas):
                    kinds.add((prop, "existing" in case))
    assert kinds == {("required_if", False), ("required_if", True), ("visible_if", False), ("visible_if", True)}
    assert len(CASES) >= 12


@pytest.mark.parametrize("case", CASES, ids=[c["name"][:60] for c in CASES])
def test_python(case):
    outcome = run_python(case)
    assert agrees(case["expect"], outcome), f"expected {case['expect']}, got {outcome}"


HARNESS = """<!doctype html><meta charset="utf-8"><title>formstate.js corpus</title>
<script type="module">
import * as expr from "/static/js/expr.js";
import { formState } from "/static/js/formstate.js";
window.runCases = (cases) => cases.map((c) => {
  const existing = c.existing ? expr.fromTagged(c.existing) : null;
  const input = {...(existing || {}), ...expr.fromTagged(c.submit)};
  const state = formState(c.spec, input, c.context, existing);
  const values = {};
  for (const key of c.keys) values[key] = expr.toTagged(state.values[key] ?? null);
  return {values, hidden: [...state.hidden].sort(), missing: [...state.missing].sort()};
});
window.ready = true;
</script>"""


def test_browser_matches_python(page):
    files = {name: (ROOT / "runtime" / "static" / "js" / name).read_text("utf-8")
             for name in ("expr.js", "formstate.js")}

    def serve(route):
        url = route.request.url
        name = url.rsplit("/", 1)[-1]
        if "/static/js/" in url and name in files:
            route.fulfill(status=200, content_type="text/javascript; charset=utf-8", body=files[name])
        else:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=HARNESS)

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("window.ready === true", timeout=10_000)
    assert not errors, errors
    payload = [{"spec": SPECS[c["form"]].client_spec(), "submit": c["submit"], "existing": c.get("existing"),
                "context": DOC["context"], "keys": list(c["expect"]["values"])} for c in CASES]
    outcomes = page.evaluate("(cases) => window.runCases(cases)", json.loads(json.dumps(payload)))
    wrong = [f"{case['name']}: browser {outcome}, python {run_python(case)}"
             for case, outcome in zip(CASES, outcomes)
             if not (agrees(case["expect"], outcome) and agrees(case["expect"], run_python(case)))]
    assert not wrong, "\n".join(wrong)
