"""The library's layering (docs/architecture.md): sub-packages import only lower layers, never in
a circle, always absolutely, and every sub-package is tracked by some rule."""

import ast
from pathlib import Path

import pytest

from fmes.workflow.provenance import imported_modules, library_files

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
LAYERS = ["core", "workflow", "data", "device", "analysis", "networks", "claims"]
# library modules no rule script imports, and why an edit to them need not rerun a rule
NOT_IN_RULES = {
    "fmes/workflow/provenance.py": "job-graph time: the Snakefile computes the tracking with it",
    "fmes/data/build_manifest.py": "the `fmes build-manifest` command only (fmes.cli)",
}


def _modules() -> dict[str, Path]:
    return {
        ".".join(f.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__"): f
        for f in (SRC / "fmes").rglob("*.py")
    }


def _import_nodes(path: Path) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement anywhere in ``path`` (also inside functions)."""
    return [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "fmes" and parts[1] in LAYERS else None


def _module_graph() -> dict[str, set[str]]:
    # the imports rerun tracking follows (fmes.workflow.provenance), so the picture checked here
    # is the one Snakemake sees
    modules = _modules()
    return {
        name: {t for t in imported_modules(path) if t in modules and t != name}
        for name, path in modules.items()
    }


def test_every_module_sits_in_a_subpackage():
    loose = [m for m in _modules() if _layer(m) is None and m not in {"fmes", "fmes.cli"}]
    assert not loose, f"modules outside the sub-packages of docs/architecture.md: {loose}"


def test_no_upward_import_between_subpackages():
    upward = []
    for name, targets in _module_graph().items():
        me = _layer(name)
        for target in targets:
            other = _layer(target)
            if me and other and LAYERS.index(other) > LAYERS.index(me):
                upward.append(f"{name} -> {target}")
    assert not upward, upward


def test_the_network_half_and_the_device_analysis_half_do_not_import_each_other():
    crossing = [
        f"{name} -> {target}"
        for name, targets in _module_graph().items()
        for target in targets
        if {_layer(name), _layer(target)} in ({"networks", "analysis"},)
        or (_layer(name) in {"device", "analysis"} and _layer(target) == "networks")
    ]
    assert not crossing, crossing


def test_no_import_circle_between_modules():
    graph = _module_graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif not state.get(nxt):
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(_modules()):
        if not state.get(node):
            visit(node, [node])
    assert not cycles, cycles


def test_imports_are_absolute_and_package_inits_import_nothing():
    relative = [
        f"{p.relative_to(SRC)}:{n.lineno}"
        for p in _modules().values()
        for n in _import_nodes(p)
        if isinstance(n, ast.ImportFrom) and n.level
    ]
    assert not relative, f"relative imports hide dependencies from rerun tracking: {relative}"
    busy = [
        str(p.relative_to(SRC)) for p in (SRC / "fmes").rglob("__init__.py") if _import_nodes(p)
    ]
    assert not busy, f"package __init__ files must import nothing: {busy}"


@pytest.mark.parametrize("package", LAYERS)
def test_an_edit_in_each_subpackage_reaches_some_rule(package):
    scripts = sorted((ROOT / "workflow" / "scripts").glob("*.py"))
    tracked = {p for s in scripts for p in library_files(s, SRC)}
    assert any(f"/fmes/{package}/" in p for p in tracked)
    # and every library module is an input of at least one rule (cli.py is the command line)
    untracked = [
        str(p.relative_to(SRC))
        for p in (SRC / "fmes" / package).glob("*.py")
        if str(p) not in tracked and str(p.relative_to(SRC)) not in NOT_IN_RULES
    ]
    assert not untracked, f"modules no rule script imports (edits would rerun nothing): {untracked}"
