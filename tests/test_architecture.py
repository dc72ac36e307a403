"""The house rules of the package, read from its source with `ast`: imports go one way (sources
-> resolve -> output and runs -> the application layer -> the faces), no module takes another's
private names, there is no circle of imports, and every module is short enough to read in one
sitting. docs/ARCHITECTURE.md explains the rules; this test keeps them."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "compiler"
MAX_LINES = 450
MAX_PARTS = 8  # __main__ -> cli -> mcp -> workspace -> output -> resolve -> sources -> problems

SHARED = {"problems", "streams", "timespan", "package"}  # what every part may use
ALLOWED = {  # part -> the parts it may import, besides itself and SHARED
    "sources": set(),
    "resolve": {"sources"},
    "output": {"sources", "resolve"},
    "runs": {"sources", "resolve"},
    "importers": {"sources", "resolve"},
    "workspace": {"sources", "resolve", "output", "runs", "importers"},
    "mcp": {"workspace"},
    "cli": {"workspace", "mcp"},  # `mcp` starts the server
    "__main__": {"cli"},
    "problems": set(),
    "streams": set(),
    "timespan": set(),
    "package": set(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """compiler.sources.load -> sources; compiler.cli -> cli; compiler -> package."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "package"


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_module(node: ast.ImportFrom, path: Path) -> str | None:
    """The absolute name of what `from ... import` names: a relative import (`from ..output
    import write`) resolved against the module's package, so the rules below see it too."""
    if not node.level:
        return node.module
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    return importlib.util.resolve_name("." * node.level + (node.module or ""), package)


def imports_of(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module imported, names taken from it) of every import of the package, wherever it
    stands (at the top, in a function, under TYPE_CHECKING), relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names if alias.name.split(".")[0] == "compiler"]
        elif isinstance(node, ast.ImportFrom) and (module := imported_module(node, path)) and module.split(".")[0] == "compiler":
            names = [alias.name for alias in node.names]
            submodules = [f"{module}.{name}" for name in names if f"{module}.{name}" in MODULES]
            found += [(node.lineno, sub, []) for sub in submodules]
            found.append((node.lineno, module, [n for n in names if f"{module}.{n}" not in MODULES]))
    return found


def test_imports_are_absolute():
    """`from compiler.output import write`, never `from ..output import write`: where a module
    takes its names from reads the same in every file (the rules below resolve both)."""
    relative = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: from {'.' * node.level}{node.module or ''} import ..."
        for path in MODULES.values()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level
    ]
    assert not relative, "relative imports:\n" + "\n".join(relative)


def graph() -> dict[str, set[str]]:
    return {name: {module for _, module, _ in imports_of(path) if module != name} for name, path in MODULES.items()}


def test_imports_go_one_way():
    wrong = []
    for name, path in MODULES.items():
        part = part_of(name)
        for line, module, _ in imports_of(path):
            target = part_of(module)
            if part == "runtime":
                ok = target == "runtime"  # the runtime is inlined into files that have no compiler
            else:
                ok = target in SHARED or target == part or target in ALLOWED[part]
            if not ok:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {part} imports {module} ({target})")
    assert not wrong, "imports against the direction of the pipeline:\n" + "\n".join(wrong)


def test_no_private_name_is_taken_across_modules():
    taken = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}  # local name -> compiler module, for attribute access
        for line, module, names in imports_of(path):
            taken += [f"{path.relative_to(PACKAGE.parent)}:{line}: {module}.{n}" for n in names if n.startswith("_") and n != "__version__"]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (module := imported_module(node, path)) and module.startswith("compiler"):
                for alias in node.names:
                    if f"{module}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("compiler") and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in aliases:  # write._name
                owner = aliases[node.value.id]
            elif (dotted := ast.unparse(node.value)) in MODULES and dotted != name:  # compiler.output.write._name
                owner = dotted
            else:
                continue
            taken.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {owner}.{node.attr}")
    assert not taken, "private names taken from another module:\n" + "\n".join(taken)


def test_no_circle_of_imports():
    edges = graph()
    circles, state = [], {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = "open"
        for other in sorted(edges.get(name, ())):
            if other not in MODULES:
                continue
            if state.get(other) == "open":
                circles.append(" -> ".join(stack[stack.index(other):] + [name, other]) if other in stack else f"{name} -> {other}")
            elif other not in state:
                visit(other, stack + [name])
        state[name] = "done"

    for name in MODULES:
        if name not in state:
            visit(name, [])
    assert not circles, "circles of imports:\n" + "\n".join(circles)


def longest_chain(name: str, edges: dict[str, set[str]], memo: dict[str, list[str]]) -> list[str]:
    """The longest chain of imports from `name` (a circle is the test above's to report)."""
    if name not in memo:
        memo[name] = [name]
        below = [longest_chain(other, edges, memo) for other in sorted(edges.get(name, ())) if other in MODULES]
        memo[name] = [name] + max(below, key=len, default=[])
    return memo[name]


def test_import_chains_stay_short():
    """The pipeline's depth: the parts a chain of imports crosses, from a face down to the shared
    modules (modules of one part in a row count once)."""
    edges, memo = graph(), {}
    for name in MODULES:
        chain = longest_chain(name, edges, memo)
        parts = [part for index, part in enumerate(map(part_of, chain)) if index == 0 or part != part_of(chain[index - 1])]
        assert len(parts) <= MAX_PARTS, f"{' -> '.join(chain)} crosses {len(parts)} parts: {' -> '.join(parts)}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_short_enough_to_read(name):
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(PACKAGE.parent)} has {lines} lines; split it by concern"


def test_every_folder_says_what_it_holds_and_may_import():
    for folder in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert len(doc) > 100, f"{folder.name}/__init__.py: no docstring saying what the folder holds"
        if folder.name != "runtime":
            assert "May import" in doc, f"{folder.name}/__init__.py: its docstring does not say what it may import"


def test_no_top_level_name_is_defined_twice_in_the_runtime():
    """The runtime's parts are inlined into one module: a function one part defines under a name
    another part already uses replaces it silently (two `capped` functions did once)."""
    runtime = PACKAGE / "runtime"
    defined: dict[str, list[str]] = {}
    for path in sorted(runtime.glob("*.py")):
        if path.name in ("__init__.py", "configuration.py"):
            continue
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.setdefault(node.name, []).append(path.name)
    assert {name: files for name, files in defined.items() if len(files) > 1} == {}


def test_the_readme_names_every_part_of_the_runtime():
    from compiler.output.render import RUNTIME_PARTS

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith("| `compiler/runtime/` |")]
    named = [part for part in RUNTIME_PARTS if f"`{part}`" in row]
    assert named == list(RUNTIME_PARTS), f"README's compiler/runtime/ row misses {sorted(set(RUNTIME_PARTS) - set(named))}"
    assert row.index("`model`") < row.index("`sending`") < row.index("`users`")  # in the order they are inlined
