"""The wiring of the runtime is visible: one container built at app creation, no import cycles
between the runtime's packages, engines that import nothing above them, no ImportError fallbacks
for this repo's own modules."""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN = ("engines", "apps", "runtime", "builder", "schemas")


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports_of(path: Path) -> list[str]:
    """Every module ``path`` imports, anywhere in it (function-level imports included: a lazy import
    is still a dependency), relative imports resolved."""
    parts = _module_name(path)
    package = parts if path.name == "__init__.py" else parts[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                if node.module:
                    out.append(".".join(base + [node.module]))
                    out += [".".join(base + [node.module, a.name]) for a in node.names]
                else:
                    out += [".".join(base + [a.name]) for a in node.names]
            else:
                out.append(node.module)
                out += [f"{node.module}.{a.name}" for a in node.names]
    return out


def runtime_package_graph() -> nx.DiGraph:
    """Nodes: the runtime's top-level modules and packages (flows, rules, api, store, app ...); an edge
    A → B when any module of A imports any module of B."""
    graph = nx.DiGraph()
    for path in sorted((ROOT / "runtime").rglob("*.py")):
        parts = _module_name(path)
        if len(parts) < 2:
            continue
        graph.add_node(parts[1])
        for name in imports_of(path):
            target = name.split(".")
            if target[0] == "runtime" and len(target) > 1 and target[1] != parts[1] \
                    and ((ROOT / "runtime" / target[1]).is_dir() or (ROOT / "runtime" / f"{target[1]}.py").exists()):
                graph.add_edge(parts[1], target[1], by=str(path.relative_to(ROOT)))
    return graph


def test_imports_are_parsed_with_their_packages():
    """The graph sees lazy, relative and absolute imports (else the acyclic test below proves nothing)."""
    graph = runtime_package_graph()
    assert {"flows", "rules", "store", "api", "app"} <= set(graph)
    assert graph.has_edge("rules", "store") and graph.has_edge("api", "rules") and graph.has_edge("app", "api")


def test_flows_and_rules_do_not_import_each_other():
    graph = runtime_package_graph()
    assert not graph.has_edge("flows", "rules"), graph.edges["flows", "rules"]
    assert not graph.has_edge("rules", "flows"), graph.edges["rules", "flows"]
    cycles = [c for c in nx.simple_cycles(graph) if {"flows", "rules"} & set(c)]
    assert cycles == []


def test_the_runtime_package_graph_has_no_cycle():
    """Not only flows and rules: the app factory is the composition root and nothing imports it back
    (the CLI it once imported for its commands is now an extension)."""
    graph = runtime_package_graph()
    assert list(nx.simple_cycles(graph)) == []
    assert [a for a, b in graph.edges if b == "app"] in (["cli", "wsgi"], ["wsgi", "cli"])


def test_tables_are_imported_not_looked_up_by_name():
    """A table read by name from the metadata (``db.metadata.tables["jimu_flow_tasks"]``) hides the
    dependency from the import graph above and fails only when nothing imported its module yet; the
    tables flows and rules share live in ``runtime.shared_tables``."""
    found = []
    for path in sorted((ROOT / "runtime").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "tables" and ast.unparse(node.value.value).endswith("metadata"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert found == []
    graph = runtime_package_graph()
    assert graph.has_edge("recipients", "shared_tables") and graph.has_edge("flows", "shared_tables") \
        and graph.has_edge("rules", "shared_tables")


def _callee(call: ast.Call) -> str:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")


def test_the_runtime_never_names_the_builder():
    """Not even by a name in a string (``__import__("builder")``); import statements are checked by
    ``test_packages_import_nothing_above_them``."""
    named = []
    for path in sorted((ROOT / "runtime").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named += [f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}" for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and _callee(node) in ("__import__", "import_module")
                  and any(isinstance(a, ast.Constant) and str(a.value).split(".")[0] == "builder"
                          for a in node.args)]
    assert named == []


@pytest.mark.parametrize("package, above", [("engines", ("apps", "runtime", "builder", "flask")),
                                            ("apps", ("runtime", "builder", "flask")),
                                            ("runtime", ("builder",))],
                         ids=["engines", "apps", "runtime"])
def test_packages_import_nothing_above_them(package, above):
    """builder → runtime → apps → engines: engines are pure (no Flask either), apps know no runtime."""
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imports_of(path):
            if name.split(".")[0] in above:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def _fallbacks(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Try):
            continue
        catches = any(isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") or
                      isinstance(h.type, ast.Tuple) and any(getattr(e, "id", "") in ("ImportError",
                                                                                      "ModuleNotFoundError")
                                                            for e in h.type.elts) for h in node.handlers)
        if not catches:
            continue
        body = ast.Module(body=node.body, type_ignores=[])
        for inner in ast.walk(body):
            if isinstance(inner, ast.ImportFrom) and (inner.level or (inner.module or "").split(".")[0] in OWN):
                found.append(f"{path.relative_to(ROOT)}:{inner.lineno} from {'.' * inner.level}{inner.module}")
            elif isinstance(inner, ast.Import) and any(a.name.split(".")[0] in OWN for a in inner.names):
                found.append(f"{path.relative_to(ROOT)}:{inner.lineno} import {inner.names[0].name}")
    return found


@pytest.mark.parametrize("package", ["engines", "apps", "runtime", "builder"])
def test_no_import_error_fallback_for_this_repos_modules(package):
    """A module of this repo that fails to import is a bug to see, not a feature to switch off
    (an ImportError once silently turned off the task rules)."""
    found = [f for path in sorted((ROOT / package).rglob("*.py")) for f in _fallbacks(path)]
    assert found == []


def test_the_container_holds_every_service(app):
    from runtime.api.reports import Reports
    from runtime.auth import PrincipalCache, policy
    from runtime.chat import Hub
    from runtime.files import Files
    from runtime.flows import FlowService
    from runtime.jobs import JobKinds
    from runtime.notify.notifier import Notifier
    from runtime.records import Records
    from runtime.rules import EffectsExecutor, RuleRunner
    from runtime.services import Services
    from runtime.store import Catalog, RecordStore

    jimu = app.extensions["jimu"]
    services = jimu.services
    assert isinstance(services, Services)
    expected = {"definitions": Catalog, "flows": FlowService, "rules": RuleRunner, "effects": EffectsExecutor,
                "reports": Reports, "jobs": JobKinds, "notifier": Notifier, "files": Files,
                "principals": PrincipalCache, "chat": Hub}
    for name, cls in expected.items():
        assert isinstance(getattr(services, name), cls), name
    assert services.store is RecordStore and services.records is Records and services.policy is policy
    assert {f.name for f in dataclasses.fields(Services)} == set(expected) | {"store", "records", "policy",
                                                                              "listeners"}
    assert services.definitions is jimu.catalog
    from runtime.webhooks_out import WebhookListener
    assert jimu.listeners[:2] == (services.flows, services.rules)
    assert len(jimu.listeners) == 3 and isinstance(jimu.listeners[2], WebhookListener)
    assert {"flow.timer", "flow.actions", "rule.email", "rule.webhook", "rule.http", "rule.timer",
            "rule.cron", "webhook.deliver"} <= set(services.jobs.kinds())
    with pytest.raises(dataclasses.FrozenInstanceError):
        services.rules = None  # nothing attaches itself later


def test_nothing_attaches_itself_to_the_jimu_object(app, client):
    """Serving requests, running rules and jobs leaves the ``Jimu`` object as the factory built it."""
    from runtime import jobs
    jimu = app.extensions["jimu"]
    before = set(vars(jimu))
    client.get("/api/v1/rules")
    client.get("/")
    jobs.run_due(jimu)
    assert set(vars(jimu)) == before


def test_the_builder_and_the_cli_come_in_through_the_extensions_group(app):
    from importlib.metadata import entry_points
    group = {ep.name: ep.value for ep in entry_points(group="jimu.extensions")}
    assert group["builder"] == "builder:init_app" and group["cli"] == "runtime.cli:init_app"
    assert {"builder", "cli"} <= set(app.extensions["jimu.extensions"])
    assert "builder.index" in app.view_functions or any(r.rule.startswith("/builder") for r in app.url_map.iter_rules())
    assert {"import", "validate", "worker"} <= set(app.cli.commands)


def _extension_points(monkeypatch, tmp_path, *extra):
    """The installed ``jimu.extensions`` entry points plus ``extra`` ones, as if another package was installed."""
    from importlib.metadata import EntryPoint, entry_points

    import runtime.app
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
    installed = list(entry_points(group="jimu.extensions"))
    added = [EntryPoint(name, value, "jimu.extensions") for name, value in extra]
    monkeypatch.setattr(runtime.app, "entry_points",
                        lambda group: installed + added if group == "jimu.extensions" else entry_points(group=group))


def inventory_extension(app):
    """A third-party extension: one page of its own (a stock count for the inventory team)."""
    app.add_url_rule("/inventory/count", "inventory_count", lambda: "0 pallets")


def broken_extension(app):
    raise RuntimeError("the warehouse database is unreachable")


def test_a_third_party_extension_is_plugged_in_by_the_factory(monkeypatch, tmp_path):
    from runtime.app import create_app
    _extension_points(monkeypatch, tmp_path, ("inventory", f"{__name__}:inventory_extension"))
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "UPLOAD_DIR": str(tmp_path),
                      "SECRET_KEY": "test", "TESTING": True})
    assert "inventory" in app.extensions["jimu.extensions"]
    assert app.test_client().get("/inventory/count").get_data(as_text=True) == "0 pallets"
    app.extensions["jimu"].dispose()


def test_a_broken_extension_stops_the_start_with_its_name(monkeypatch, tmp_path):
    from runtime.app import ExtensionFailed, create_app
    _extension_points(monkeypatch, tmp_path, ("warehouse", f"{__name__}:broken_extension"))
    with pytest.raises(ExtensionFailed) as err:
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "UPLOAD_DIR": str(tmp_path),
                    "SECRET_KEY": "test", "TESTING": True})
    assert err.value.code == "runtime.extension_failed"
    assert "warehouse" in err.value.message and "unreachable" in err.value.message


def test_an_install_without_jimus_own_extensions_says_to_reinstall(monkeypatch, tmp_path):
    """Metadata installed before setup.cfg gained the group would silently lose the builder and the CLI."""
    import runtime.app
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setattr(runtime.app, "entry_points", lambda group: [])
    with pytest.raises(runtime.app.ExtensionFailed) as err:
        runtime.app.create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "UPLOAD_DIR": str(tmp_path),
                                "SECRET_KEY": "test", "TESTING": True})
    assert err.value.code == "runtime.stale_install" and "make venv" in err.value.message
