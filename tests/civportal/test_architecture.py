"""Issue 15, acceptance 1–3: the architecture contracts (.importlinter) hold,
no module of an app imports itself through a circle, and both checks can fail
(a deliberately broken package in tests/fixtures/archfixture)."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def root_packages() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return config["importlinter"]["root_packages"].split()


def find_cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """One shortest circle per strongly connected group of ``package``'s modules
    (imports inside functions count: a late import is still an import)."""
    modules = {m for m in graph.modules if m == package or m.startswith(package + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(start: str) -> None:  # iterative Tarjan: no recursion limit on large apps
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start) & modules)))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt) & modules))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(group)

    for module in sorted(modules):
        if module not in index:
            visit(module)
    cycles = []
    for group in groups:
        first = min(group)
        best = None
        for nxt in sorted(graph.find_modules_directly_imported_by(first) & group):
            chain = graph.find_shortest_chain(importer=nxt, imported=first)
            if chain and (best is None or len(chain) < len(best)):
                best = chain
        cycles.append([first, *best])
    return sorted(cycles)


def describe(cycles: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in cycles)


def lint_imports(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_the_contracts_hold():
    result = lint_imports(cwd=ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_no_app_imports_itself_through_a_circle():
    graph = grimp.build_graph(*root_packages(), cache_dir=None)
    cycles = [cycle for package in root_packages() for cycle in find_cycles(graph, package)]
    assert cycles == [], "import circles:\n" + describe(cycles)


def test_the_contracts_can_fail():
    result = lint_imports("--config", "archfixture.importlinter", cwd=FIXTURES)
    assert result.returncode == 1, result.stdout
    assert "Contracts: 0 kept, 2 broken." in result.stdout
    assert "archfixture.low is not allowed to import archfixture.high" in result.stdout
    assert "archfixture.low.services -> archfixture.high.views" in result.stdout


def test_the_cycle_check_names_the_circle():
    sys.path.insert(0, str(FIXTURES))
    try:
        graph = grimp.build_graph("archfixture", cache_dir=None)
    finally:
        sys.path.remove(str(FIXTURES))
    cycles = find_cycles(graph, "archfixture")
    assert describe(cycles) == "archfixture.low.models -> archfixture.low.scope -> archfixture.low.models"
