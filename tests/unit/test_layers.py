"""The shape of the code a newcomer relies on: shared/ has no import cycle, and the entry points stay thin.

The layers themselves (which package may import which, boto3 only in the adapters) are import-linter's contracts
in pyproject.toml, run by `make lint`."""

from __future__ import annotations

from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
MAX_HANDLER_LINES = 120


def _cycle(graph: grimp.ImportGraph, modules: set[str]) -> list[str] | None:
    """One import cycle among `modules`, if there is any (depth-first search over direct imports)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module) & modules):
            if state.get(imported) == 1:
                return [*path[path.index(imported) :], imported]
            if imported not in state and (found := visit(imported)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(modules):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_shared_has_no_import_cycle():
    graph = grimp.build_graph("shared", cache_dir=None)
    modules = {m for m in graph.modules if not m.endswith("__init__")}
    assert _cycle(graph, modules) is None


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("a", "a.one", "a.two", "a.three"):
        graph.add_module(name)
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.three")
    graph.add_import(importer="a.three", imported="a.one")
    assert _cycle(graph, {"a.one", "a.two", "a.three"}) == ["a.one", "a.two", "a.three", "a.one"]


def test_every_function_handler_is_thin():
    sizes = {path.parent.name: len(path.read_text().splitlines()) for path in ROOT.glob("functions/*/handler.py")}
    assert len(sizes) == 8  # intake, scheduling, connections, console, feedback, reminders, reports, event_relay
    assert {name: lines for name, lines in sizes.items() if lines >= MAX_HANDLER_LINES} == {}
