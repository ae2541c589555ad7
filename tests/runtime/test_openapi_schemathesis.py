"""schemathesis against the OpenAPI document, on SQLite, with all of schemathesis' checks: every
operation of the caller's document fed generated requests (a fixed number per operation and mode,
derandomized so a run is reproducible), then a stateful run that follows the document's links
(create → read/update/delete, list → read, …). Any failure fails the test; the run's figures
(operations, examples, stateful steps, duration, failures) are printed for the closing note.

Two packages: the inventory package from the tests (record routes, a keeper and an admin) and the
shipped customer-service package (every route of /api/v1, as its agent and as an admin).

Attachment references in generated bodies are swapped for files uploaded by the caller just before
(what a client does: ``upload_file`` answers the reference); a random reference names no upload,
which the server rightly refuses (``form.file_not_yours``).
"""
from __future__ import annotations

import io
import time
import uuid

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import CHECKS, load_all_checks  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.generation.stateful import run_state_machine_as_test  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

from tests.conftest import api_token, install_package, make_user  # noqa: E402
from tests.runtime.inventory_package import inventory_package  # noqa: E402

#: generated requests per operation and mode: bounds each run to well under a minute on SQLite
EXAMPLES = 12
RECORDS = r"^/forms/[^{/]+/records"


def _schema(app, headers: dict, path_regex: str | None):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    # a well-formed If-Match naming another version than the record's is refused by design
    acceptance = schema.config.checks.positive_data_acceptance
    acceptance.expected_statuses = [*acceptance.expected_statuses, "412"]
    schema.config.update(headers=headers)  # the caller's credentials, known as such to the auth checks
    return schema.include(path_regex=path_regex) if path_regex else schema


def _checks():
    load_all_checks()
    return CHECKS.get_all()


def _real_files(app, headers: dict, case) -> None:
    """Swap the attachment references of a record body for uploads of the caller (see the docstring)."""
    parts = case.path.split("/")
    if case.method not in ("POST", "PATCH") or len(parts) < 4 or parts[1] != "forms" or parts[3] != "records":
        return
    form = case.path_parameters.get("form") or parts[2]
    schema = case.operation.schema.raw_schema["components"]["schemas"]
    fields = {k for s in schema.values() for k, p in (s.get("properties") or {}).items()
              if isinstance(p, dict) and p.get("type") == "array"
              and ((p.get("items") or {}).get("properties") or {}).get("id", {}).get("pattern") == "^[0-9a-f]{32}$"}
    client = app.test_client()
    for row in case.body if isinstance(case.body, list) else [case.body]:
        if not isinstance(row, dict):
            continue
        for key in fields & row.keys():
            if isinstance(row[key], list) and row[key]:
                refs = []
                for _ in row[key]:
                    answer = client.post(f"/api/v1/forms/{form}/fields/{key}/files",
                                         data={"file": (io.BytesIO(b"fuzz"), "fuzz.txt", "text/plain")},
                                         headers=headers)
                    assert answer.status_code == 201, answer.get_json()
                    refs.append(answer.get_json())
                row[key] = refs


