"""No import cycle crosses domains, module by module: a domain may call another's service, and that
one may call back into a module of the first (its purchase history, say) only if that module does not
lead back. The ledger's own contract (it imports no domain) is import-linter's, in pyproject.toml."""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan), larger than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            module, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[module] = min(low[module], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module.startswith("wafa.") and module not in index:
            visit(module)
    return groups


def _domain(module: str) -> str:
    return module.split(".")[1]


def test_no_import_cycle_crosses_domains() -> None:
    graph = grimp.build_graph("wafa")
    crossing = [group for group in _cycles(graph) if len({_domain(m) for m in group}) > 1]
    assert crossing == [], "import cycles across domains: " + "; ".join(" <-> ".join(group) for group in crossing)
