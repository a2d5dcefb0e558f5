"""The heuristics import at module level, one way (no cycles), and only public names."""

import ast
from pathlib import Path

import snnmap.heuristics

PACKAGE = "snnmap.heuristics"
MODULES = {p.stem: ast.parse(p.read_text()) for p in Path(snnmap.heuristics.__file__).parent.glob("*.py")}


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    return [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


def test_every_import_is_at_module_level():
    nested = [f"{name}.py:{node.lineno}" for name, tree in MODULES.items() for node in _imports(tree)
              if node not in tree.body]
    assert not nested, f"imports inside functions (move them to the top): {nested}"


def test_no_underscore_names_from_other_modules():
    private = [f"{name}.py:{node.lineno} {node.module}.{alias.name}" for name, tree in MODULES.items()
               for node in _imports(tree) if isinstance(node, ast.ImportFrom)
               for alias in node.names if alias.name.startswith("_") and alias.name != "__future__"]
    assert not private, f"imports of another module's private names: {private}"


def test_heuristics_modules_import_each_other_without_cycles():
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, tree in MODULES.items():
        for node in _imports(tree):
            if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:  # from snnmap.heuristics import greedy
                graph[name] |= {alias.name for alias in node.names if alias.name in MODULES}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE + "."):
                graph[name].add(node.module.split(".")[2])
    assert "partition" in graph["sequential"]  # the graph is seen (sequential <-> partition was a cycle)
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join(path[path.index(name):] + (name,))}"
        if name not in done:
            for dep in graph[name]:
                visit(dep, path + (name,))
            done.add(name)

    for name in sorted(graph):
        visit(name, ())