def fuzz(app, headers: dict, examples: int = EXAMPLES, path_regex: str | None = None) -> dict:
    """Run every operation of the caller's document (or those under ``path_regex``) in both modes;
    returns the figures and the failures."""
    schema = _schema(app, headers, path_regex)
    checks = _checks()
    figures = {"operations": 0, "examples": 0, "failures": [], "seconds": time.monotonic()}
    for result in schema.get_all_operations():
        operation = result.ok()
        figures["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(app, operation, mode, headers, checks, examples, figures)
    figures["seconds"] = round(time.monotonic() - figures["seconds"], 1)
    return figures


#: operations whose input is checked against definitions beyond any JSON Schema: a package or rule a
#: compiler reads (expressions, references between parts), a chart's own dimensions and measures named
#: by a drill-down point or a report filter, a spreadsheet's content, a flow migration's node mapping. A schema-valid input that names
#: what the definition lacks is rightly refused with the coded error naming it, so schemathesis'
#: "schema-valid request accepted" check does not apply to them (every other check does)
COMPILED = {"POST /apps/import", "POST /rules/dry-run", "POST /reports/{key}/drilldown",
            "GET /reports/{key}/data", "GET /reports/{key}/export.{fmt}", "GET /dashboards/{key}/data",
            "POST /forms/{form}/imports/preview", "POST /forms/{form}/imports",
            "GET /forms/{form}/records/export.{fmt}", "POST /flows/{key}/migration",
            # the URL must pass the outbound guard and the form be installed (their schema says neither yet)
            "POST /subscriptions", "PATCH /subscriptions/{sid}",
            # a password that is the username is refused (user.weak_password): a relation between two
            # values of the body (or the stored username) that JSON Schema cannot state
            "POST /users", "PATCH /users/{user_id}"}


def _run(app, operation, mode, headers, checks, examples, figures) -> None:
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        figures["examples"] += 1
        if mode is GenerationMode.POSITIVE:
            if case.headers and "Idempotency-Key" in case.headers:
                # a client makes a new key per request; one key for two bodies is a 422 by design
                case.headers["Idempotency-Key"] = uuid.uuid4().hex
            _real_files(app, headers, case)
        excluded = [positive_data_acceptance] if operation.label in COMPILED else []
        try:
            case.call_and_validate(headers=headers, checks=checks, excluded_checks=excluded)
        except (AssertionError, BaseExceptionGroup) as exc:  # each failure is collected, reported below
            figures["failures"].append(f"{mode} {operation.label}: {exc}"[:1500])
    try:
        run()
    except Unsatisfiable:  # the document admits no request of this mode: a contradiction in it
        if mode is GenerationMode.POSITIVE:
            figures["failures"].append(f"{mode} {operation.label}: no request satisfies the document")


def stateful(app, headers: dict, steps: int = 20, scenarios: int = 10, path_regex: str | None = None) -> dict:
    """schemathesis' state machine over the document's links, all checks on every step."""
    schema = _schema(app, headers, path_regex)
    checks = _checks()
    figures = {"steps": 0, "links": schema.statistic.transitions.total if hasattr(schema, "statistic") else None,
               "failures": [], "seconds": time.monotonic()}

    class Machine(schema.as_state_machine()):
        def before_call(self, case):
            figures["steps"] += 1
            if case.headers and "Idempotency-Key" in case.headers:
                case.headers["Idempotency-Key"] = uuid.uuid4().hex
            _real_files(app, headers, case)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            excluded = [positive_data_acceptance] if case.operation.label in COMPILED else []
            try:
                case.validate_response(response, checks=checks, excluded_checks=excluded,
                                       transport_kwargs=kwargs or None)
            except (AssertionError, BaseExceptionGroup) as exc:
                figures["failures"].append(f"stateful {case.operation.label}: {exc}"[:1500])

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=scenarios, stateful_step_count=steps, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate]))
    figures["seconds"] = round(time.monotonic() - figures["seconds"], 1)
    return figures


def _report(who: str, stateless: dict, machine: dict | None = None) -> None:
    line = (f"schemathesis {who}: {stateless['operations']} operations, {stateless['examples']} examples, "
            f"{stateless['seconds']} s, {len(stateless['failures'])} failures")
    if machine is not None:
        line += (f"; stateful: {machine['steps']} steps over {machine['links']} links, {machine['seconds']} s, "
                 f"{len(machine['failures'])} failures")
    print(line)
    failures = stateless["failures"] + (machine["failures"] if machine else [])
    assert not failures, "\n\n".join(dict.fromkeys(failures))


@pytest.fixture
def db_url(tmp_path):
    """SQLite only: the run is bounded in time, and the engine under test is the HTTP layer."""
    return f"sqlite:///{tmp_path / 'fuzz.sqlite'}"


def test_schemathesis_finds_no_failure_on_the_inventory_package(app, jimu):
    install_package(jimu, inventory_package())
    for user, kwargs in (("kim", {"roles": ["keeper"]}), ("root", {"admin": True})):
        headers = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, user, **kwargs))}"}
        figures = fuzz(app, headers, path_regex=RECORDS)
        assert figures["operations"] >= 4 and figures["examples"] >= figures["operations"]
        _report(user, figures)


@pytest.mark.timeout(900)  # about a minute alone; the bound is for a machine busy with other suites
def test_schemathesis_finds_no_failure_on_the_shipped_package(app, jimu):
    """Every route of the shipped package's document as an admin (who holds every operation), the record
    routes as an agent (hidden and read-only fields differ), then the stateful run over the links."""
    from tests.runtime import cs_fixtures
    ids = cs_fixtures.install(jimu)
    agent = {"Authorization": f"Bearer {api_token(jimu, ids['ann'])}"}
    figures = fuzz(app, agent, examples=2, path_regex=RECORDS)
    assert figures["operations"] >= 20
    _report("ann (records)", figures)
    admin = {"Authorization": f"Bearer {api_token(jimu, ids['admin'])}"}
    figures = fuzz(app, admin, examples=1)
    assert figures["operations"] >= 80 and figures["examples"] >= figures["operations"]
    machine = stateful(app, admin, steps=12, scenarios=6)
    assert machine["steps"] >= 20 and machine["links"] >= 20
    _report("admin", figures, machine)
