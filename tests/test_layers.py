"""The house's layers: no package imports a higher one, none imports another in a loop, rules stay pure."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "maildesk"

# lowest first; a unit may import its own layer's units and any lower layer's
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "config", "config_desk", "config_text", "statuses", "mail", "times", "words", "masking", "sla",
               "calendar_cn", "secret", "tokens", "store", "stopping", "logs"}),
    frozenset({"ingest", "rules", "people", "kb", "outbound"}),
    frozenset({"desk"}),
    frozenset({"sweep", "reports"}),
    frozenset({"app", "views", "heartbeat", "quarantine"}),
    frozenset({"preflight", "status", "daemon", "scheduler", "cli", "__main__"}),
)


def _unit(module: str) -> str:
    """The top-level package or module of ``maildesk.x.y``: ``x``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports() -> dict[str, set[tuple[str, str]]]:
    """unit → {(imported unit, importing file)} for every import of another maildesk unit."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        unit = _unit(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith("maildesk.") and _unit(name) != unit:
                    found[unit].add((_unit(name), str(path.relative_to(PACKAGE.parent))))
    return found


def _layer(unit: str) -> int:
    for index, layer in enumerate(LAYERS):
        if unit in layer:
            return index
    raise AssertionError(f"maildesk/{unit} is in no layer of tests/test_layers.py: give it one")


def test_every_unit_has_a_layer_and_nothing_imports_upward() -> None:
    """Each package or top-level module imports only its own layer and the ones below it."""
    upward = [f"{file} imports maildesk.{target} (layer {_layer(target)} above {_layer(unit)})"
              for unit, targets in _imports().items() for target, file in targets if _layer(target) > _layer(unit)]
    assert not upward, "\n".join(sorted(upward))


def test_no_two_units_import_each_other_in_a_loop() -> None:
    """The graph of imports between units has no cycle."""
    graph = {unit: {target for target, _ in targets} for unit, targets in _imports().items()}
    seen: set[str] = set()
    path: list[str] = []

    def visit(unit: str) -> None:
        assert unit not in path, " → ".join([*path[path.index(unit):], unit])
        if unit in seen:
            return
        path.append(unit)
        for target in sorted(graph.get(unit, ())):
            visit(target)
        path.pop()
        seen.add(unit)

    for unit in sorted(graph):
        visit(unit)


def test_rules_are_pure_and_intake_knows_no_desk() -> None:
    """The rules import neither the store nor the desk; intake ends at its result and imports no desk."""
    imports = _imports()
    rules = {target for target, _ in imports["rules"]}
    assert not rules & {"store", "desk"}, rules
    assert "desk" not in {target for target, _ in imports["ingest"]}
