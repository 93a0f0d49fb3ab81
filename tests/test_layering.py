"""The product's modules depend on each other in one direction only.

The emulation never reads the product's decoding (a test of one against the
other would prove nothing), and no two product modules import each other,
however indirectly. Imports are read from the source, so a cycle hidden in
a function body counts too; ``if TYPE_CHECKING:`` blocks, which never run,
do not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "enviro_sensor"
PRODUCT_FILES = list(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in PRODUCT_FILES}


def _runtime_nodes(tree: ast.AST, at_import: bool = False):
    """Every node but those under ``if TYPE_CHECKING:`` (and in functions, ``at_import``)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        if at_import and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(name: str, at_import: bool = False) -> set[str]:
    """The product modules ``name`` imports (a package import counts as its __init__)."""
    tree = ast.parse(MODULES[name].read_text())
    found = set()
    for node in _runtime_nodes(tree, at_import):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for target in targets:
            if target in MODULES and target != name:
                found.add(target)
    return found


def find_cycle() -> list[str] | None:
    graph = {name: imports_of(name) for name in MODULES}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for target in sorted(graph[name]):
            cycle = visit(target, [*path, name])
            if cycle:
                return cycle
        done.add(name)
        return None

    for name in sorted(graph):
        cycle = visit(name, [])
        if cycle:
            return cycle
    return None


def test_the_emulation_never_mentions_the_product():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (PACKAGE / "hardware").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "enviro_sensor.sensors" in line or re.search(r"from enviro_sensor import .*\bsensors\b", line)
    ]
    assert offenders == []


def test_the_hardware_imports_nothing_above_it():
    above = (
        "web",
        "collector",
        "outputs",
        "sensors",
        "service",
        "settings",
        "lcd",
        "nodes",
        "history",
        "cli",
    )
    for name in MODULES:
        if name.startswith("enviro_sensor.hardware"):
            assert not {t for t in imports_of(name) if t.split(".")[1] in above}, name


def imported_by(name: str) -> set[str]:
    """Every product module that importing ``name`` loads, directly or through others.

    Imports in function bodies run only when called, so they are left out here.
    """
    seen: set[str] = set()
    todo = [name]
    while todo:
        for target in imports_of(todo.pop(), at_import=True):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_settings_do_not_import_the_emulator():
    # gunicorn's master reads the settings: the emulation would be held there for nothing.
    emulation = {
        t for t in imported_by("enviro_sensor.settings") if t.startswith("enviro_sensor.hardware.virtual")
    }
    assert emulation == set()


def test_no_two_product_modules_import_each_other():
    assert find_cycle() is None, " -> ".join(find_cycle() or [])


def test_a_cycle_would_be_found(tmp_path, monkeypatch):
    # The check above can fail: a module that imports its importer is seen.
    assert "enviro_sensor.collector.polling" in imports_of("enviro_sensor.service")
    monkeypatch.setitem(MODULES, "collector_loop", tmp_path / "collector_loop.py")
    (tmp_path / "collector_loop.py").write_text("import enviro_sensor.service\n")
    monkeypatch.setitem(MODULES, "enviro_sensor.service", tmp_path / "service_loop.py")
    (tmp_path / "service_loop.py").write_text("import collector_loop\n")
    assert set(find_cycle() or []) == {"collector_loop", "enviro_sensor.service"}


# What each package may import of the product (docs/architecture.md, "The package").
# The package's own small modules everyone may use: no product imports of their own.
BASE = {"clocks", "records", "version", "durable_file"}
MAY_IMPORT = {
    "durable_file": set(),
    "clocks": set(),
    "records": set(),
    "version": set(),
    "config": set(),
    "hardware": {"config", "clocks"},
    "metrics": set(),
    "history": set(),
    "sensors": {"config"},
    "collector": {"sensors", "metrics", "records", "clocks"},
    "nodes": {"config", "sensors", "hardware", "records", "clocks"},
    "outputs": {"config", "sensors", "nodes", "history", "records", "clocks", "version"},
    "lcd": {"config", "outputs", "sensors", "records", "clocks", "version"},
}
COMPOSITION = {"settings", "service", "web", "cli"}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "enviro_sensor"


def test_each_package_imports_only_what_the_map_allows():
    found: dict[str, set[str]] = {}
    for name in MODULES:
        for target in imports_of(name):
            here, there = package_of(name), package_of(target)
            if here != there and there != "enviro_sensor":
                found.setdefault(here, set()).add(there)
    for package, allowed in MAY_IMPORT.items():
        extra = found.get(package, set()) - allowed - (BASE if package not in BASE else set())
        assert extra == set(), (package, extra)
    # Everything is one of the map's packages.
    assert set(found) <= set(MAY_IMPORT) | COMPOSITION


def test_no_two_packages_import_each_other():
    found: dict[str, set[str]] = {}
    for name in MODULES:
        for target in imports_of(name):
            here, there = package_of(name), package_of(target)
            if here != there:
                found.setdefault(here, set()).add(there)
    pairs = {
        tuple(sorted((a, b))) for a, targets in found.items() for b in targets if a in found.get(b, set())
    }
    assert pairs == set()
