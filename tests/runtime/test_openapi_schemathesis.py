"""schemathesis against the OpenAPI document, on SQLite: every record operation of the inventory
package, fed generated requests (a fixed number per operation, derandomized so a run is
reproducible), with all of schemathesis' checks; any failure fails the test, and the run's
figures (operations, examples, failures) are printed for the closing note.
"""
from __future__ import annotations

import uuid

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import CHECKS, load_all_checks  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from tests.conftest import api_token, install_package, make_user  # noqa: E402
from tests.runtime.inventory_package import inventory_package  # noqa: E402

#: generated requests per operation: bounds the run to well under a minute on SQLite
EXAMPLES = 12


def fuzz(app, headers: dict, examples: int = EXAMPLES) -> dict:
    """Run every operation of the caller's document; returns the figures and the failures."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    schema = schema.include(path_regex=r"^/forms/[^{/]+/records")  # the record routes, with their models
    load_all_checks()
    checks = CHECKS.get_all()
    figures = {"operations": 0, "examples": 0, "failures": []}
    for result in schema.get_all_operations():
        operation = result.ok()
        figures["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(operation, mode, headers, checks, examples, figures)
    return figures


def _run(operation, mode, headers, checks, examples, figures) -> None:
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        figures["examples"] += 1
        if case.headers and "Idempotency-Key" in case.headers and mode is GenerationMode.POSITIVE:
            # a client makes a new key per request; one key for two bodies is a 422 by design
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
        try:
            case.call_and_validate(headers=headers, checks=checks)
        except (AssertionError, BaseExceptionGroup) as exc:  # each failure is collected, reported below
            figures["failures"].append(f"{mode} {operation.label}: {exc}"[:1500])
    run()


@pytest.fixture
def db_url(tmp_path):
    """SQLite only: the run is bounded in time, and the engine under test is the HTTP layer."""
    return f"sqlite:///{tmp_path / 'fuzz.sqlite'}"


def test_schemathesis_finds_no_failure_on_the_inventory_package(app, jimu):
    install_package(jimu, inventory_package())
    for user, kwargs in (("kim", {"roles": ["keeper"]}), ("root", {"admin": True})):
        headers = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, user, **kwargs))}"}
        figures = fuzz(app, headers)
        print(f"schemathesis {user}: {figures['operations']} operations, {figures['examples']} examples, "
              f"{len(figures['failures'])} failures")
        assert figures["operations"] >= 4 and figures["examples"] >= figures["operations"]
        assert not figures["failures"], "\n\n".join(dict.fromkeys(figures["failures"]))
